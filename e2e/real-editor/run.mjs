#!/usr/bin/env node
// Real-editor end-to-end test: our extension inside code-server, driven by headless chromium.
//
//   node e2e/real-editor/run.mjs --fixture              harness self-test (fixture/ extension)
//   node e2e/real-editor/run.mjs --vsix path/to/x.vsix  the Alibaba Cloud extension + emulator
//
// Options: --python PATH (default <repo>/.venv/bin/python: runs the emulator; the extension finds its
// own Python on PATH), --artifacts DIR (default
// e2e/real-editor/artifacts/<time>), --keep (keep the temp dirs), --no-trust (turn workspace trust
// off instead of running in Restricted Mode), --emulator (with --fixture: the repo's OAuth emulator
// answers the authorize request instead of a stand-in), --no-trace (with --vsix: no JSON-RPC trace
// and sidecar debug log in the "Alibaba Cloud" output; by default they are on, so the Show Output
// step checks the redaction of a full log).
// Ends with a plain line "N passed, M failed[, K skipped]"; exit code 0 only when nothing failed.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import * as H from './harness.mjs';

const { values: opt } = parseArgs({
  options: {
    fixture: { type: 'boolean', default: false },
    emulator: { type: 'boolean', default: false },
    vsix: { type: 'string' },
    python: { type: 'string', default: path.join(H.REPO, '.venv', 'bin', 'python') },
    artifacts: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'no-trust': { type: 'boolean', default: false },
    'no-trace': { type: 'boolean', default: false },
    'bad-python-path': { type: 'boolean', default: false },
  },
});

if (!opt.fixture && !opt.vsix) {
  console.error('usage: node run.mjs --fixture [--emulator] | --vsix PATH [--bad-python-path] [--python PATH] [--artifacts DIR] [--keep] [--no-trust] [--no-trace]');
  process.exit(2);
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const artifacts = path.resolve(opt.artifacts || path.join(H.HERE, 'artifacts', stamp));

// ---------------------------------------------------------------- scenarios
//
// A scenario returns { settings, vsix, steps(ctx) }; ctx has page(), context, recorder, etc.

// Status bar item ids are `<publisher>.<extension name>.<id given to createStatusBarItem>`.
const FIXTURE_ITEM = 'aliyun-sidecar-e2e.e2e-fixture.e2eFixture.status';

async function fixtureScenario(dirs0) {
  // The openExternal'd page goes to an authorize endpoint that 302s to a loopback callback, like the
  // real sign-in. The endpoint is a recorder here (or, with --emulator, the repo's OAuth emulator);
  // the callback is a second recorder standing in for the sidecar's callback listener.
  const callback = await H.startRecorder();
  let recorder = null;
  let authorizeBase;
  let clientId = 'e2e-fixture';
  if (opt.emulator) {
    const emulator = await startRepoEmulator(dirs0);
    authorizeBase = emulator.url;
    clientId = '4038181954557748008'; // the CN client the emulator knows (public, not a secret)
  } else {
    recorder = await H.startRecorder();
    authorizeBase = recorder.url;
  }
  const token = Math.random().toString(36).slice(2);
  // Shaped like the real authorize URL: an encoded loopback redirect_uri, a state, a PKCE challenge.
  const authorize = new URL(`${authorizeBase}/oauth2/v1/auth`);
  authorize.searchParams.set('client_id', clientId);
  authorize.searchParams.set('response_type', 'code');
  authorize.searchParams.set('redirect_uri', `${callback.url}/cli/callback`);
  authorize.searchParams.set('state', token);
  authorize.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  authorize.searchParams.set('code_challenge_method', 'S256');
  const vsix = H.packageVsix(path.join(H.HERE, 'fixture'), path.join(dirs0, 'e2e-fixture.vsix'));
  const pageUrls = (ctx) => ctx.context.pages().map((p) => p.url());
  return {
    vsix,
    settings: { 'e2eFixture.url': authorize.href },
    steps: (ctx) => [
      {
        name: `fixture status bar item appears (extension activated${opt['no-trust'] ? '' : ' in Restricted Mode'})`,
        run: async () => {
          await H.waitForStatus(ctx.page(), /fixture-ready/, 45_000, FIXTURE_ITEM);
          if (!opt['no-trust']) await H.expectRestrictedMode(ctx.page());
        },
      },
      {
        name: 'palette runs "E2E Fixture: Hello"',
        run: () => H.runCommand(ctx.page(), 'E2E Fixture: Hello'),
      },
      {
        name: 'status bar shows fixture-ok',
        run: () => H.waitForStatus(ctx.page(), /fixture-ok/, 15_000, FIXTURE_ITEM),
      },
      {
        name: 'openExternal opens a browser page (no prompt, or "Open" clicked)',
        run: async () => {
          const ok = await waitWithDialogs(ctx, async () => {
            if (recorder) return recorder.hits.some((h) => h.url.includes(token));
            return ctx.popups.length > 0 || callback.hits.length > 0;
          }, 20_000);
          if (!ok) throw new Error(`nothing was opened; pages: ${JSON.stringify(pageUrls(ctx))}; recorder: ${JSON.stringify(recorder && recorder.hits.map((h) => h.url))}`);
          if (recorder) {
            const hit = recorder.hits.find((h) => h.url.includes(token));
            H.log(`authorize request seen: ${hit.url} (user-agent ${JSON.stringify(hit.headers['user-agent'] || '')})`);
          }
          H.log(`popups: ${JSON.stringify(ctx.popups.map(redact))}; dialogs: ${JSON.stringify(ctx.dialogs)}`);
          H.log(`status after openExternal: ${await H.waitForStatus(ctx.page(), /opened=true/, 10_000, FIXTURE_ITEM)}`);
        },
      },
      {
        name: `the ${opt.emulator ? "emulator's" : "authorize"} 302 lands on the loopback callback`,
        run: async () => {
          const hit = await callback.waitFor((h) => h.url.startsWith('/cli/callback?') && h.url.includes(`state=${token}`), 15_000);
          if (!hit) throw new Error(`the callback server saw nothing; hits: ${JSON.stringify(callback.hits.map((h) => h.url))}; pages: ${JSON.stringify(pageUrls(ctx))}`);
          if (!/[?&]code=[^&]+/.test(hit.url)) throw new Error(`callback without a code: ${redact(hit.url)}`);
          const landed = pageUrls(ctx).find((u) => u.startsWith(`${callback.url}/cli/callback`));
          if (!landed) throw new Error(`no browser page is on ${callback.url}; pages: ${JSON.stringify(pageUrls(ctx))}`);
          H.log(`popup landed on ${redact(landed)}`);
        },
      },
    ],
  };
}

/** Poll `done()` until true, clicking "Open" on a link-protection dialog if code-server shows one. */
async function waitWithDialogs(ctx, done, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const d = await H.handleDialog(ctx.page(), /^open$/i);
    if (d) ctx.dialogs.push(d);
    if (await done()) return true;
    await H.sleep(250);
  }
  return false;
}

async function startRepoEmulator(dirs0) {
  if (!fs.existsSync(opt.python)) throw new Error(`python not found: ${opt.python} (pass --python)`);
  const emulator = await H.startEmulator({ python: opt.python, logFile: path.join(dirs0, 'emulator.log') });
  H.onCleanup(() => H.killGroup(emulator.pgid));
  H.log(`emulator at ${emulator.url}`);
  return emulator;
}

// The Alibaba Cloud extension against the sidecar's OAuth emulator. Written against the extension's
// contract (command titles, status bar, settings); the prompts' wording is matched loosely.
const EXT = {
  statusItem: 'aliyun-sidecar.aliyun-sidecar.aliyun.status',
  // Every command of vscode-extension/package.json, by its palette title ("Category: Title").
  signIn: 'Alibaba Cloud: Sign In',
  switchProfile: 'Alibaba Cloud: Switch Profile',
  deleteProfile: 'Alibaba Cloud: Delete Profile…',
  refresh: 'Alibaba Cloud: Refresh Credentials',
  whoAmI: 'Alibaba Cloud: Who Am I',
  copyUrl: 'Alibaba Cloud: Copy Sign-in URL',
  pasteUrl: 'Alibaba Cloud: Paste Redirect URL…',
  showOutput: 'Alibaba Cloud: Show Output',
  restart: 'Alibaba Cloud: Restart Sidecar',
  // The config file starts with `current: seeded`: the status bar shows it once the sidecar is up
  // (while it starts, the item says "Alibaba Cloud" with a spinner).
  statusReady: /\bseeded\b/,
  // A toast like this means the sidecar did not start: fail at once instead of after 60 s.
  fatalNotification: /helper is not running|cannot import|not found/i,
  // answerPrompts takes the FIRST entry whose `ask` matches the prompt's title/placeholder/message,
  // so the generic /profile/ comes last.
  signInAnswers: (profile) => [
    { ask: /\bsite\b/i, pick: /\bCN\b|China/i },
    { ask: /\bregion\b/i, value: 'cn-hangzhou', pick: /cn-hangzhou/ },
    { ask: /\blanguage\b/i, pick: /\ben\b|English/i },
    { ask: /\bprofile\b/i, value: profile },
  ],
  switchAnswers: [{ ask: /profile/i, pick: /\bseeded\b/ }],
  // Who the emulator signs in as: first a RAM user, then (for "e2e-role") a role in another account.
  user: { kind: 'user', name: 'e2e-dev', account_id: '1000200030004000' },
  role: { kind: 'role', name: 'e2e-admin-role', account_id: '5000600070008000' },
};

/** A profile name in a status text or picker row, not a prefix of a longer name ("e2e" ≠ "e2e-role"). */
function nameRe(name) {
  return new RegExp(`(?:^|[\\s)"])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![-\\w])`);
}

/** Values of the config file that must never be shown: the tokens and STS secrets of every profile. */
const SECRET_FIELDS = ['access_key_secret', 'sts_token', 'oauth_access_token', 'oauth_refresh_token'];

/** A debuggee: fetches the credentials endpoint named by its environment, writes what it got (no secret). */
const DEBUG_PROBE = `const http = require('http');
const fs = require('fs');
const out = process.argv[2];
const uri = process.env.ALIBABA_CLOUD_CREDENTIALS_URI;
if (!uri) {
  fs.writeFileSync(out, JSON.stringify({ error: 'no ALIBABA_CLOUD_CREDENTIALS_URI in the environment' }));
} else {
  http.get(uri, (res) => {
    let body = '';
    res.on('data', (c) => (body += c));
    res.on('end', () => {
      let j = {};
      try { j = JSON.parse(body); } catch {}
      fs.writeFileSync(out, JSON.stringify({ status: res.statusCode, AccessKeyId: j.AccessKeyId, hasSecret: Boolean(j.AccessKeySecret) }));
    });
  }).on('error', (e) => fs.writeFileSync(out, JSON.stringify({ error: e.message })));
}
`;

async function extensionScenario(dirs0) {
  const vsix = path.resolve(opt.vsix);
  if (!fs.existsSync(vsix)) throw new Error(`vsix not found: ${vsix}`);
  const emulator = await startRepoEmulator(dirs0);
  await H.emulatorControl(emulator.url, 'POST', 'config', { identity: EXT.user });
  // As a new user: no aliyun.sidecar.pythonPath, and the python3 on code-server's PATH is a plain
  // Python with nothing installed. The extension must run the sidecar from the VSIX's own copy.
  const bare = H.barePythonDir(dirs0, opt.python);
  H.log(`python3 on PATH: ${bare.python} (${bare.version}; cannot import httpx)`);
  const callbackPorts = await H.freePortRange(3);
  // A pre-seeded profile to switch to (fake AK values, not credentials of anything).
  const configPath = path.join(dirs0, 'aliyun', 'config.json');
  fs.mkdirSync(path.dirname(configPath), { recursive: true });
  fs.writeFileSync(
    configPath,
    JSON.stringify(
      {
        current: 'seeded',
        profiles: [
          {
            name: 'seeded',
            mode: 'AK',
            access_key_id: 'e2e-fake-id',
            access_key_secret: 'e2e-fake-secret',
            region_id: 'cn-shanghai',
            output_format: 'json',
            language: 'en',
          },
        ],
        meta_path: '',
      },
      null,
      2,
    ),
  );

  // Every secret value the config file ever held (old STS credentials too), and the authorization
  // code of the paste-back sign-in: none may appear in the output panel.
  const secrets = new Set();
  const readConfig = () => {
    const doc = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    for (const p of doc.profiles || []) for (const f of SECRET_FIELDS) if (typeof p[f] === 'string' && p[f].length >= 8) secrets.add(p[f]);
    return doc;
  };
  const profileOf = (doc, name) => (doc.profiles || []).find((p) => p.name === name);
  /** Poll the config file until `check(doc)` returns a truthy value; throws with `describe(doc)`. */
  const waitConfig = async (check, describe, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    let doc;
    while (Date.now() < deadline) {
      doc = readConfig();
      const ok = check(doc);
      if (ok) return ok;
      await H.sleep(200);
    }
    throw new Error(`config file not as expected: ${JSON.stringify(describe(doc))}`);
  };
  const summary = (doc) => ({
    current: doc.current,
    profiles: (doc.profiles || []).map((p) => ({ name: p.name, mode: p.mode, region_id: p.region_id, hasRefreshToken: Boolean(p.oauth_refresh_token) })),
  });

  const popupUrls = [];
  const st = {}; // what one step leaves for a later one

  // The opened folder is hostile (a cloned repository): its .vscode/settings.json points the
  // endpoints at a recorder, the Python at its own script and the config file into itself, and it
  // holds a `sidecar/` package, `argparse.py` and `json.py`. Each of its programs leaves a marker.
  const recorder = await H.startRecorder();
  const markers = path.join(dirs0, 'markers');
  fs.mkdirSync(markers, { recursive: true });
  const marker = (name) => `open(${JSON.stringify(path.join(markers, name))}, 'w').close()\n`;
  const hostileFolder = (workspace) => ({
    '.vscode/settings.json': JSON.stringify(
      {
        'aliyun.endpoints.signinBase': `${recorder.url}/signin`,
        'aliyun.endpoints.oauthBase': `${recorder.url}/oauth`,
        'aliyun.endpoints.stsEndpoint': `${recorder.url}/sts`,
        'aliyun.sidecar.pythonPath': path.join(workspace, 'evil-python'),
        'aliyun.configPath': path.join(workspace, 'tokens.json'),
      },
      null,
      2,
    ),
    'evil-python': `#!/bin/sh\ntouch ${JSON.stringify(path.join(markers, 'python'))}\nexec ${JSON.stringify(bare.python)} "$@"\n`,
    'sidecar/__init__.py': marker('sidecar'),
    'sidecar/__main__.py': marker('sidecar-main'),
    'argparse.py': marker('argparse'),
    'json.py': marker('json'),
  });
  const folderChoseNothing = (ctx) => {
    const problems = [];
    if (recorder.hits.length) problems.push(`${recorder.hits.length} request(s) went to the folder's endpoints: ${recorder.hits.map((h) => `${h.method} ${h.url.split('?')[0]}`).join(', ')}`);
    const ran = fs.readdirSync(markers);
    if (ran.length) problems.push(`the folder's code ran: ${ran.join(', ')}`);
    if (fs.existsSync(path.join(ctx.dirs.workspace, 'tokens.json'))) problems.push("tokens were written into the folder's tokens.json");
    if (problems.length) throw new Error(problems.join('; '));
  };

  return {
    vsix,
    configPath,
    workspaceFiles: hostileFolder,
    executables: ['evil-python'],
    codeServerArgs: opt['no-trace'] ? [] : ['--log', 'trace'],
    pathPrepend: bare.bin,
    settings: {
      'aliyun.configPath': configPath,
      'aliyun.endpoints.signinBase': emulator.url,
      'aliyun.endpoints.oauthBase': emulator.url,
      'aliyun.endpoints.stsEndpoint': emulator.url,
      // AI agents: RamOAuth, OpenAPI Explorer and the safety policy on the emulator too.
      'aliyun.endpoints.ramoauthEndpoint': emulator.url,
      'aliyun.endpoints.openapiMcpEndpoint': emulator.url,
      'aliyun.endpoints.safePolicyEndpoint': emulator.url,
      // VS Code's MCP commands live with its chat features; code-server ships no chat extension.
      'chat.disableAIFeatures': false,
      // VS Code may start a new or changed MCP server by itself ("newAndOutdated"); with the seeded
      // profile's fake AK values that start fails and VS Code puts its log in the panel, focus and
      // all. The steps start the server themselves, when they mean to.
      'chat.mcp.autostart': 'never',
      'aliyun.callbackPorts': callbackPorts,
      // The JSON-RPC trace (every params/result) and the sidecar's debug log go to the "Alibaba
      // Cloud" output, so the Show Output step checks the redaction of a full log. The channel's
      // trace level needs VS Code's log level at trace (code-server --log trace).
      ...(opt['no-trace'] ? {} : { 'aliyun.trace.server': 'verbose', 'aliyun.sidecar.logLevel': 'debug' }),
    },
    steps: (ctx) => {
      const page = () => ctx.page();
      /** Sign In from the palette, answering the four prompts for `profile`. */
      const signInPrompts = async (profile) => {
        await H.runCommand(page(), EXT.signIn);
        const asked = await H.answerPrompts(page(), EXT.signInAnswers(profile));
        H.log(`prompts: ${JSON.stringify(asked.map((a) => a.split(' | ')[0]))}`);
      };
      const waitStatus = (name, timeoutMs = 30_000) => H.waitForStatus(page(), nameRe(name), timeoutMs, EXT.statusItem);

      /** A screenshot of this moment, kept (not only on failure): artifacts/screenshots/<name>.png. */
      const shot = async (name, on = page()) => {
        const dir = path.join(artifacts, 'screenshots');
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, `${name}.png`);
        await H.sleep(700); // toasts slide in and fade out
        await on.screenshot({ path: file }).catch((e) => H.log(`(no screenshot ${name}: ${e.message})`));
        H.log(`screenshot: ${file}`);
        return file;
      };
      /** Every notification the user can find: the toasts and the notification center's list. */
      const allNotifications = async () => {
        const toasts = await H.notificationTexts(page());
        await H.runCommand(page(), 'Notifications: Show Notifications');
        await H.sleep(400);
        const center = await page()
          .$$eval('.notifications-center .notification-list-item-message', (els) => els.map((e) => (e.innerText || e.textContent || '').trim()))
          .catch(() => []);
        await page().keyboard.press('Escape'); // hides the center
        await page().waitForSelector('.notifications-center', { state: 'hidden', timeout: 3_000 }).catch(() => {});
        return [...new Set([...toasts, ...center])];
      };
      /** The sign-in's own notification (the progress one) is gone, and no status text is a stale step. */
      const expectSignInClosed = async (profile) => {
        const signingIn = new RegExp(`signing in "${profile}"`);
        const deadline = Date.now() + 10_000;
        let all = [];
        while (Date.now() < deadline) {
          all = await allNotifications();
          if (!all.some((t) => signingIn.test(t))) break;
          await H.sleep(300);
        }
        if (all.some((t) => signingIn.test(t))) throw new Error(`the sign-in notification of "${profile}" is still there: ${JSON.stringify(all)}`);
        const stale = (await H.statusItems(page())).filter((it) => /finishing the sign-in|waiting for the browser|signing in/i.test(it.text));
        if (stale.length) throw new Error(`stale status text after the sign-in of "${profile}": ${JSON.stringify(stale)}`);
        return all;
      };
      /** The sign-in's progress toast has gone (VS Code keeps a progress on screen a moment after its end). */
      const toastGone = async (profile, timeoutMs = 5_000) => {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline && (await H.notificationTexts(page())).some((t) => t.includes(`signing in "${profile}"`))) await H.sleep(150);
      };
      /** Lines of the "Alibaba Cloud" output channel, from its log file(s) on disk (the whole log). */
      const outputLines = () =>
        H.findFiles(ctx.dirs.root, /Alibaba Cloud\.log$/).flatMap((f) => fs.readFileSync(f, 'utf8').split('\n'));
      /** Exactly one output line matches `re` (its level included, e.g. /\[warning\] Sign-in of "x" failed: …/). */
      const expectOneLogLine = async (re, timeoutMs = 10_000) => {
        const deadline = Date.now() + timeoutMs;
        let hits = [];
        while (Date.now() < deadline) {
          hits = outputLines().filter((l) => re.test(l));
          if (hits.length) break;
          await H.sleep(250);
        }
        await H.sleep(600); // a second line would be written by now
        hits = outputLines().filter((l) => re.test(l));
        if (hits.length !== 1) {
          const tail = outputLines().filter((l) => /\[(warning|error|info)\]/.test(l) && !/\[Trace|"jsonrpc"|Sending|Received/.test(l)).slice(-15);
          throw new Error(`expected one output line matching ${re}, found ${hits.length}; last lines: ${JSON.stringify(tail)}`);
        }
        H.log(`output line: ${hits[0].replace(/^\S+ \S+ /, '')}`);
        return hits[0];
      };
      /** The sign-in's progress toast (the one surface while waiting); returns its text. */
      const waitingToast = async (profile, re = /finish in your browser|cannot load/) => {
        const text = await H.waitForNotification(page(), new RegExp(`signing in "${profile}".*`), 15_000);
        const deadline = Date.now() + 15_000;
        let now = text;
        while (Date.now() < deadline && !re.test(now)) {
          now = (await H.notificationTexts(page())).find((t) => t.includes(`signing in "${profile}"`)) || '';
          await H.sleep(200);
        }
        if (!re.test(now)) throw new Error(`the sign-in notification never said ${re}: ${JSON.stringify(now)}`);
        return now;
      };
      /** The modal dialog that must open now (read, not answered); `what` names it in the error. */
      const waitDialog = async (what, timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          const d = await H.handleDialog(page(), null);
          if (d) return d;
          await H.sleep(150);
        }
        throw new Error(`no ${what} dialog`);
      };
      /** A link in the sign-in notification, clicked as a user would. */
      const clickToastLink = async (label) => {
        const a = page().locator('.notifications-toasts .notification-list-item-message a', { hasText: label }).first();
        await a.click({ timeout: 5_000 });
      };
      /** The browser's sign-in page of the waiting sign-in, opened by the extension (not followed). */
      const waitPopup = async (seen) => {
        const deadline = Date.now() + 20_000;
        let popup;
        while (Date.now() < deadline && !popup) {
          const d = await H.handleDialog(page(), /^open$/i);
          if (d) ctx.dialogs.push(d);
          popup = ctx.context.pages().slice(seen).find((p) => /\/oauth2\/v1\/auth\?/.test(p.url()));
          if (!popup) await H.sleep(200);
        }
        if (!popup) throw new Error(`no sign-in page opened; pages: ${JSON.stringify(ctx.context.pages().map((p) => redact(p.url())))}`);
        await popup.waitForLoadState('domcontentloaded').catch(() => {});
        return popup;
      };
      /** The emulator's own address of a page code-server opened under its port proxy (/proxy/<port>/…). */
      const unproxied = (url) => {
        const p = new URL(url);
        const m = /^\/proxy\/(\d+)(\/.*)$/.exec(p.pathname);
        return m ? `http://127.0.0.1:${m[1]}${m[2]}${p.search}` : url;
      };
      /** The user on the emulator's page: open it directly (its form posts to the emulator) and press a button. */
      const pressOnPage = async (popup, button) => {
        await popup.goto(unproxied(popup.url()), { waitUntil: 'domcontentloaded' });
        await popup.bringToFront();
        await shot(`browser-page-${button}`, popup);
        await popup.click(`#${button}`, { timeout: 5_000 });
        await popup.waitForURL(/\/cli\/callback\?/, { timeout: 10_000 }).catch(() => {});
        await page().bringToFront();
      };
      /**
       * A sign-in of `profile` left waiting on its browser page (the emulator's auto-approve off, with
       * `emulatorConfig` on top; older notifications cleared): returns that page.
       */
      const startWaitingSignIn = async (profile, emulatorConfig = {}) => {
        await H.emulatorControl(emulator.url, 'POST', 'config', { auto_approve: false, ...emulatorConfig });
        await H.runCommand(page(), 'Notifications: Clear All Notifications');
        const seen = ctx.context.pages().length;
        await signInPrompts(profile);
        const popup = await waitPopup(seen);
        await page().bringToFront();
        await waitingToast(profile);
        return popup;
      };
      /**
       * How every ending of a sign-in must look: its notification gone (the moment kept as screenshot
       * `shotName`), nothing stale anywhere, exactly one output line matching `logLine`. Returns every
       * notification the user can find.
       */
      const expectEnded = async (profile, shotName, logLine) => {
        await toastGone(profile);
        await shot(shotName);
        const all = await expectSignInClosed(profile);
        await expectOneLogLine(logLine);
        return all;
      };
      return [
        {
          name: `status bar item shows the current profile (extension activated${opt['no-trust'] ? '' : ' in Restricted Mode'}, sidecar up)`,
          run: async () => {
            await H.waitForStatus(page(), EXT.statusReady, 60_000, EXT.statusItem, {
              failOnNotification: EXT.fatalNotification,
            });
            if (!opt['no-trust']) await H.expectRestrictedMode(page());
          },
        },
        {
          name: "the sidecar is the VSIX's bundled copy run by PATH's plain python3; the aliyun-sidecar launcher works",
          run: async () => {
            const [pid] = H.sidecarPids(ctx.cs.pgid);
            if (!pid) throw new Error('no sidecar process in code-server\'s process group');
            const exe = fs.realpathSync(`/proc/${pid}/exe`);
            if (exe !== fs.realpathSync(bare.python)) throw new Error(`the sidecar runs ${exe}, not PATH's python3 (${bare.python})`);
            // Isolated (-I: no cwd, no PYTHONPATH), the bundle put on sys.path by the last argument.
            const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
            const libs = argv[argv.length - 1];
            if (!argv.includes('-I')) throw new Error(`the sidecar does not run isolated: ${JSON.stringify(argv.slice(1, 4))}`);
            if (!libs.startsWith(ctx.dirs.extensions) || !libs.endsWith(path.join('bundled', 'libs'))) {
              throw new Error(`the sidecar's code folder is not the extension's bundled/libs: ${libs}`);
            }
            // Written right after the sidecar started: give it a moment.
            let launcher;
            for (let n = 0; n < 50 && !launcher; n++, await H.sleep(200)) {
              [launcher] = H.findFiles(ctx.dirs.root, /^aliyun-sidecar$/).filter((f) => f.includes('globalStorage'));
            }
            if (!launcher) throw new Error('no aliyun-sidecar launcher in the extension\'s global storage');
            // Run in the hostile folder (a terminal opened there), with it on PYTHONPATH too.
            const help = spawnSync(launcher, ['signin', '--help'], {
              cwd: ctx.dirs.workspace,
              encoding: 'utf8',
              timeout: 30_000,
              env: { PATH: '/usr/bin:/bin', HOME: ctx.dirs.home, PYTHONPATH: ctx.dirs.workspace },
            });
            if (help.status !== 0 || !/--profile/.test(help.stdout)) throw new Error(`${launcher} signin --help failed (${help.status}): ${help.stderr}`);
            folderChoseNothing(ctx);
            H.log(`sidecar pid ${pid}: ${exe}, code ${path.relative(ctx.dirs.root, libs)}; launcher ${path.relative(ctx.dirs.root, launcher)} run in the folder`);
          },
        },
        {
          name: `palette runs "${EXT.signIn}" and the prompts are answered`,
          run: async () => {
            ctx.context.on('page', (p) => popupUrls.push(p.url()));
            await signInPrompts('e2e');
          },
        },
        {
          name: 'sign-in page opens in the browser and completes (emulator auto-approves)',
          run: async () => {
            // openExternal -> a new page in chromium; the emulator redirects it to the loopback
            // callback. Click through a link-protection dialog if code-server shows one.
            const deadline = Date.now() + 30_000;
            while (Date.now() < deadline) {
              const d = await H.handleDialog(page(), /^open$/i);
              if (d) ctx.dialogs.push(d);
              const pages = ctx.context.pages().filter((p) => p !== page());
              const done = pages.find((p) => /\/cli\/callback/.test(p.url()));
              if (done) {
                H.log(`callback page: ${redact(done.url())}`);
                return;
              }
              const statusNow = await H.statusTexts(page());
              if (statusNow.some((t) => /\be2e\b/.test(t))) return; // already signed in
              await H.sleep(300);
            }
            const urls = ctx.context.pages().map((p) => redact(p.url()));
            throw new Error(`no page reached the loopback callback; pages: ${JSON.stringify(urls)}; notifications: ${JSON.stringify(await H.notificationTexts(page()))}`);
          },
        },
        {
          name: 'status bar shows the new profile "e2e"; the sign-in notification closed; "Signed in" names the RAM user, with a Who Am I button',
          run: async () => {
            await waitStatus('e2e');
            await page().bringToFront();
            const toast = await H.waitForNotification(
              page(),
              new RegExp(`Profile "e2e" signed in as RAM user ${EXT.user.name} in account ${EXT.user.account_id}`),
              15_000,
            );
            H.log(`notification: ${toast}`);
            // Its button keeps the toast whole (one without a button is cut to one line) and opens the rest.
            const buttons = await page().$$eval(H.SEL.notificationButtons, (els) => els.map((e) => (e.innerText || '').trim()));
            if (!buttons.includes('Who Am I')) throw new Error(`no "Who Am I" button on the signed-in message: ${JSON.stringify(buttons)}`);
            await toastGone('e2e');
            await shot('signed-in');
            await expectSignInClosed('e2e');
          },
        },
        {
          name: 'status bar TOOLTIP (hover) shows the RAM user identity and account of "e2e"',
          soft: true,
          run: async () => {
            const text = await H.waitForHover(page(), EXT.statusItem, [
              /profile\s+e2e\b/,
              new RegExp(`RAM user ${EXT.user.name} in account ${EXT.user.account_id}`),
              new RegExp(`acs:ram::${EXT.user.account_id}:user/${EXT.user.name}`),
            ]);
            H.log(`tooltip: ${JSON.stringify(text.split('\n').filter((l) => /Identity|ARN|State/.test(l)))}`);
          },
        },
        {
          name: `"${EXT.whoAmI}" shows "RAM user" and the emulator's account id`,
          soft: true,
          run: async () => {
            const cfg = await H.emulatorControl(emulator.url, 'GET', 'config');
            const account = cfg.identity && cfg.identity.account_id;
            if (account !== EXT.user.account_id) throw new Error(`emulator identity not as configured: ${JSON.stringify(cfg.identity)}`);
            await H.closeNotifications(page());
            await H.runCommand(page(), EXT.whoAmI);
            const d = await waitDialog('Who Am I', 15_000);
            const detail = await page().textContent('.monaco-dialog-box .dialog-message-detail').catch(() => '');
            if (!new RegExp(`Profile "e2e": RAM user \\S+ in account ${account}`).test(d.message)) throw new Error(`unexpected dialog: ${JSON.stringify(d)}`);
            // Shown fully: the ARN and the ids, each on its line.
            if (!new RegExp(`ARN: acs:ram::${account}:user/${EXT.user.name}`).test(detail) || !/Principal id: /.test(detail)) {
              throw new Error(`the dialog does not show the whole identity: ${JSON.stringify(detail)}`);
            }
            H.log(`dialog: ${JSON.stringify(d.message)} / ${JSON.stringify(detail)}`);
            await shot('who-am-i');
            await H.handleDialog(page(), /^OK$/i);
          },
        },
        {
          name: 'the four prompts: the first names the configured config file; Back returns from the region to the site; Escape leaves nothing',
          soft: true,
          run: async () => {
            await H.resetUi(page());
            await H.runCommand(page(), EXT.signIn);
            let first = null;
            const by = Date.now() + 10_000;
            while (Date.now() < by && !(first && /profile/i.test(first.title))) {
              first = await H.describeQuickInput(page());
              await H.sleep(150);
            }
            if (!first || !first.message.includes(configPath)) throw new Error(`the profile prompt does not name the configured file ${configPath}: ${JSON.stringify(first)}`);
            await H.answerPrompts(page(), [{ ask: /\bprofile\b/i, value: 'e2e-back' }]);
            await H.answerPrompts(page(), [{ ask: /\bsite\b/i, pick: /\bCN\b|China/i }]);
            await H.sleep(300);
            const region = await H.describeQuickInput(page());
            if (!region || !/default region \(3\/4\)/.test(region.title)) throw new Error(`not at the region step: ${JSON.stringify(region)}`);
            await shot('prompt-region-with-back');
            await page().locator('.quick-input-widget .quick-input-titlebar .action-label[aria-label="Back"], .quick-input-widget .quick-input-left-action-bar .action-label').first().click({ timeout: 5_000 });
            await H.sleep(400);
            const back = await H.describeQuickInput(page());
            if (!back || !/site \(2\/4\)/.test(back.title)) throw new Error(`Back did not return to the site step: ${JSON.stringify(back)}`);
            H.log(`Back: ${JSON.stringify(region.title)} -> ${JSON.stringify(back.title)}`);
            await page().keyboard.press('Escape');
            await H.sleep(300);
            if (await H.describeQuickInput(page())) throw new Error('Escape left a prompt open');
            if (readConfig().profiles.some((p) => p.name === 'e2e-back')) throw new Error('an abandoned sign-in wrote a profile');
          },
        },
        {
          name: `"${EXT.refresh}" renews the STS credentials (status message; new access key and sts_expiration in the file)`,
          soft: true,
          run: async () => {
            const before = profileOf(readConfig(), 'e2e');
            if (!before || !before.access_key_id) throw new Error('profile "e2e" has no STS credentials before the refresh');
            await H.runCommand(page(), EXT.refresh);
            const msg = await H.waitForStatus(page(), /credentials of "e2e" renewed/, 15_000, 'status.extensionMessage', {
              failOnNotification: /renew|refresh|failed|error/i,
            });
            H.log(`status message: ${msg}`);
            await waitConfig(
              (doc) => {
                const p = profileOf(doc, 'e2e');
                return p && p.access_key_id && p.access_key_id !== before.access_key_id && p.sts_token !== before.sts_token && p.sts_expiration >= before.sts_expiration;
              },
              (doc) => {
                const p = profileOf(doc, 'e2e') || {};
                return { accessKeyChanged: p.access_key_id !== before.access_key_id, stsExpiration: [before.sts_expiration, p.sts_expiration] };
              },
            );
            const after = profileOf(readConfig(), 'e2e');
            // A new credential: new key id and token; its expiry (whole seconds) is not earlier.
            H.log(`sts_expiration ${before.sts_expiration} -> ${after.sts_expiration}; access key id and STS token changed`);
          },
        },
        {
          name: 'emulator issues a ROLE identity; palette Sign In of a second profile "e2e-role" completes',
          run: async () => {
            await H.emulatorControl(emulator.url, 'POST', 'config', { identity: EXT.role });
            await signInPrompts('e2e-role');
            await waitStatus('e2e-role', 30_000);
            await page().bringToFront();
          },
        },
        {
          name: 'status bar TOOLTIP (hover) shows the role identity and its account for "e2e-role"',
          soft: true,
          run: async () => {
            const text = await H.waitForHover(page(), EXT.statusItem, [
              /profile\s+e2e-role\b/,
              new RegExp(`role ${EXT.role.name}\\b.* in account ${EXT.role.account_id}`),
              new RegExp(`acs:ram::${EXT.role.account_id}:assumed-role/${EXT.role.name}/`),
            ]);
            H.log(`tooltip: ${JSON.stringify(text.split('\n').filter((l) => /Identity|ARN/.test(l)))}`);
          },
        },
        {
          name: 'status bar CLICK opens the profile quick pick; picking "e2e" switches to it',
          run: async () => {
            await H.resetUi(page());
            await H.clickStatusItem(page(), EXT.statusItem);
            // It opens on the current profile ("e2e-role"): Enter keeps it.
            let focused = '';
            const by = Date.now() + 10_000;
            while (Date.now() < by && !nameRe('e2e-role').test(focused)) {
              focused = await page().$eval(H.SEL.quickInputFocused, (e) => e.getAttribute('aria-label') || e.textContent || '').catch(() => '');
              await H.sleep(150);
            }
            if (!nameRe('e2e-role').test(focused)) throw new Error(`the picker's active row is not the current profile "e2e-role": ${JSON.stringify(focused)}`);
            H.log(`picker opens on: ${JSON.stringify(focused)}`);
            await shot('profile-picker');
            const asked = await H.answerPrompts(page(), [{ ask: /Alibaba Cloud profiles|Select the profile/i, pick: nameRe('e2e') }]);
            H.log(`picker: ${JSON.stringify(asked)}`);
            await waitStatus('e2e', 15_000);
            await waitConfig((doc) => doc.current === 'e2e', summary);
          },
        },
        {
          name: `"${EXT.switchProfile}" to the pre-seeded profile changes the status bar`,
          run: async () => {
            await H.runCommand(page(), EXT.switchProfile);
            await H.answerPrompts(page(), EXT.switchAnswers);
            await H.waitForStatus(page(), /\bseeded\b/, 15_000, EXT.statusItem);
          },
        },
        {
          name: 'the shared config file has the OAuth profiles "e2e" and "e2e-role" and current "seeded"',
          run: () =>
            waitConfig((doc) => {
              const ok = (n) => {
                const p = profileOf(doc, n);
                return p && p.mode === 'OAuth' && p.oauth_refresh_token && p.region_id === 'cn-hangzhou';
              };
              return doc.current === 'seeded' && ok('e2e') && ok('e2e-role');
            }, summary),
        },
        {
          name: `"${EXT.restart}": the sidecar process is replaced, the status bar goes down and comes back with "seeded"`,
          run: async () => {
            const before = H.sidecarPids(ctx.cs.pgid);
            if (!before.length) throw new Error('no sidecar process found in code-server\'s process group');
            await H.watchStatusItem(page(), EXT.statusItem);
            await H.runCommand(page(), EXT.restart);
            const deadline = Date.now() + 20_000;
            let now = [];
            while (Date.now() < deadline) {
              now = H.sidecarPids(ctx.cs.pgid);
              if (now.length && !now.some((p) => before.includes(p))) break;
              await H.sleep(150);
            }
            if (!now.length || now.some((p) => before.includes(p))) throw new Error(`sidecar process not replaced: before ${before}, now ${now}`);
            // Back: our item shows "seeded" and the restart's progress item has gone.
            let history = [];
            const backBy = Date.now() + 20_000;
            while (Date.now() < backBy) {
              history = await H.statusHistory(page());
              const last = history[history.length - 1];
              if (history.length > 1 && last && !last.progress && /\bseeded\b/.test(last.text)) break;
              await H.sleep(150);
            }
            const texts = history.map((h) => h.text + (h.progress ? ` [${h.progress}]` : ''));
            H.log(`sidecar pid ${before} -> ${now}; status item went: ${JSON.stringify(texts)}`);
            // "Down" in the status bar: our item says ": off" / shows the starting spinner, or (what
            // code-server shows: the extension keeps the known profile list through stop + start, so
            // its item's own "off" lasts microtasks and is never rendered) the window progress item
            // "Alibaba Cloud: restarting the sidecar".
            const itemDown = history.some((h) => /Alibaba Cloud: off|^Alibaba Cloud$/.test(h.text));
            const progress = history.some((h) => /restarting the sidecar/.test(h.progress));
            H.log(`down shown by: ${[itemDown && 'our item', progress && 'the "restarting the sidecar" progress item'].filter(Boolean).join(' and ') || 'nothing'}`);
            const last = history[history.length - 1];
            if (!itemDown && !progress) throw new Error(`the status bar never showed the restart (": off", the spinner or a "restarting" progress); it went: ${JSON.stringify(texts)}`);
            if (!history.some((h) => h.t > (history.find((x) => /restart/.test(x.progress))?.t ?? 0) && !h.progress && /\bseeded\b/.test(h.text))) {
              throw new Error(`the status bar did not come back after the restart: ${JSON.stringify(texts)}`);
            }
            if (!last || !/\bseeded\b/.test(last.text)) throw new Error(`status bar did not come back with "seeded": ${JSON.stringify(texts)}`);
          },
        },
        {
          name: `the ${opt['no-trust'] ? 'trusted ' : ''}folder's settings chose nothing: no request to its endpoints, its Python and code never ran, no tokens in it`,
          run: async () => {
            folderChoseNothing(ctx);
            // The folder's values never reach a read (VS Code drops `machine` settings from folder
            // settings; the extension ignores any that get through): at most one log line per key.
            const logs = H.findFiles(ctx.dirs.root, /Alibaba Cloud\.log$/).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
            const told = {};
            for (const key of ['endpoints.oauthBase', 'endpoints.signinBase', 'endpoints.stsEndpoint', 'sidecar.pythonPath', 'configPath']) {
              told[key] = logs.split(`Ignored the workspace's value of aliyun.${key}:`).length - 1;
              if (told[key] > 1) throw new Error(`"Ignored the workspace's value of aliyun.${key}" logged ${told[key]} times, expected at most once`);
            }
            H.log(`ignored-setting log lines: ${JSON.stringify(told)}`);
            H.log(`folder: ${recorder.hits.length} requests to its endpoints, ${fs.readdirSync(markers).length} of its programs ran`);
          },
        },
        {
          name: 'paste-back: emulator auto-approve off; Sign In "e2e-paste" opens the sign-in page, which is not followed',
          run: async () => {
            await H.emulatorControl(emulator.url, 'POST', 'config', { auto_approve: false, identity: EXT.user });
            const seen = (st.pagesBefore = ctx.context.pages().length);
            await signInPrompts('e2e-paste');
            const popup = await waitPopup(seen);
            st.popupUrl = popup.url();
            const title = await popup.title().catch(() => '');
            if (/\/cli\/callback$/.test(new URL(popup.url()).pathname)) throw new Error('the sign-in page was followed to the callback (auto-approve still on?)');
            H.log(`sign-in page (waiting for Authorize, title ${JSON.stringify(title)}): ${redact(st.popupUrl)}`);
            await page().bringToFront();
            // One surface while waiting: the sign-in's progress notification, which says what to do
            // (code-server is a remote window whose callback port is forwarded elsewhere: paste-back).
            const text = await waitingToast('e2e-paste', /cannot load 127\.0\.0\.1:\d+.*Paste redirect URL/s);
            H.log(`waiting notification: ${JSON.stringify(text)}`);
            const others = (await H.notificationTexts(page())).filter((t) => !t.includes('signing in "e2e-paste"'));
            if (others.length) throw new Error(`other notifications while waiting: ${JSON.stringify(others)}`);
            const qi = await H.describeQuickInput(page());
            if (qi) throw new Error(`a quick input is open while waiting (one surface only): ${JSON.stringify(qi)}`);
            await shot('waiting-for-browser');
          },
        },
        {
          name: `"${EXT.copyUrl}" puts the waiting sign-in URL on the clipboard (status message; same state as the opened page)`,
          soft: true,
          run: async () => {
            await H.runCommand(page(), EXT.copyUrl);
            const msg = await H.waitForStatus(page(), /sign-in URL copied/, 10_000, 'status.extensionMessage');
            const text = (await H.readClipboard(page())).trim();
            const u = new URL(text);
            const q = u.searchParams;
            const popupQ = new URL(st.popupUrl).searchParams;
            const problems = [];
            if (u.origin !== emulator.url) problems.push(`origin ${u.origin}, expected the emulator's ${emulator.url}`);
            if (u.pathname !== '/oauth2/v1/auth') problems.push(`path ${u.pathname}`);
            if (!q.get('client_id')) problems.push('no client_id');
            if (!q.get('state')) problems.push('no state');
            if (!q.get('code_challenge')) problems.push('no code_challenge');
            const redirect = q.get('redirect_uri') || '';
            const m = /^http:\/\/127\.0\.0\.1:(\d+)\/cli\/callback$/.exec(redirect);
            if (!m || +m[1] < callbackPorts[0] || +m[1] > callbackPorts[1]) problems.push(`redirect_uri ${redirect}`);
            if (q.get('state') !== popupQ.get('state')) problems.push('state differs from the opened page\'s');
            if (problems.length) throw new Error(`clipboard is not the waiting sign-in URL (${problems.join('; ')}): ${redact(text)}`);
            st.signInUrl = text;
            H.log(`${msg}; clipboard: ${redact(text)}`);
          },
        },
        {
          name: `"${EXT.pasteUrl}" takes the redirect address from the emulator's approve; the sign-in of "e2e-paste" completes`,
          run: async () => {
            // The URL to approve: the copied one, else the opened page's (code-server serves it under
            // its port proxy /proxy/<port>/...).
            let url = st.signInUrl;
            if (!url) {
              url = unproxied(st.popupUrl);
              H.log('(no copied URL: approving the opened page\'s URL)');
            }
            const { location } = await H.emulatorControl(emulator.url, 'POST', 'approve', { url });
            const loc = new URL(location);
            if (!/^\/cli\/callback$/.test(loc.pathname) || !loc.searchParams.get('code')) throw new Error(`approve gave no callback with a code: ${redact(location)}`);
            secrets.add(loc.searchParams.get('code'));
            H.log(`redirect address to paste: ${redact(location)}`);
            // The notification's own "Paste redirect URL…" link opens the box.
            await clickToastLink('Paste redirect URL');
            await H.sleep(300);
            await shot('paste-box');
            await H.answerPrompts(page(), [{ ask: /paste the redirect URL/i, value: location }]);
            const t0 = Date.now();
            await H.waitForStatus(page(), nameRe('e2e-paste'), 20_000, EXT.statusItem, { failOnNotification: /sign-in failed|could not|invalid|expired/i });
            H.log(`paste accepted -> status item "e2e-paste" in ${Date.now() - t0} ms`);
            await H.waitForNotification(page(), new RegExp(`Profile "e2e-paste" signed in as RAM user ${EXT.user.name} in account ${EXT.user.account_id}`), 10_000);
            await expectSignInClosed('e2e-paste');
            await waitConfig((doc) => doc.current === 'e2e-paste' && profileOf(doc, 'e2e-paste')?.oauth_refresh_token, summary);
            const since = ctx.context.pages().slice(st.pagesBefore).map((p) => p.url());
            if (since.some((u) => /\/cli\/callback$/.test(new URL(u).pathname))) {
              throw new Error('a browser page reached the callback: the sign-in did not come through the paste box');
            }
            await H.emulatorControl(emulator.url, 'POST', 'config', { auto_approve: true });
          },
        },
        {
          name: 'Deny on the sign-in page: the notification closes, a warning says it was your Deny, one output line names the cause',
          run: async () => {
            const popup = await startWaitingSignIn('e2e-deny', { not_authorized: false });
            const t0 = Date.now();
            await pressOnPage(popup, 'deny');
            const toast = await H.waitForNotification(page(), /Sign-in of profile "e2e-deny" cancelled: Deny was chosen/, 15_000);
            H.log(`Deny -> the warning shown in ${Date.now() - t0} ms (page load and click included)`);
            if (/administrator|official-cli/.test(toast)) throw new Error(`the Deny message talks about the administrator: ${toast}`);
            H.log(`notification: ${toast}`);
            await expectEnded('e2e-deny', 'denied', /\[warning\] Sign-in of "e2e-deny" failed: Deny was chosen on the sign-in page \(signInDenied, userDenied\)\. Next: sign in again and choose Authorize\./);
            await H.waitForStatus(page(), nameRe('e2e-paste'), 5_000, EXT.statusItem);
            if (readConfig().profiles.some((p) => p.name === 'e2e-deny')) throw new Error('a denied sign-in wrote a profile');
          },
        },
        {
          name: 'the service answers "not authorized": the message names the administrator\'s two steps and links the documentation',
          run: async () => {
            const popup = await startWaitingSignIn('e2e-na', { not_authorized: true });
            await pressOnPage(popup, 'authorize');
            const toast = await H.waitForNotification(page(), /The call is not authorized/, 15_000);
            for (const re of [/\(1\) install the official-cli application/, /\(2\) assign you to it/]) if (!re.test(toast)) throw new Error(`the message lacks ${re}: ${toast}`);
            const buttons = await page().$$eval(H.SEL.notificationButtons, (els) => els.map((e) => (e.innerText || '').trim()));
            if (!buttons.includes('Open Documentation')) throw new Error(`no "Open Documentation" button: ${JSON.stringify(buttons)}`);
            await expectEnded('e2e-na', 'not-authorized', /\[error\] Sign-in of "e2e-na" failed: the service answered "not authorized" \(signInDenied, notAuthorized/);
            await H.emulatorControl(emulator.url, 'POST', 'config', { not_authorized: false });
          },
        },
        {
          name: 'Cancel on the sign-in notification: it closes, no error, the status bar says "cancelled", one info line in the output',
          run: async () => {
            await startWaitingSignIn('e2e-cancel');
            const toast = page().locator('.notifications-toasts .notification-toast', { hasText: 'signing in "e2e-cancel"' }).first();
            await toast.locator('.monaco-button', { hasText: /^Cancel$/ }).first().click({ timeout: 5_000 });
            const t0 = Date.now();
            const msg = await H.waitForStatus(page(), /sign-in cancelled/, 10_000, 'status.extensionMessage');
            H.log(`Cancel -> "sign-in cancelled" in ${Date.now() - t0} ms`);
            H.log(`status message: ${msg}`);
            const all = await expectEnded('e2e-cancel', 'cancelled', /\[info\] Sign-in of "e2e-cancel" cancelled by the user\./);
            const bad = all.filter((t) => /e2e-cancel|cancel/i.test(t));
            if (bad.length) throw new Error(`a cancel is not an error, yet: ${JSON.stringify(bad)}`);
            if (outputLines().some((l) => /\[(error|warning)\].*e2e-cancel/.test(l))) throw new Error('the cancel left an error or warning line in the output');
            await H.emulatorControl(emulator.url, 'POST', 'config', { auto_approve: true });
          },
        },
        {
          name: 'a restart of the sidecar during a sign-in: the notification closes, a warning says the sign-in was interrupted, one output line',
          run: async () => {
            await startWaitingSignIn('e2e-restart');
            const t0 = Date.now();
            await H.runCommand(page(), EXT.restart);
            const toast = await H.waitForNotification(page(), /sign-in of profile "e2e-restart" was interrupted/, 20_000);
            H.log(`Restart Sidecar -> "interrupted" shown in ${Date.now() - t0} ms (palette included)`);
            H.log(`notification: ${toast}`);
            await expectEnded('e2e-restart', 'interrupted', /\[warning\] Sign-in of "e2e-restart" failed: the sidecar stopped or restarted/);
            await H.waitForStatus(page(), nameRe('e2e-paste'), 20_000, EXT.statusItem);
            await H.emulatorControl(emulator.url, 'POST', 'config', { auto_approve: true });
          },
        },
        {
          name: 'the Settings editor, browsed to the extension: its settings read "Alibaba Cloud", not "Aliyun ›"',
          soft: true,
          run: async () => {
            await H.resetUi(page());
            await H.runCommand(page(), 'Preferences: Open Settings (UI)');
            const toc = '.settings-editor .settings-toc-container .monaco-list-row';
            await page().waitForSelector(toc, { timeout: 10_000 });
            // The table of contents, as a user browses it: Extensions › Alibaba Cloud Sign-In › Alibaba Cloud.
            for (const label of [/^Extensions/, /^Alibaba Cloud Sign-In/, /^Alibaba Cloud$/]) {
              const rows = page().locator(toc);
              const texts = await rows.evaluateAll((els) => els.map((e) => (e.innerText || e.textContent || '').trim()));
              const i = texts.findIndex((t) => label.test(t));
              if (i < 0) throw new Error(`no table-of-contents row ${label}: ${JSON.stringify(texts)}`);
              await rows.nth(i).click();
              await H.sleep(500);
            }
            const labels = await page().$$eval('.settings-editor .settings-tree-container .setting-item-title', (els) =>
              els.filter((e) => e.offsetParent !== null).map((e) => (e.innerText || e.textContent || '').replace(/\s+/g, ' ').trim()),
            );
            H.log(`settings: ${JSON.stringify(labels.slice(0, 12))}`);
            await shot('settings');
            const ours = labels.filter((l) => /Callback Ports|Config Path|Python Path|Keep Fresh|Sign In: Mode/.test(l));
            if (!ours.length) throw new Error(`none of the extension's settings is shown: ${JSON.stringify(labels)}`);
            if (ours.some((l) => /^Aliyun\b/.test(l))) throw new Error(`settings still titled "Aliyun ›": ${JSON.stringify(ours)}`);
            await H.runCommand(page(), 'View: Close All Editors');
          },
        },
        {
          name: `"${EXT.showOutput}" shows the "Alibaba Cloud" output, with no token or secret of the config file and no credentials-endpoint secret path in it`,
          soft: true,
          run: async () => {
            readConfig();
            await H.runCommand(page(), EXT.showOutput);
            const out = await H.outputPanelText(page());
            if (!/Alibaba Cloud/.test(out.channel)) throw new Error(`the output panel shows channel ${JSON.stringify(out.channel)}, not "Alibaba Cloud"`);
            const text = out.lines.join('\n');
            if (!/sidecar/i.test(text)) throw new Error(`the output panel text does not look like the sidecar's log (${out.lines.length} lines)`);
            const leaks = [...secrets].filter((s) => out.joined.includes(s) || text.includes(s));
            // The whole log, as the channel writes it to disk (the panel renders only part of it).
            const files = H.findFiles(ctx.dirs.root, /Alibaba Cloud\.log$/);
            const fileLeaks = [];
            // The credentials endpoint's secret path (its URI, also the terminals' variable) is found by
            // its shape: the run never sees the value itself.
            const endpointSecret = /\/\/(?:127\.0\.0\.1|localhost):\d+\/[A-Za-z0-9_-]{16,}\/(?:credentials|profiles)\b/;
            for (const f of files) {
              const body = fs.readFileSync(f, 'utf8');
              for (const s of secrets) if (body.includes(s)) fileLeaks.push(path.basename(f));
              if (endpointSecret.test(body)) fileLeaks.push(`${path.basename(f)} (the credentials endpoint's secret path)`);
            }
            if (endpointSecret.test(text)) leaks.push("the credentials endpoint's secret path");
            H.log(`output: channel ${JSON.stringify(out.channel)}, ${out.lines.length} lines read in the panel; ${files.length} log file(s); ${secrets.size} secret values checked`);
            if (leaks.length || fileLeaks.length) {
              throw new Error(`secret values appear in the output: ${leaks.length} in the panel, ${fileLeaks.length} in the log file(s) (values not printed)`);
            }
            if (!files.length) H.log('(no "Alibaba Cloud.log" file found; only the panel text was checked)');
            await H.resetUi(page());
          },
        },
        {
          name: `"${EXT.deleteProfile}" "e2e-paste": modal confirmed, gone from the config file, status bar follows`,
          run: async () => {
            await H.runCommand(page(), EXT.deleteProfile);
            await H.answerPrompts(page(), [{ ask: /Delete an Alibaba Cloud profile|Profile to delete/i, pick: /^e2e-paste$/ }]);
            const d = await waitDialog('confirmation', 10_000);
            if (!/Delete the Alibaba Cloud profile "e2e-paste"/.test(d.message)) throw new Error(`unexpected dialog: ${JSON.stringify(d)}`);
            const clicked = await H.handleDialog(page(), /^Delete$/);
            if (!clicked || !clicked.clicked) throw new Error(`no "Delete" button: ${JSON.stringify(d)}`);
            H.log(`dialog: ${JSON.stringify(d.message)} buttons ${JSON.stringify(d.buttons)}`);
            await waitConfig((doc) => !profileOf(doc, 'e2e-paste') && doc.current === 'seeded' && profileOf(doc, 'e2e'), summary);
            await H.waitForStatus(page(), /\bseeded\b/, 10_000, EXT.statusItem);
          },
        },
        {
          name: 'a broken config file: the status item warns "config file invalid (line 4, column N)", a click opens it there, Sign In refuses before any prompt',
          run: async () => {
            st.goodConfig = fs.readFileSync(configPath, 'utf8');
            await H.closeNotifications(page());
            await H.runCommand(page(), 'View: Hide Panel', 5_000).catch(() => {}); // the output of an earlier step
            // Line 4 has a stray comma where a value should be.
            fs.writeFileSync(configPath, '{\n  "current": "seeded",\n  "profiles": [\n    {"name": "seeded", "mode": ,}\n  ]\n}\n');
            const text = await H.waitForStatus(page(), /config file invalid \(line 4, column \d+\)/, 20_000, EXT.statusItem);
            H.log(`status item: ${text}`);
            const warn = await page().$eval(H.statusItemSel(EXT.statusItem), (e) => getComputedStyle(e).backgroundColor).catch(() => '');
            H.log(`status item background: ${warn}`);
            const toast = await H.waitForNotification(page(), /config file .* is not valid \(line 4, column \d+\)/, 10_000);
            H.log(`notification: ${toast}`);
            await expectOneLogLine(/\[error\] The config file failed: .*config\.json is not valid \(line 4, column \d+\) \(configCorrupt\)\. Next: fix the file/);
            await shot('config-invalid');
            // The click opens the file with the cursor on line 4.
            await H.clickStatusItem(page(), EXT.statusItem);
            const sel = await H.waitForStatus(page(), /Ln 4, Col \d+/, 10_000, 'status.editor.selection');
            H.log(`editor: ${sel}`);
            const tab = await page().$eval('.tabs-container .tab.active', (e) => e.getAttribute('aria-label') || e.textContent || '').catch(() => '');
            if (!/config\.json/.test(tab)) throw new Error(`the active editor is not config.json: ${JSON.stringify(tab)}`);
            await shot('config-invalid-opened');
            // Sign In refuses at once: the error, and no prompt.
            await H.closeNotifications(page());
            await H.runCommand(page(), EXT.signIn);
            await H.waitForNotification(page(), /is not valid \(line 4, column \d+\)/, 10_000);
            await H.sleep(500);
            const qi = await H.describeQuickInput(page());
            if (qi && /profile|site|region|language/i.test(`${qi.title} ${qi.placeholder}`)) throw new Error(`Sign In asked a question with a broken file: ${JSON.stringify(qi)}`);
            await H.runCommand(page(), 'View: Close All Editors');
          },
        },
        {
          name: 'an empty config file is an empty profile list: the status item says "sign in", no error',
          soft: true,
          run: async () => {
            await H.closeNotifications(page());
            fs.writeFileSync(configPath, '');
            const text = await H.waitForStatus(page(), /^Alibaba Cloud: sign in$/, 20_000, EXT.statusItem);
            H.log(`status item: ${text}`);
            await H.sleep(1000);
            const errors = (await H.notificationTexts(page())).filter((t) => /not valid|config/i.test(t));
            if (errors.length) throw new Error(`an empty file was reported: ${JSON.stringify(errors)}`);
            await shot('config-empty');
          },
        },
        {
          name: 'the config file restored: the status item shows "seeded" again',
          run: async () => {
            fs.writeFileSync(configPath, st.goodConfig);
            await H.waitForStatus(page(), /\bseeded\b/, 20_000, EXT.statusItem);
          },
        },
        ...(opt['no-trust']
          ? [
            {
              name: 'a terminal opened before a switch ("seeded" to "e2e") runs the CLI-style profile lookup as the new profile',
              run: async () => {
                // Last, because it leaves a terminal and an editor open. Terminals need a trusted folder.
                await H.runCommand(page(), 'Terminal: Create New Terminal');
                await H.sleep(2_500); // the shell starts and prints its prompt
                await page().locator('#workbench\\.parts\\.editor').click({ position: { x: 200, y: 200 } }); // the focus back from the shell
                st.terminalOpenedFor = readConfig().current;
                await H.runCommand(page(), EXT.switchProfile);
                await H.answerPrompts(page(), [{ ask: /profile/i, pick: nameRe('e2e') }]);
                await waitConfig((doc) => doc.current === 'e2e', summary);
                const out = path.join(dirs0, 'terminal-profile.txt');
                // What the aliyun CLI does: a profile variable if set (three spellings), else the file's current.
                const lookup = `import json,os,sys; e=[n for n in ("ALIBABA_CLOUD_PROFILE","ALIBABACLOUD_PROFILE","ALICLOUD_PROFILE") if os.environ.get(n)]; `
                  + `open(sys.argv[2],"w").write(os.environ[e[0]] if e else json.load(open(sys.argv[1]))["current"])`;
                // The command goes to that terminal as VS Code sends an editor's line to the active terminal:
                // a file with the command line, opened, "Run Selected Text In Active Terminal".
                const script = path.join(ctx.dirs.workspace, 'profile-lookup.sh');
                fs.writeFileSync(script, `python3 -I -c '${lookup}' ${configPath} ${out}`); // -I: not the folder's json.py
                // Opened from the Explorer as a person would.
                await page().locator('.explorer-folders-view .monaco-list-row', { hasText: 'profile-lookup.sh' }).first().click({ timeout: 10_000 });
                await H.sleep(1_000);
                // The cursor on the one line: with no selection VS Code sends the cursor's line.
                await page().locator('#workbench\\.parts\\.editor .monaco-editor .view-line').first().click({ timeout: 10_000 });
                await H.runCommand(page(), 'Terminal: Run Selected Text In Active Terminal');
                const deadline = Date.now() + 20_000;
                // Created empty, then written: wait for the words.
                while (Date.now() < deadline && !(fs.existsSync(out) && fs.statSync(out).size > 0)) await H.sleep(200);
                await shot('terminal-after-switch');
                const seen = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '(nothing written)';
                H.log(`terminal opened for "${st.terminalOpenedFor}" now looks up: "${seen}"`);
                if (st.terminalOpenedFor !== 'seeded' || seen !== 'e2e') throw new Error(`the terminal opened for "${st.terminalOpenedFor}" resolves "${seen}" after the switch, not the new profile "e2e"`);
              },
            },
            ]
          : []),
        ...(opt['no-trust']
          ? [
              {
                name: 'a Node launch configuration with "console": "internalConsole" gets the current profile\'s STS from the credentials endpoint',
                run: async () => {
                  // Debugging needs a trusted folder: the --no-trust run. Last: the session leaves the panel open.
                  const result = path.join(dirs0, 'debug-result.json');
                  const program = path.join(ctx.dirs.workspace, 'probe-credentials.js');
                  fs.writeFileSync(program, DEBUG_PROBE);
                  const launch = { type: 'node', request: 'launch', name: 'Probe credentials', program, args: [result], console: 'internalConsole', runtimeExecutable: process.execPath };
                  fs.writeFileSync(path.join(ctx.dirs.workspace, '.vscode', 'launch.json'), JSON.stringify({ version: '0.2.0', configurations: [launch] }, null, 2));
                  await H.sleep(500);
                  await H.runCommand(page(), 'Debug: Select and Start Debugging');
                  await H.answerPrompts(page(), [{ ask: /./, pick: /Probe credentials/ }]);
                  const deadline = Date.now() + 60_000;
                  while (Date.now() < deadline && !fs.existsSync(result)) await H.sleep(300);
                  if (!fs.existsSync(result)) throw new Error('the debugged program wrote nothing (did it start?)');
                  const got = JSON.parse(fs.readFileSync(result, 'utf8'));
                  const e2e = profileOf(readConfig(), 'e2e');
                  H.log(`debuggee: ${JSON.stringify({ ...got, AccessKeyId: got.AccessKeyId ? `${String(got.AccessKeyId).slice(0, 6)}…` : got.AccessKeyId })}`);
                  if (got.status !== 200 || !got.hasSecret) throw new Error(`the debuggee got no credentials: ${JSON.stringify({ status: got.status, error: got.error })}`);
                  if (got.AccessKeyId !== e2e.access_key_id) throw new Error('the debuggee\'s credentials are not the current profile\'s ("e2e")');
                  await shot('debug-session-credentials');
                },
              },
            ]
          : []),
        {
          name: opt['no-trust']
            ? '"MCP: List Servers" shows "Alibaba Cloud (e2e, read-only)"; started, it lists the emulator\'s tools as the RAM user of "e2e" with the read-only policy bound'
            : '"MCP: List Servers" shows "Alibaba Cloud (seeded, read-only)"; in Restricted Mode VS Code asks for trust before starting it, and Cancel starts nothing',
          run: async () => {
            // Last: starting a server puts its log in the panel with the focus, which earlier steps do not
            // expect. In the --no-trust run the steps before switched to "e2e".
            const ours = new RegExp(`Alibaba Cloud \\(${opt['no-trust'] ? 'e2e' : 'seeded'}, read-only\\)`);
            await H.emulatorControl(emulator.url, 'DELETE', 'mcp/log');
            await H.runCommand(page(), 'View: Close All Editors'); // what earlier steps opened
            await H.runCommand(page(), 'MCP: List Servers');
            await H.sleep(800);
            const rows = (await H.describeQuickInput(page()))?.rows || [];
            await shot('mcp-list-servers');
            H.log(`MCP servers: ${JSON.stringify(rows)}`);
            await H.answerPrompts(page(), [{ ask: /./, pick: ours }]);
            await H.answerPrompts(page(), [{ ask: /./, pick: /Start Server/i }]);
            if (!opt['no-trust']) {
              const dialog = await waitDialog('workspace trust', 15_000);
              H.log(`VS Code asks: ${JSON.stringify(dialog.message)}; buttons ${JSON.stringify(dialog.buttons)}`);
              await H.handleDialog(page(), /^Cancel$/);
              await H.sleep(2_000);
              const { log } = await H.emulatorControl(emulator.url, 'GET', 'mcp/log/ramoauth');
              if (log.length) throw new Error(`the server started without the folder's trust: ${log.length} token calls`);
              return;
            }
            const deadline = Date.now() + 60_000;
            let listed;
            while (Date.now() < deadline && !listed) {
              const { log } = await H.emulatorControl(emulator.url, 'GET', 'mcp/log/mcp');
              listed = log.find((e) => e.rpc === 'tools/list' && e.outcome === 'ok');
              if (!listed) await H.sleep(300);
            }
            const { log: issued } = await H.emulatorControl(emulator.url, 'GET', 'mcp/log/ramoauth');
            if (!listed) throw new Error(`the MCP server never listed tools; token calls: ${JSON.stringify(issued.map((e) => [e.outcome, e.status]))}`);
            if (!issued.some((e) => e.outcome === 'issued' && e.account_id === EXT.user.account_id)) {
              throw new Error(`no MCP token for the account of "e2e": ${JSON.stringify(issued.map((e) => [e.outcome, e.account_id]))}`);
            }
            const { log: bound } = await H.emulatorControl(emulator.url, 'GET', 'mcp/log/safepolicy');
            if (!bound.some((e) => e.outcome === 'bound')) throw new Error('no read-only safety policy was bound to the token');
            await H.runCommand(page(), 'MCP: List Servers');
            await H.sleep(1_500);
            await shot('mcp-list-servers-running');
            H.log(`MCP servers now: ${JSON.stringify((await H.describeQuickInput(page()))?.rows || [])}; tools listed in session ${String(listed.session).slice(0, 8)}…`);
            await page().keyboard.press('Escape');
          },
        },
      ];
    },
  };
}

// ---------------------------------------------------------------- --vsix X --bad-python-path
//
// How the extension says it cannot run Python, and where its one button leads: the user set
// aliyun.sidecar.pythonPath to a program that does not exist. code-server is a remote window, so
// "Open Settings" must open the Remote settings (where a `machine` setting is read), at the
// setting.
async function badPythonScenario(dirs0) {
  const vsix = path.resolve(opt.vsix);
  const missing = path.join(dirs0, 'no-such-python3');
  return {
    vsix,
    settings: { 'aliyun.sidecar.pythonPath': missing, 'aliyun.configPath': path.join(dirs0, 'config.json') },
    steps: (ctx) => {
      const page = () => ctx.page();
      return [
        {
          name: 'a pythonPath that does not exist: one error naming it, with one button, "Open Settings"',
          run: async () => {
            const text = await H.waitForNotification(page(), /aliyun\.sidecar\.pythonPath/, 60_000);
            if (!text.includes(missing) || !/Python 3\.11 or newer/.test(text)) throw new Error(`unexpected message: ${text}`);
            if (/checkout|pip install/i.test(text)) throw new Error(`advice that needs a checkout: ${text}`);
            const toasts = await page().$$eval('.notifications-toasts .notification-toast', (els) =>
              els.map((e) => ({
                text: (e.querySelector('.notification-list-item-message')?.textContent || '').trim(),
                buttons: [...e.querySelectorAll('.notification-list-item-buttons-container .monaco-button')].map((b) => (b.textContent || '').trim()),
              })),
            );
            const ours = toasts.find((t) => t.text.includes('aliyun.sidecar.pythonPath'));
            H.log(`notification: ${JSON.stringify(ours)}`);
            if (JSON.stringify(ours && ours.buttons) !== JSON.stringify(['Open Settings'])) throw new Error(`buttons: ${JSON.stringify(ours)}`);
          },
        },
        {
          name: '"Open Settings" opens the REMOTE settings (a remote window) at aliyun.sidecar.pythonPath',
          run: async () => {
            await page().locator('.notifications-toasts .notification-toast .monaco-button', { hasText: 'Open Settings' }).first().click();
            await page().waitForSelector('.settings-editor .setting-item-contents', { timeout: 15_000 });
            const deadline = Date.now() + 10_000;
            let seen;
            while (Date.now() < deadline) {
              seen = await page().evaluate(() => {
                const q = (sel) => [...document.querySelectorAll(sel)].map((e) => (e.textContent || '').trim());
                return {
                  tabs: q('.settings-editor .settings-tabs-widget .action-item .action-label.checked'),
                  search: q('.settings-editor .view-line').join(' '),
                  categories: q('.settings-editor .setting-item-contents .setting-item-category'),
                  labels: q('.settings-editor .setting-item-contents .setting-item-label'),
                  toc: q('.settings-editor .settings-toc-container .monaco-list-row[aria-selected="true"], .settings-editor .settings-toc-container .monaco-list-row'),
                };
              });
              if (seen.labels.length === 1 && seen.tabs.length) break;
              await H.sleep(250);
            }
            H.log(`settings editor: ${JSON.stringify(seen)}`);
            if (!seen.tabs.some((t) => /remote/i.test(t))) throw new Error(`the checked settings tab is not Remote: ${JSON.stringify(seen.tabs)}`);
            if (!/aliyun\.sidecar\.pythonPath/.test(seen.search.replace(/\s/g, ''))) throw new Error(`search: ${seen.search}`);
            if (seen.labels.join() !== 'Python Path') throw new Error(`the setting shows as ${JSON.stringify(seen.labels)}`);
            await H.screenshot(page(), 'open-settings-remote');
          },
        },
      ];
    },
  };
}

/** Authorization codes are short-lived, but never print them. */
function redact(url) {
  return String(url).replace(/([?&](?:code|state)=)[^&]+/g, '$1…');
}

// ---------------------------------------------------------------- main

async function main() {
  H.checkInstalled();
  const scratch = H.mkTemp('aliyun-e2e-run-');
  H.onCleanup(() => {
    if (!opt.keep) fs.rmSync(scratch, { recursive: true, force: true });
  });
  const scenario = opt.fixture
    ? await fixtureScenario(scratch)
    : opt['bad-python-path']
      ? await badPythonScenario(scratch)
      : await extensionScenario(scratch);

  const settings = { ...scenario.settings };
  if (opt['no-trust']) settings['security.workspace.trust.enabled'] = false;
  const dirs = H.makeProfileDirs({ settings, workspaceFiles: (workspace) => ({ 'README.md': '# e2e workspace\n', ...(scenario.workspaceFiles?.(workspace) ?? {}) }) });
  for (const f of scenario.executables || []) fs.chmodSync(path.join(dirs.workspace, f), 0o755);
  H.onCleanup(() => {
    if (!opt.keep) fs.rmSync(dirs.root, { recursive: true, force: true });
    else H.log(`kept ${dirs.root} and ${scratch}`);
  });
  H.log(`temp root ${dirs.root}`);

  H.installVsix(dirs, scenario.vsix);
  const cs = await H.startCodeServer(dirs, {
    extraArgs: [...(scenario.codeServerArgs || []), ...(process.env.E2E_CODE_SERVER_ARGS || '').split(' ').filter(Boolean)],
    pathPrepend: scenario.pathPrepend,
  });
  H.onCleanup(() => H.killGroup(cs.pgid));
  H.log(`code-server at ${cs.url}`);

  const browser = await H.launchBrowser({ home: dirs.home });
  H.onCleanup(() => browser.close().catch(() => {}));
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const consoleLines = [];
  const ctx = { context, cs, dirs, popups: [], dialogs: [], pageRef: null, page: () => ctx.pageRef };
  // Copy Sign-in URL writes the browser's clipboard: let the test read it (code-server's origin only).
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: cs.url });
  context.on('page', (p) => {
    if (ctx.pageRef) ctx.popups.push(p.url());
    p.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  });

  const tOpen = Date.now();
  ctx.pageRef = await H.openWorkbench(context, cs, dirs.workspace);
  H.log(`workbench loaded in ${((Date.now() - tOpen) / 1000).toFixed(1)}s`);

  const results = await H.runSteps(scenario.steps(ctx), { page: ctx.page, artifacts });

  H.log(`status bar: ${JSON.stringify(await H.statusItems(ctx.page()).catch(() => []))}`);
  const cserver = H.rssMb({ pgids: [cs.pgid] });
  const chrome = H.rssMb({ pids: H.childPids(/chrom/i) });
  H.log(`memory: code-server group ${cserver.mb} MB in ${cserver.processes} processes; chromium ${chrome.mb} MB in ${chrome.processes} processes`);

  const failed = results.filter((r) => r.status === 'failed').length;
  if (failed) {
    fs.mkdirSync(artifacts, { recursive: true });
    fs.writeFileSync(path.join(artifacts, 'browser-console.log'), consoleLines.join('\n'));
    H.copyLogs(dirs, artifacts);
    console.log(`artifacts: ${artifacts}`);
  }
  return results;
}

let results = [];
let crashed = null;
try {
  results = await main();
} catch (err) {
  crashed = err;
  console.log(`FAIL harness: ${err && err.stack ? err.stack : err}`);
} finally {
  await H.runCleanups();
}
const passed = results.filter((r) => r.status === 'passed').length;
const failed = results.filter((r) => r.status === 'failed').length + (crashed ? 1 : 0);
const skipped = results.filter((r) => r.status === 'skipped').length;
H.log('done');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed || passed === 0 ? 1 : 0);

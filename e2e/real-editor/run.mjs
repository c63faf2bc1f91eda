#!/usr/bin/env node
// Real-editor end-to-end test: our extension inside code-server, driven by headless chromium.
//
//   node e2e/real-editor/run.mjs --fixture              harness self-test (fixture/ extension)
//   node e2e/real-editor/run.mjs --vsix path/to/x.vsix  the Alibaba Cloud extension + emulator
//
// Options: --python PATH (default <repo>/.venv/bin/python), --artifacts DIR (default
// e2e/real-editor/artifacts/<time>), --keep (keep the temp dirs), --no-trust (turn workspace trust
// off instead of running in Restricted Mode), --emulator (with --fixture: the repo's OAuth emulator
// answers the authorize request instead of a stand-in).
// Ends with a plain line "N passed, M failed[, K skipped]"; exit code 0 only when nothing failed.

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
  },
});

if (!opt.fixture && !opt.vsix) {
  console.error('usage: node run.mjs --fixture [--emulator] | --vsix PATH [--python PATH] [--artifacts DIR] [--keep] [--no-trust]');
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
  signIn: 'Alibaba Cloud: Sign In',
  switchProfile: 'Alibaba Cloud: Switch Profile',
  // The config file starts with `current: seeded`: the status bar shows it once the sidecar is up
  // (while it starts, the item says "Alibaba Cloud" with a spinner).
  statusReady: /\bseeded\b/,
  // A toast like this means the sidecar did not start: fail at once instead of after 60 s.
  fatalNotification: /helper is not running|cannot import|not found/i,
  // answerPrompts takes the FIRST entry whose `ask` matches the prompt's title/placeholder/message,
  // so the generic /profile/ comes last.
  signInAnswers: [
    { ask: /\bsite\b/i, pick: /\bCN\b|China/i },
    { ask: /\bregion\b/i, value: 'cn-hangzhou', pick: /cn-hangzhou/ },
    { ask: /\blanguage\b/i, pick: /\ben\b|English/i },
    { ask: /\bprofile\b/i, value: 'e2e' },
  ],
  switchAnswers: [{ ask: /profile/i, pick: /\bseeded\b/ }],
};

async function extensionScenario(dirs0) {
  const vsix = path.resolve(opt.vsix);
  if (!fs.existsSync(vsix)) throw new Error(`vsix not found: ${vsix}`);
  const emulator = await startRepoEmulator(dirs0);
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
  const popupUrls = [];
  return {
    vsix,
    configPath,
    settings: {
      'aliyun.sidecar.pythonPath': opt.python,
      'aliyun.configPath': configPath,
      'aliyun.endpoints.signinBase': emulator.url,
      'aliyun.endpoints.oauthBase': emulator.url,
      'aliyun.endpoints.stsEndpoint': emulator.url,
      'aliyun.callbackPorts': callbackPorts,
    },
    steps: (ctx) => [
      {
        name: `status bar item shows the current profile (extension activated${opt['no-trust'] ? '' : ' in Restricted Mode'}, sidecar up)`,
        run: async () => {
          await H.waitForStatus(ctx.page(), EXT.statusReady, 60_000, EXT.statusItem, {
            failOnNotification: EXT.fatalNotification,
          });
          if (!opt['no-trust']) await H.expectRestrictedMode(ctx.page());
        },
      },
      {
        name: `palette runs "${EXT.signIn}" and the prompts are answered`,
        run: async () => {
          ctx.context.on('page', (p) => popupUrls.push(p.url()));
          await H.runCommand(ctx.page(), EXT.signIn);
          const asked = await H.answerPrompts(ctx.page(), EXT.signInAnswers);
          H.log(`prompts: ${JSON.stringify(asked)}`);
        },
      },
      {
        name: 'sign-in page opens in the browser and completes (emulator auto-approves)',
        run: async () => {
          // openExternal -> a new page in chromium; the emulator redirects it to the loopback
          // callback. Click through a link-protection dialog if code-server shows one.
          const deadline = Date.now() + 30_000;
          while (Date.now() < deadline) {
            const d = await H.handleDialog(ctx.page(), /^open$/i);
            if (d) ctx.dialogs.push(d);
            const pages = ctx.context.pages().filter((p) => p !== ctx.page());
            const done = pages.find((p) => /\/cli\/callback/.test(p.url()));
            if (done) {
              H.log(`callback page: ${redact(done.url())}`);
              return;
            }
            const statusNow = await H.statusTexts(ctx.page());
            if (statusNow.some((t) => /\be2e\b/.test(t))) return; // already signed in
            await H.sleep(300);
          }
          const urls = ctx.context.pages().map((p) => p.url());
          throw new Error(`no page reached the loopback callback; pages: ${JSON.stringify(urls)}; notifications: ${JSON.stringify(await H.notificationTexts(ctx.page()))}`);
        },
      },
      {
        name: 'status bar shows the new profile "e2e"',
        run: () => H.waitForStatus(ctx.page(), /\be2e\b/, 30_000, EXT.statusItem),
      },
      {
        name: `"${EXT.switchProfile}" to the pre-seeded profile changes the status bar`,
        run: async () => {
          await H.runCommand(ctx.page(), EXT.switchProfile);
          await H.answerPrompts(ctx.page(), EXT.switchAnswers);
          await H.waitForStatus(ctx.page(), /\bseeded\b/, 15_000, EXT.statusItem);
        },
      },
      {
        name: 'the shared config file has the OAuth profile "e2e" and current "seeded"',
        run: async () => {
          const deadline = Date.now() + 10_000;
          let summary;
          while (Date.now() < deadline) {
            const doc = JSON.parse(fs.readFileSync(configPath, 'utf8'));
            const e2e = (doc.profiles || []).find((p) => p.name === 'e2e');
            summary = { current: doc.current, e2e: e2e && { mode: e2e.mode, region_id: e2e.region_id, language: e2e.language, hasRefreshToken: Boolean(e2e.oauth_refresh_token) } };
            if (doc.current === 'seeded' && e2e && e2e.mode === 'OAuth' && e2e.oauth_refresh_token && e2e.region_id === 'cn-hangzhou') return;
            await H.sleep(250);
          }
          throw new Error(`config file not as expected: ${JSON.stringify(summary)}`);
        },
      },
    ],
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
  const scenario = opt.fixture ? await fixtureScenario(scratch) : await extensionScenario(scratch);

  const settings = { ...scenario.settings };
  if (opt['no-trust']) settings['security.workspace.trust.enabled'] = false;
  const dirs = H.makeProfileDirs({ settings, workspaceFiles: { 'README.md': '# e2e workspace\n' } });
  H.onCleanup(() => {
    if (!opt.keep) fs.rmSync(dirs.root, { recursive: true, force: true });
    else H.log(`kept ${dirs.root} and ${scratch}`);
  });
  H.log(`temp root ${dirs.root}`);

  H.installVsix(dirs, scenario.vsix);
  const cs = await H.startCodeServer(dirs, { extraArgs: (process.env.E2E_CODE_SERVER_ARGS || '').split(' ').filter(Boolean) });
  H.onCleanup(() => H.killGroup(cs.pgid));
  H.log(`code-server at ${cs.url}`);

  const browser = await H.launchBrowser({ home: dirs.home });
  H.onCleanup(() => browser.close().catch(() => {}));
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const consoleLines = [];
  const ctx = { context, popups: [], dialogs: [], pageRef: null, page: () => ctx.pageRef };
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

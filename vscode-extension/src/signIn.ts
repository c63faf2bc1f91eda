/**
 * The browser sign-in: ask (profile, site, region, language), run `aliyun/signIn` in a cancellable
 * notification, decide whether the browser can reach the sidecar's loopback callback (remote
 * windows: callbackModel.ts), open the page, and either offer Copy URL / Paste redirect URL… / Open
 * again while waiting, or (paste-back) ask for the address the browser lands on at once.
 */

import * as vscode from 'vscode';
import { openInBrowser } from './browser';
import type { Sidecar } from './client';
import { callbackOrigin, callbackReachability, pasteBackInstructions, signInMode, type Reachability } from './model/callbackModel';
import { Methods, type ProfileEntry, type ProfileList, type SignInParams, type SignInStarted, type SiteInfo } from './model/contract';
import { describeError, errorKind, isCancelled } from './model/errorModel';
import {
  defaultProfileName,
  inputFromEntry,
  languageChoices,
  profileNameWarning,
  regionChoices,
  siteChoices,
  suggestNewProfileName,
  validateProfileName,
  validateRedirectUrl,
  type Choice,
  type SignInInput,
} from './model/signInModel';
import { showError } from './errors';
import { sitePrompt } from './model/sites';

/** After a cancel, how long to wait for the sidecar's `cancelled` answer before asking it directly. */
const CANCEL_FALLBACK_MS = 3000;
/** Port forwarding that does not answer in this time counts as failed (→ paste-back). */
const FORWARD_TIMEOUT_MS = 10_000;

const COPY = 'Copy URL';
const PASTE = 'Paste redirect URL…';
const OPEN = 'Open again';

/** What the sign-in needs of the Sidecar (a narrow interface, so tests can pass a double). */
export type SidecarForSignIn = Pick<Sidecar, 'profiles' | 'sites' | 'onSignInStarted' | 'request' | 'refreshProfiles'> & {
  readonly log: Pick<vscode.LogOutputChannel, 'info'>;
};

export class SignInFlow implements vscode.Disposable {
  /** The sign-in waiting for the browser, if any (for Copy Sign-in URL and the waiting prompt). */
  private pending: SignInStarted | undefined;
  /** The open paste box, closed when the sign-in ends (the callback may have been reached after all). */
  private pasteBox: vscode.InputBox | undefined;
  private readonly signedIn = new vscode.EventEmitter<ProfileEntry>();
  /** A sign-in through the extension finished (the profile is current now). */
  readonly onDidSignIn = this.signedIn.event;

  constructor(private readonly sidecar: SidecarForSignIn) {}

  /** `aliyun.signIn`: with a profile that exists, signs it in again with its own choices. */
  async signIn(arg?: { profile?: string } | string, options: { newProfile?: boolean } = {}): Promise<void> {
    const list = this.sidecar.profiles;
    const name = typeof arg === 'string' ? arg : arg?.profile;
    const existing = name ? list?.profiles.find((p) => p.name === name && p.state !== 'notOAuth') : undefined;
    const input = existing ? inputFromEntry(existing) : await askSignInInput(list, this.sidecar.sites, name ?? (options.newProfile ? suggestNewProfileName(list) : undefined));
    if (input) await this.run(input);
  }

  /** Re-sign-in of a listed profile (picker row, re-auth prompt): no questions. */
  async signInAgain(entry: ProfileEntry): Promise<void> {
    await this.run(inputFromEntry(entry));
  }

  async run(input: SignInInput): Promise<void> {
    const params: SignInParams = { ...input, openBrowser: false };
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Alibaba Cloud: signing in as "${input.profile}"`, cancellable: true },
      async (progress, token) => {
        progress.report({ message: 'starting…' });
        const started = this.sidecar.onSignInStarted((e) => {
          if (e.profile !== input.profile) return;
          this.pending = e;
          progress.report({ message: 'waiting for the browser…' });
          void this.openAndGuide(e);
        });
        // $/cancelRequest is the contract's way; aliyun/cancelSignIn is the fallback should the
        // answer not come (the notification must never hang).
        let fallback: NodeJS.Timeout | undefined;
        const onCancel = token.onCancellationRequested(() => {
          fallback = setTimeout(() => void this.sidecar.request(Methods.cancelSignIn).catch(() => undefined), CANCEL_FALLBACK_MS);
        });
        try {
          const entry = await this.sidecar.request<ProfileEntry>(Methods.signIn, params, token);
          this.closePasteBox();
          this.signedIn.fire(entry);
          void vscode.window.showInformationMessage(`Signed in as profile "${entry.name}".`);
          void this.sidecar.refreshProfiles();
        } catch (e) {
          this.closePasteBox();
          if (isCancelled(e) && token.isCancellationRequested) {
            vscode.window.setStatusBarMessage('Alibaba Cloud: sign-in cancelled', 4000);
          } else {
            void showError(e, { method: Methods.signIn, profile: input.profile }, { retry: () => this.run(input) });
          }
        } finally {
          clearTimeout(fallback);
          onCancel.dispose();
          started.dispose();
          if (this.pending?.profile === input.profile) this.pending = undefined;
        }
      },
    );
  }

  /**
   * Asks VS Code to forward the callback port (a remote window) BEFORE the browser opens, and
   * decides whether the registered loopback redirect can reach the sidecar.
   */
  async reachability(redirectUri: string): Promise<Reachability> {
    const mode = signInMode(vscode.workspace.getConfiguration('aliyun').get('signIn.mode'));
    const remoteName = vscode.env.remoteName;
    let external: string | undefined;
    const origin = callbackOrigin(redirectUri);
    if (mode === 'auto' && remoteName !== undefined && origin) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), FORWARD_TIMEOUT_MS)));
        external = (await Promise.race([vscode.env.asExternalUri(vscode.Uri.parse(origin)), timeout]))?.toString(true);
      } catch (e) {
        this.sidecar.log.info(`Forwarding the callback port failed: ${(e as Error).message ?? String(e)}`);
      } finally {
        clearTimeout(timer);
      }
    }
    const verdict = callbackReachability(redirectUri, external, remoteName, mode);
    this.sidecar.log.info(`Sign-in callback: ${verdict.mode} (${verdict.reason})`);
    return verdict;
  }

  /** Decides direct or paste-back, opens the page, then keeps one prompt with the ways out. */
  private async openAndGuide(e: SignInStarted): Promise<void> {
    const { mode } = await this.reachability(e.redirectUri);
    if (this.pending?.url !== e.url) return; // finished or cancelled while forwarding
    const opened = await openInBrowser(e.url);
    if (mode === 'pasteBack') {
      // The callback cannot be reached from the browser: ask for the address it lands on at once.
      const instructions = pasteBackInstructions(e.redirectUri);
      const notice = opened
        ? `Sign in to Alibaba Cloud in your browser (profile "${e.profile}"). ${instructions}`
        : `No browser could be opened: copy the sign-in URL into a browser (profile "${e.profile}"). ${instructions}`;
      void this.pasteRedirectUrl(instructions);
      return this.guide(e, notice, instructions);
    }
    const notice = opened
      ? `Finish signing in to Alibaba Cloud in your browser (profile "${e.profile}"). Browser did not open? Copy the URL. Browser cannot reach VS Code afterwards (remote, WSL)? Paste the address it shows.`
      : `No browser could be opened. Copy the sign-in URL into a browser (profile "${e.profile}"), then come back here.`;
    return this.guide(e, notice);
  }

  /**
   * The non-modal notification with the buttons, shown again after a button until dismissed or the
   * sign-in ends. `pasteBack`: the instructions, which stay (the paste box is already open).
   */
  private async guide(e: SignInStarted, message: string, pasteBack?: string): Promise<void> {
    for (;;) {
      const choice = await vscode.window.showInformationMessage(message, COPY, PASTE, OPEN);
      if (this.pending?.url !== e.url) return; // finished meanwhile: the buttons would act on nothing
      if (choice === COPY) {
        await this.copyUrl();
        if (!pasteBack) message = `Sign-in URL copied. Paste it into a browser to sign in as "${e.profile}".`;
      } else if (choice === OPEN) {
        await openInBrowser(e.url);
      } else if (choice === PASTE) {
        if (!pasteBack) return this.pasteRedirectUrl();
        void this.pasteRedirectUrl(pasteBack);
      } else {
        return;
      }
    }
  }

  /** `aliyun.copySignInUrl`. Copying is always offered: opening may fail or open the wrong browser. */
  async copyUrl(): Promise<void> {
    if (!this.pending) {
      const choice = await vscode.window.showInformationMessage('No sign-in is waiting for the browser. Start one first.', 'Sign In');
      if (choice) await this.signIn();
      return;
    }
    await vscode.env.clipboard.writeText(this.pending.url);
    vscode.window.setStatusBarMessage('Alibaba Cloud: sign-in URL copied', 4000);
  }

  /**
   * `aliyun.pasteSignInUrl` and the paste-back mode: the redirect address → `aliyun/completeSignIn`.
   * A wrong or stale address (invalidParams) keeps the box open with the sidecar's sentence; the box
   * closes by itself when the sign-in ends.
   */
  pasteRedirectUrl(prompt?: string): Promise<void> {
    if (this.pasteBox) {
      if (prompt) this.pasteBox.prompt = prompt;
      this.pasteBox.show();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const box = vscode.window.createInputBox();
      this.pasteBox = box;
      box.title = 'Alibaba Cloud: paste the redirect URL';
      box.prompt = prompt ?? 'After "Authorize", copy the whole address from the browser (http://127.0.0.1:<port>/cli/callback?code=…&state=…)';
      box.placeholder = 'http://127.0.0.1:12345/cli/callback?code=…&state=…';
      box.ignoreFocusOut = true;
      box.onDidChangeValue((v) => (box.validationMessage = v.trim() ? validateRedirectUrl(v) : undefined));
      box.onDidAccept(async () => {
        const url = box.value.trim();
        if (!url || validateRedirectUrl(url) || box.busy) return;
        box.busy = true;
        box.enabled = false;
        try {
          await this.sidecar.request(Methods.completeSignIn, { url });
          box.hide();
          vscode.window.setStatusBarMessage('Alibaba Cloud: redirect URL accepted, finishing the sign-in…', 5000);
        } catch (e) {
          if (errorKind(e) !== 'invalidParams') {
            box.hide();
            void showError(e, { method: Methods.completeSignIn });
            return;
          }
          // Wrong, incomplete or stale: say why and let the user paste again.
          box.busy = false;
          box.enabled = true;
          box.validationMessage = describeError(e, { method: Methods.completeSignIn })?.message;
        }
      });
      box.onDidHide(() => {
        if (this.pasteBox === box) this.pasteBox = undefined;
        box.dispose();
        resolve();
      });
      box.show();
    });
  }

  private closePasteBox(): void {
    this.pasteBox?.hide();
  }

  dispose(): void {
    this.closePasteBox();
    this.signedIn.dispose();
  }
}

async function pick<T>(choices: Choice<T>[], title: string, placeHolder: string): Promise<T | undefined> {
  const picked = await vscode.window.showQuickPick(
    choices.map((c) => ({ label: c.label, description: c.description, detail: c.detail, value: c.value })),
    { title, placeHolder, ignoreFocusOut: true },
  );
  return picked?.value;
}

/** A region: the common ids, or any id typed in (a QuickPick whose rows follow the typed text). */
function pickRegion(previous: string | undefined, title: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    type Item = vscode.QuickPickItem & { value: string };
    const qp = vscode.window.createQuickPick<Item>();
    const rows = (typed: string): Item[] =>
      regionChoices(typed, previous).map((c) => ({ label: c.label, description: c.description, value: c.value, alwaysShow: c.description === 'use this region id' }));
    qp.title = title;
    qp.placeholder = 'Region id, e.g. cn-hangzhou (type any other id)';
    qp.ignoreFocusOut = true;
    qp.matchOnDescription = true;
    qp.items = rows('');
    let result: string | undefined;
    qp.onDidChangeValue((v) => (qp.items = rows(v)));
    qp.onDidAccept(() => {
      result = qp.selectedItems[0]?.value;
      qp.hide();
    });
    qp.onDidHide(() => {
      qp.dispose();
      resolve(result);
    });
    qp.show();
  });
}

export async function askSignInInput(
  list: ProfileList | undefined,
  sites: readonly SiteInfo[],
  preset?: string,
): Promise<SignInInput | undefined> {
  const profile = await vscode.window.showInputBox({
    title: 'Sign in to Alibaba Cloud (1/4): profile',
    prompt: 'Name of the profile in the Alibaba Cloud config file (~/.aliyun/config.json), shared with the CLI',
    value: preset ?? defaultProfileName(list),
    ignoreFocusOut: true,
    validateInput: (v) => {
      const error = validateProfileName(v);
      if (error) return error;
      const warning = profileNameWarning(v, list);
      return warning ? { message: warning, severity: vscode.InputBoxValidationSeverity.Warning } : undefined;
    },
  });
  if (profile === undefined) return undefined;
  const previous = list?.profiles.find((p) => p.name === profile);
  const site = await pick(
    siteChoices(sites, previous?.site),
    'Sign in to Alibaba Cloud (2/4): site',
    sitePrompt(sites),
  );
  if (!site) return undefined;
  const region = await pickRegion(previous?.region || undefined, 'Sign in to Alibaba Cloud (3/4): default region');
  if (region === undefined) return undefined;
  const language = await pick(languageChoices(previous?.language), 'Sign in to Alibaba Cloud (4/4): language', 'Language of the CLI messages');
  if (!language) return undefined;
  return { profile, site, region, language };
}

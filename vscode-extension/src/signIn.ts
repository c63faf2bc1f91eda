/**
 * The browser sign-in: ask (profile, site, region, language: one multi-step input with Back), run
 * `aliyun/signIn` in ONE cancellable progress notification, decide whether the browser can reach the
 * sidecar's loopback callback (remote windows: callbackModel.ts), open the page, and put the ways out
 * (Copy URL, Open again, Paste redirect URL…) in that notification as command links: a progress
 * notification has no buttons, but it is the one surface that VS Code closes when its task ends, so
 * nothing of a finished sign-in stays on screen (success, deny, cancel, timeout, error, restart).
 * The ending is said once afterwards (signedInMessage, or the error's sentence and log line).
 */

import * as vscode from 'vscode';
import { openInBrowser } from './browser';
import type { Sidecar } from './client';
import { callbackOrigin, callbackPort, callbackReachability, signInMode, type Reachability } from './model/callbackModel';
import { Methods, type ConfigError, type ProfileEntry, type ProfileList, type SignInParams, type SignInStarted, type SiteInfo } from './model/contract';
import { cancelLogLine, describeError, errorKind, failedEnding, type SignInFailure } from './model/errorModel';
import {
  defaultProfileName,
  inputFromEntry,
  languageChoices,
  profileNameWarning,
  regionChoices,
  signedInMessage,
  siteChoices,
  stepAfter,
  SIGN_IN_STEPS,
  suggestNewProfileName,
  validateProfileName,
  validateRedirectUrl,
  waitingMessage,
  type Choice,
  type SignInInput,
} from './model/signInModel';
import { showConfigProblem, showError, writeLog } from './errors';
import { SITE_PROMPT } from './model/sites';

/** After a cancel, how long to wait for the sidecar's `cancelled` answer before asking it directly. */
const CANCEL_FALLBACK_MS = 3000;
/** Port forwarding that does not answer in this time counts as failed (→ paste-back). */
const FORWARD_TIMEOUT_MS = 10_000;
/** How long the "Signed in" message waits for the identity before it speaks without it. */
const IDENTITY_WAIT_MS = 8000;
/** The "Signed in as …" message's button: the whole identity. */
const WHO_AM_I = 'Who Am I';

/** What the sign-in needs of the Sidecar (a narrow interface, so tests can pass a double). */
export type SidecarForSignIn = Pick<Sidecar, 'profiles' | 'sites' | 'onSignInStarted' | 'request' | 'refreshProfiles'> & {
  readonly log: Pick<vscode.LogOutputChannel, 'info'>;
  /** Set while the config file cannot be used: a sign-in is refused before any prompt. */
  readonly configProblem?: ConfigError | undefined;
};

/** Who a profile signs in as, in words ("RAM user dev in account …"); undefined when unknown. */
export type WhoIs = (profile: string) => Promise<string | undefined>;

/** The sign-in in progress: what its notification and the waiting commands act on. */
interface Waiting {
  profile: string;
  progress: vscode.Progress<{ message?: string }>;
  started?: SignInStarted;
}

type Ending = { kind: 'signedIn'; entry: ProfileEntry } | SignInFailure;

export class SignInFlow implements vscode.Disposable {
  /** The sign-in in progress, if any (for Copy URL, Open again and Paste redirect URL…). */
  private waiting: Waiting | undefined;
  /** The open paste box, closed when the sign-in ends (the callback may have been reached after all). */
  private pasteBox: vscode.InputBox | undefined;
  private readonly signedIn = new vscode.EventEmitter<ProfileEntry>();
  /** A sign-in through the extension finished (the profile is current now). */
  readonly onDidSignIn = this.signedIn.event;

  constructor(
    private readonly sidecar: SidecarForSignIn,
    private readonly whoIs: WhoIs = async () => undefined,
  ) {}

  /** `aliyun.signIn`: with a profile that exists, signs it in again with its own choices. */
  async signIn(arg?: { profile?: string } | string, options: { newProfile?: boolean } = {}): Promise<void> {
    if (this.refuseForConfig()) return;
    const list = this.sidecar.profiles;
    const name = typeof arg === 'string' ? arg : arg?.profile;
    const existing = name ? list?.profiles.find((p) => p.name === name && p.state !== 'notOAuth') : undefined;
    const input = existing ? inputFromEntry(existing) : await askSignInInput(list, this.sidecar.sites, name ?? (options.newProfile ? suggestNewProfileName(list) : undefined));
    if (input) await this.run(input);
  }

  /** Re-sign-in of a listed profile (picker row, re-auth prompt): no questions. */
  async signInAgain(entry: ProfileEntry): Promise<void> {
    if (this.refuseForConfig()) return;
    await this.run(inputFromEntry(entry));
  }

  /** A broken config file: say so at once (a sign-in could not be saved), before any prompt. */
  private refuseForConfig(): boolean {
    const problem = this.sidecar.configProblem;
    if (!problem) return false;
    void showConfigProblem(problem, { method: Methods.signIn });
    return true;
  }

  async run(input: SignInInput): Promise<void> {
    const params: SignInParams = { ...input, openBrowser: false };
    const ending = await vscode.window.withProgress<Ending>(
      { location: vscode.ProgressLocation.Notification, title: `Alibaba Cloud: signing in "${input.profile}"`, cancellable: true },
      async (progress, token) => {
        const waiting: Waiting = { profile: input.profile, progress };
        this.waiting = waiting;
        progress.report({ message: 'starting…' });
        const started = this.sidecar.onSignInStarted((e) => {
          if (e.profile !== input.profile || this.waiting !== waiting) return;
          waiting.started = e;
          void this.openAndGuide(waiting, e);
        });
        // $/cancelRequest is the contract's way; aliyun/cancelSignIn is the fallback should the
        // answer not come (the notification must never hang).
        let fallback: NodeJS.Timeout | undefined;
        const onCancel = token.onCancellationRequested(() => {
          fallback = setTimeout(() => void this.sidecar.request(Methods.cancelSignIn).catch(() => undefined), CANCEL_FALLBACK_MS);
        });
        try {
          return { kind: 'signedIn', entry: await this.sidecar.request<ProfileEntry>(Methods.signIn, params, token) };
        } catch (e) {
          return failedEnding(e, { userCancelled: token.isCancellationRequested, superseded: this.waiting !== waiting });
        } finally {
          clearTimeout(fallback);
          onCancel.dispose();
          started.dispose();
          if (this.waiting === waiting) this.waiting = undefined;
          this.closePasteBox();
        }
      },
    );
    // The notification has closed: say how it ended, once.
    await this.announce(ending, input);
  }

  private async announce(ending: Ending, input: SignInInput): Promise<void> {
    const ctx = { method: Methods.signIn, profile: input.profile };
    switch (ending.kind) {
      case 'superseded':
        this.sidecar.log.info(`Sign-in of "${input.profile}" ended: a newer sign-in took its place.`);
        return;
      case 'cancelled':
        writeLog(cancelLogLine(ctx));
        vscode.window.setStatusBarMessage('Alibaba Cloud: sign-in cancelled', 4000);
        return;
      case 'failed':
        void showError(ending.error, ctx, { retry: () => this.run(input) });
        return;
      case 'signedIn': {
        const entry = ending.entry;
        this.signedIn.fire(entry);
        void this.sidecar.refreshProfiles();
        let timer: NodeJS.Timeout | undefined;
        const who = await Promise.race([
          this.whoIs(entry.name).catch(() => undefined),
          new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), IDENTITY_WAIT_MS))),
        ]);
        clearTimeout(timer);
        const text = signedInMessage(entry.name, who);
        this.sidecar.log.info(text);
        if (!who) {
          void vscode.window.showInformationMessage(text);
          return;
        }
        // With a button the toast shows its whole text (a toast without one is cut to one line, which
        // cut the account id); the button gives the rest (ARN, ids). Not awaited: the toast may stay.
        void vscode.window.showInformationMessage(text, WHO_AM_I).then((choice) => {
          if (choice === WHO_AM_I) void vscode.commands.executeCommand('aliyun.whoAmI');
        });
        return;
      }
    }
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

  /** Decides direct or paste-back, opens the page, then says in the notification what to do. */
  private async openAndGuide(waiting: Waiting, e: SignInStarted): Promise<void> {
    const { mode } = await this.reachability(e.redirectUri);
    if (this.waiting !== waiting) return; // finished or cancelled while forwarding
    const opened = await openInBrowser(e.url);
    if (this.waiting !== waiting) return;
    waiting.progress.report({ message: waitingMessage({ mode, opened, port: callbackPort(e.redirectUri) }) });
  }

  /** The waiting sign-in's URL, or undefined after saying that none is waiting. */
  private async waitingUrl(): Promise<SignInStarted | undefined> {
    const started = this.waiting?.started;
    if (started) return started;
    const choice = await vscode.window.showInformationMessage('No sign-in is waiting for the browser. Start one first.', 'Sign In');
    if (choice) await this.signIn();
    return undefined;
  }

  /** `aliyun.copySignInUrl`. Copying is always offered: opening may fail or open the wrong browser. */
  async copyUrl(): Promise<void> {
    const started = await this.waitingUrl();
    if (!started) return;
    await vscode.env.clipboard.writeText(started.url);
    vscode.window.setStatusBarMessage('Alibaba Cloud: sign-in URL copied', 4000);
  }

  /** "Open again" of the waiting notification. */
  async openAgain(): Promise<void> {
    const started = await this.waitingUrl();
    if (started) await openInBrowser(started.url);
  }

  /**
   * `aliyun.pasteSignInUrl` (the notification's link): the redirect address → `aliyun/completeSignIn`.
   * A wrong or stale address (invalidParams) keeps the box open with the sidecar's sentence; the box
   * closes by itself when the sign-in ends. With no sign-in waiting it says so instead of opening.
   */
  async pasteRedirectUrl(): Promise<void> {
    const waiting = this.waiting;
    if (!waiting?.started) {
      const choice = await vscode.window.showInformationMessage(
        'No sign-in is waiting for a redirect URL. Start "Alibaba Cloud: Sign In" first; paste the address the browser shows after Authorize.',
        'Sign In',
      );
      if (choice) await this.signIn();
      return;
    }
    if (this.pasteBox) {
      this.pasteBox.show();
      return;
    }
    return new Promise((resolve) => {
      const box = vscode.window.createInputBox();
      this.pasteBox = box;
      box.title = 'Alibaba Cloud: paste the redirect URL';
      const port = callbackPort(waiting.started!.redirectUri);
      box.prompt = 'After "Authorize", copy the whole address from the browser\'s address bar and paste it here';
      box.placeholder = `http://127.0.0.1:${port}/cli/callback?code=…&state=…`;
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
          // The one notification says it (and closes when the sign-in ends), not the status bar.
          if (this.waiting === waiting) waiting.progress.report({ message: 'redirect URL accepted, finishing the sign-in…' });
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

const STEP_TITLES: Record<(typeof SIGN_IN_STEPS)[number], string> = { profile: 'profile', site: 'site', region: 'default region', language: 'language' };

type StepAnswer<T> = { answer: 'next'; value: T } | { answer: 'back' | 'cancel' };

/** Shows one QuickInput step (Back button from the second step on) and resolves with the answer. */
function runStep<T>(input: vscode.QuickInput, index: number, wire: (finish: (a: StepAnswer<T>) => void) => void): Promise<StepAnswer<T>> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: StepAnswer<T>): void => {
      if (done) return;
      done = true;
      resolve(a);
      input.hide();
    };
    input.title = `Sign in to Alibaba Cloud: ${STEP_TITLES[SIGN_IN_STEPS[index]!]}`;
    input.step = index + 1;
    input.totalSteps = SIGN_IN_STEPS.length;
    input.ignoreFocusOut = true;
    wire(finish);
    const withButtons = input as vscode.QuickInput & { buttons: readonly vscode.QuickInputButton[]; onDidTriggerButton: vscode.Event<vscode.QuickInputButton> };
    withButtons.buttons = index > 0 ? [vscode.QuickInputButtons.Back] : [];
    withButtons.onDidTriggerButton((b) => {
      if (b === vscode.QuickInputButtons.Back) finish({ answer: 'back' });
    });
    input.onDidHide(() => {
      finish({ answer: 'cancel' });
      input.dispose();
    });
    input.show();
  });
}

function askProfile(list: ProfileList | undefined, value: string, index: number): Promise<StepAnswer<string>> {
  const box = vscode.window.createInputBox();
  box.placeholder = 'Profile name';
  const configPath = list?.configPath || '~/.aliyun/config.json';
  box.prompt = `Name of the profile in the Alibaba Cloud config file (${configPath}), shared with the CLI`;
  box.value = value;
  const check = (v: string): string | vscode.InputBoxValidationMessage | undefined => {
    const error = validateProfileName(v);
    if (error) return { message: error, severity: vscode.InputBoxValidationSeverity.Error };
    const warning = profileNameWarning(v, list);
    return warning ? { message: warning, severity: vscode.InputBoxValidationSeverity.Warning } : undefined;
  };
  return runStep<string>(box, index, (finish) => {
    box.validationMessage = check(value);
    box.onDidChangeValue((v) => (box.validationMessage = check(v)));
    box.onDidAccept(() => {
      if (!validateProfileName(box.value)) finish({ answer: 'next', value: box.value });
    });
  });
}

function askChoice<T>(choices: Choice<T>[], placeholder: string, index: number): Promise<StepAnswer<T>> {
  type Item = vscode.QuickPickItem & { value: T };
  const qp = vscode.window.createQuickPick<Item>();
  qp.placeholder = placeholder;
  qp.items = choices.map((c) => ({ label: c.label, description: c.description, detail: c.detail, value: c.value }));
  return runStep<T>(qp, index, (finish) => {
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0];
      if (item) finish({ answer: 'next', value: item.value });
    });
  });
}

/** A region: the common ids, or any id typed in (a QuickPick whose rows follow the typed text). */
function askRegion(previous: string | undefined, index: number): Promise<StepAnswer<string>> {
  type Item = vscode.QuickPickItem & { value: string };
  const qp = vscode.window.createQuickPick<Item>();
  const rows = (typed: string): Item[] =>
    regionChoices(typed, previous).map((c) => ({ label: c.label, description: c.description, value: c.value, alwaysShow: c.description === 'use this region id' }));
  qp.placeholder = 'Default region id, e.g. cn-hangzhou (type any other id)';
  qp.matchOnDescription = true;
  qp.items = rows('');
  return runStep<string>(qp, index, (finish) => {
    qp.onDidChangeValue((v) => (qp.items = rows(v)));
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0];
      if (item) finish({ answer: 'next', value: item.value });
    });
  });
}

/** The four prompts as one multi-step input: Back returns to the previous step with its answer kept. */
async function askSignInInput(
  list: ProfileList | undefined,
  sites: readonly SiteInfo[],
  preset?: string,
): Promise<SignInInput | undefined> {
  const answers: { profile: string; site?: SignInInput['site']; region?: string; language?: SignInInput['language'] } = {
    profile: preset ?? defaultProfileName(list),
  };
  let index = 0;
  for (;;) {
    const previous = list?.profiles.find((p) => p.name === answers.profile);
    let result: StepAnswer<unknown>;
    switch (SIGN_IN_STEPS[index]) {
      case 'profile':
        result = await askProfile(list, answers.profile, index);
        if (result.answer === 'next') answers.profile = result.value as string;
        break;
      case 'site':
        result = await askChoice(siteChoices(sites, answers.site ?? previous?.site), SITE_PROMPT, index);
        if (result.answer === 'next') answers.site = result.value as SignInInput['site'];
        break;
      case 'region':
        result = await askRegion(answers.region ?? (previous?.region || undefined), index);
        if (result.answer === 'next') answers.region = result.value as string;
        break;
      default:
        result = await askChoice(languageChoices(answers.language ?? previous?.language), 'Language of the CLI messages', index);
        if (result.answer === 'next') answers.language = result.value as SignInInput['language'];
    }
    const next = stepAfter(index, result.answer);
    if (next === 'cancel') return undefined;
    if (next === 'done') return { profile: answers.profile, site: answers.site!, region: answers.region ?? '', language: answers.language! };
    index = next;
  }
}

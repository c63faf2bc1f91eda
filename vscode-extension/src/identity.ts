/**
 * Who each profile signs in as (`aliyun/whoAmI`), remembered per profile for the status bar tooltip
 * and the picker. Only the current profile is looked up by itself (after a sign-in, a switch, a
 * start; debounced); "Alibaba Cloud: Who Am I" asks again. A sidecar without the method
 * (-32601) leaves every identity "unknown" and is never asked again until it restarts. Automatic
 * lookups never show an error: they only log one line.
 */

import * as vscode from 'vscode';
import { Methods, type CredentialsChanged, type Identity, type ProfileEntry, type ProfileList } from './model/contract';
import { describeIdentity, identityState, isMethodNotFound, shouldLookUp, type CachedIdentity, type IdentityState } from './model/identityModel';
import { describeError } from './model/errorModel';
import { currentEntry } from './model/statusModel';
import { nowSeconds } from './model/time';

/** profilesChanged comes in bursts (a sign-in writes the file more than once). */
const DEBOUNCE_MS = 300;

export interface SidecarForIdentity {
  readonly profiles: ProfileList | undefined;
  readonly onDidChange: vscode.Event<void>;
  readonly onDidStart: vscode.Event<void>;
  readonly onDidChangeCredentials: vscode.Event<CredentialsChanged>;
  request<R>(method: string, params?: object): Promise<R>;
}

export type LookupResult = { kind: 'known'; identity: Identity } | { kind: 'unsupported' } | { kind: 'failed'; error: unknown };

export class IdentityStore implements vscode.Disposable {
  private readonly cache = new Map<string, CachedIdentity>();
  private readonly inflight = new Map<string, Promise<LookupResult>>();
  /** Bumped whenever a profile's cache entry is forgotten: an answer to an older ask is dropped. */
  private readonly epochs = new Map<string, number>();
  private unsupported = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly sidecar: SidecarForIdentity,
    private readonly log: (message: string) => void = () => undefined,
    private readonly debounceMs = DEBOUNCE_MS,
    /** A failed lookup's one line (its cause and next step; the Who Am I command shows no second one). */
    private readonly warn: (message: string) => void = log,
  ) {
    this.subscriptions = [
      sidecar.onDidStart(() => {
        // A new process may read another config file, and may know the method now.
        for (const name of new Set([...this.cache.keys(), ...this.inflight.keys()])) this.forget(name);
        this.unsupported = false;
        this.changed.fire();
        this.schedule();
      }),
      sidecar.onDidChange(() => {
        this.forgetMissing();
        this.schedule();
      }),
      sidecar.onDidChangeCredentials((e) => {
        // The session ended: the next sign-in may be someone else's.
        if (e.kind === 'signInRequired') this.forget(e.profile);
        else if (e.profile === sidecar.profiles?.current) this.schedule();
      }),
    ];
  }

  /** What the status bar and the picker show for a profile. */
  stateOf(entry: ProfileEntry): IdentityState {
    return identityState(entry, this.cache.get(entry.name), this.unsupported);
  }

  /** A sign-in through the extension finished: that profile may now be someone else. */
  signedIn(profile: string): void {
    this.forget(profile);
    this.schedule();
  }

  /** Who `profile` signs in as, in words ("RAM user dev in account …"); undefined when unknown. */
  async whoIs(profile: string): Promise<string | undefined> {
    const r = await this.lookUp(profile);
    return r.kind === 'known' ? describeIdentity(r.identity) : undefined;
  }

  /** Asks the sidecar now (the Who Am I command), whatever is cached. */
  lookUp(profile: string): Promise<LookupResult> {
    const running = this.inflight.get(profile);
    if (running) return running;
    const epoch = this.epochs.get(profile) ?? 0;
    const ask = this.ask(profile, epoch).finally(() => this.inflight.delete(profile));
    this.inflight.set(profile, ask);
    return ask;
  }

  private async ask(profile: string, epoch: number): Promise<LookupResult> {
    let result: LookupResult;
    try {
      result = { kind: 'known', identity: await this.sidecar.request<Identity>(Methods.whoAmI, { profile }) };
    } catch (e) {
      result = isMethodNotFound(e) ? { kind: 'unsupported' } : { kind: 'failed', error: e };
    }
    if ((this.epochs.get(profile) ?? 0) !== epoch) return result; // forgotten meanwhile: stale
    if (result.kind === 'known') this.cache.set(profile, result);
    else if (result.kind === 'unsupported') {
      if (!this.unsupported) this.log('The sidecar does not answer aliyun/whoAmI: identities are not shown.');
      this.unsupported = true;
    } else {
      const line = describeError(result.error, { method: Methods.whoAmI, profile })?.log.text;
      this.warn(line ?? `Who Am I of "${profile}" failed: ${(result.error as { message?: string })?.message ?? String(result.error)}.`);
      this.cache.set(profile, { kind: 'failed', at: nowSeconds() });
    }
    this.changed.fire();
    return result;
  }

  /** Debounced: look up the current profile if it is not known yet. */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const entry = currentEntry(this.sidecar.profiles);
      if (entry && !this.inflight.has(entry.name) && shouldLookUp(entry, this.cache.get(entry.name), this.unsupported, nowSeconds())) {
        void this.lookUp(entry.name);
      }
    }, this.debounceMs);
  }

  private forget(profile: string): void {
    this.epochs.set(profile, (this.epochs.get(profile) ?? 0) + 1);
    this.inflight.delete(profile);
    if (this.cache.delete(profile)) this.changed.fire();
  }

  /** Deleted profiles lose their identity (a new profile of that name may be someone else). */
  private forgetMissing(): void {
    const list = this.sidecar.profiles;
    if (!list) return;
    const names = new Set(list.profiles.map((p) => p.name));
    for (const name of [...this.cache.keys()]) if (!names.has(name)) this.forget(name);
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}

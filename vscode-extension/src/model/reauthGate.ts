/**
 * "Sign in again?" is asked once per valid→signInRequired transition of a profile, and never while
 * another such prompt is open (stacked re-login prompts are a top complaint about cloud toolkits).
 */

/** The prompt's sentence (its one button is "Sign In"). */
export function sessionEndedMessage(profile: string): string {
  return `Your Alibaba Cloud session for profile "${profile}" has ended. Sign in again to keep its credentials fresh.`;
}

export class ReauthGate {
  /** Profiles we already prompted about; cleared when the profile is usable again. */
  private readonly prompted = new Set<string>();
  private open = false;

  /** A `credentialsChanged {kind: "signInRequired"}` arrived: may we prompt? (Marks it prompted.) */
  shouldPrompt(profile: string): boolean {
    if (this.open || this.prompted.has(profile)) return false;
    this.prompted.add(profile);
    this.open = true;
    return true;
  }

  /** The prompt was answered or dismissed. */
  closed(): void {
    this.open = false;
  }

  /** The profile is usable again (refreshed, signed in, or deleted): a later loss may prompt again. */
  reset(profile: string): void {
    this.prompted.delete(profile);
  }

  /** Follow a ProfileList: a profile whose state is no longer signInRequired is re-armed. */
  observe(profiles: ReadonlyArray<{ name: string; state: string }>): void {
    const stillDead = new Set(profiles.filter((p) => p.state === 'signInRequired').map((p) => p.name));
    for (const name of [...this.prompted]) if (!stillDead.has(name)) this.prompted.delete(name);
  }
}

/**
 * Writes the `aliyun-sidecar` launcher (model/launcher.ts) into the extension's global storage each
 * time the sidecar starts, and names its folder for the integrated terminal's PATH.
 *
 * The folder is first on terminals' PATH, so whoever can write in it runs code as the user: it is
 * created 0700 (whatever the umask); an existing one is used only when it is ours, and one of ours that
 * others can write in is made private and emptied first. The launcher is written to a temp file created exclusively and without
 * following a symlink (a planted link cannot redirect the write or the chmod), then renamed.
 */

import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { launcherFiles, launcherTarget, processCommand, type CmdVariables } from './model/launcher';
import type { SidecarLaunch } from './model/interpreter';

/** What this module needs of the Sidecar. */
export interface SidecarForLauncher {
  readonly launch: SidecarLaunch | undefined;
  readonly onDidStart: vscode.Event<void>;
}

/** Why a launcher folder is not safe to write into and put on PATH, or undefined when it is. */
export function unsafeFolder(st: { uid: number; mode: number; isDirectory(): boolean }, uid: number | undefined): string | undefined {
  if (!st.isDirectory()) return 'it is not a folder';
  if (uid !== undefined && st.uid !== uid) return `it belongs to another user (uid ${st.uid})`;
  if (uid !== undefined && st.mode & 0o022) return `others can write in it (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/**
 * Creates `dir` 0700 (mkdir's mode is cut by the umask, hence the chmod of what we created).
 *
 * A folder of ours that others can write in (an older version created it under the umask, 0775 with
 * umask 002) is made private and emptied rather than refused: whatever is in it may have been planted
 * while it was open, and it is first on terminals' PATH; the launcher is written anew right after.
 * Returns a note for the log when it did so. A folder of another user, or one it cannot empty, is
 * refused.
 */
async function privateFolder(dir: string, uid: number | undefined): Promise<string | undefined> {
  const created = await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined && uid !== undefined) await fs.chmod(dir, 0o700);
  let st = await fs.lstat(dir);
  let note: string | undefined;
  if (uid !== undefined && st.isDirectory() && st.uid === uid && st.mode & 0o022) {
    await fs.chmod(dir, 0o700);
    const entries = await fs.readdir(dir);
    // rm does not follow symlinks: a planted link is removed, never its target.
    for (const name of entries) await fs.rm(path.join(dir, name), { recursive: true, force: true });
    note = `others could write in ${dir} (mode ${(st.mode & 0o777).toString(8)}): made it private (0700) and removed the ${entries.length} entries it held`;
    st = await fs.lstat(dir);
  }
  const why = unsafeFolder(st, uid);
  if (why) throw new Error(`refusing to use it: ${why}; delete the folder and restart the helper to have it created private`);
  return note;
}

/** `wx` plus O_NOFOLLOW where the OS has it (not on Windows, where symlinks need privileges). */
const EXCLUSIVE_NOFOLLOW = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0);

export class Launcher implements vscode.Disposable {
  private written: string | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    /** `<global storage>/bin`. */
    readonly binDir: string,
    private readonly sidecar: SidecarForLauncher,
    private readonly log: (message: string) => void,
    private readonly platform: NodeJS.Platform = process.platform,
    /** Called after the launcher was (re)written. */
    private readonly onWritten: () => void = () => undefined,
    /** The user's id (the folder's owner must be it); undefined on Windows. */
    private readonly uid: number | undefined = process.getuid?.(),
    /** `%LOCALAPPDATA%`... for the `.cmd`'s ASCII paths (model/launcher.ts cmdWord). */
    private readonly cmdVars: CmdVariables = process.env,
  ) {
    this.subscription = sidecar.onDidStart(() => void this.write());
  }

  /** The folder to put on PATH once the launcher exists there. */
  get pathEntry(): string | undefined {
    return this.written;
  }

  async write(): Promise<void> {
    const launch = this.sidecar.launch;
    if (!launch) return;
    try {
      const note = await privateFolder(this.binDir, this.uid);
      if (note) this.log(`The launcher folder was not private: ${note}.`);
      const files = launcherFiles(launcherTarget(launch), this.platform, this.cmdVars);
      for (const file of files) {
        const target = path.join(this.binDir, file.name);
        // Write then rename: a terminal running the launcher never reads half a script.
        const tmp = `${target}.${process.pid}.tmp`;
        await fs.rm(tmp, { force: true }); // our own leftover (a symlink is removed, not followed)
        const handle = await fs.open(tmp, EXCLUSIVE_NOFOLLOW, file.mode);
        try {
          await handle.writeFile(file.text);
          await handle.chmod(file.mode);
        } finally {
          await handle.close();
        }
        await fs.rename(tmp, target);
      }
      if (this.written !== this.binDir) {
        const main = path.join(this.binDir, files[0]!.name);
        this.log(`Launcher for terminals and process_command: ${main}`);
        this.log(`An External profile's "process_command" (JSON): ${JSON.stringify(processCommand(main, this.platform))}`);
      }
      this.written = this.binDir;
      this.onWritten();
    } catch (e) {
      this.log(`Could not write the aliyun-sidecar launcher into ${this.binDir}: ${(e as Error).message ?? String(e)}`);
      // A folder that is no longer safe leaves terminals' PATH.
      if (this.written !== undefined) {
        this.written = undefined;
        this.onWritten();
      }
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}

/**
 * Writes the `aliyun-sidecar` launcher (model/launcher.ts) into the extension's global storage each
 * time the sidecar starts, and names its folder for the integrated terminal's PATH.
 */

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { launcherFiles, launcherTarget } from './model/launcher';
import type { SidecarLaunch } from './model/interpreter';

/** What this module needs of the Sidecar. */
export interface SidecarForLauncher {
  readonly launch: SidecarLaunch | undefined;
  readonly onDidStart: vscode.Event<void>;
}

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
      await fs.mkdir(this.binDir, { recursive: true });
      const files = launcherFiles(launcherTarget(launch), this.platform);
      for (const file of files) {
        const target = path.join(this.binDir, file.name);
        // Write then rename: a terminal running the launcher never reads half a script.
        const tmp = `${target}.${process.pid}.tmp`;
        await fs.writeFile(tmp, file.text, { mode: file.mode });
        await fs.chmod(tmp, file.mode);
        await fs.rename(tmp, target);
      }
      if (this.written !== this.binDir) this.log(`Launcher for terminals and process_command: ${path.join(this.binDir, files[0]!.name)}`);
      this.written = this.binDir;
      this.onWritten();
    } catch (e) {
      this.log(`Could not write the aliyun-sidecar launcher into ${this.binDir}: ${(e as Error).message ?? String(e)}`);
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}

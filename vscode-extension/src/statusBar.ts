/** The one status bar item: copies statusModel's view onto a StatusBarItem. */

import * as vscode from 'vscode';
import type { Sidecar } from './client';
import type { IdentityStore } from './identity';
import { statusView, type StatusView } from './model/statusModel';
import { nowSeconds } from './model/time';

/** Re-render this often even without news, so "expires soon" and "N min left" stay true. */
const TICK_MS = 30_000;

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('aliyun.status', vscode.StatusBarAlignment.Left, 0);
  private readonly subscriptions: vscode.Disposable[];
  private readonly timer: NodeJS.Timeout;
  /** The last view, for tests and for the re-auth logic. */
  view: StatusView | undefined;

  constructor(
    private readonly sidecar: Sidecar,
    private readonly identities: IdentityStore,
  ) {
    this.item.name = 'Alibaba Cloud';
    this.subscriptions = [sidecar.onDidChange(() => this.render()), identities.onDidChange(() => this.render())];
    this.timer = setInterval(() => this.render(), TICK_MS);
    this.render();
    this.item.show();
  }

  render(): void {
    const v = statusView(
      this.sidecar.status,
      this.sidecar.profiles,
      nowSeconds(),
      undefined,
      (e) => this.identities.stateOf(e),
      this.sidecar.sites,
      this.sidecar.configProblem,
    );
    this.view = v;
    this.item.text = v.text;
    const tooltip = new vscode.MarkdownString(v.tooltip, true);
    this.item.tooltip = tooltip;
    this.item.backgroundColor = v.background ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.command = v.command;
    this.item.accessibilityInformation = { label: v.text.replace(/\$\([^)]*\)\s*/g, '') };
  }

  dispose(): void {
    clearInterval(this.timer);
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }
}

/**
 * The extension's commands (ids `aliyun.*`, category "Alibaba Cloud" in package.json), one module per
 * group under commands/, registered in this order.
 */

import type * as vscode from 'vscode';
import type { Sidecar } from './client';
import { credentialCommands } from './commands/credentials';
import { profileCommands } from './commands/profiles';
import { sidecarCommands } from './commands/sidecar';
import { signInUrlCommands } from './commands/signInUrl';
import type { IdentityStore } from './identity';
import type { SignInFlow } from './signIn';

export function registerCommands(sidecar: Sidecar, signIn: SignInFlow, identities: IdentityStore): vscode.Disposable[] {
  return [
    ...profileCommands(sidecar, signIn, identities),
    ...credentialCommands(sidecar, signIn, identities),
    ...signInUrlCommands(signIn),
    ...sidecarCommands(sidecar),
  ];
}

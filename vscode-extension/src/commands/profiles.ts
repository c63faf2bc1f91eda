/** Profile commands: sign in, switch, delete. */

import type * as vscode from 'vscode';
import type { Sidecar } from '../client';
import type { IdentityStore } from '../identity';
import { deleteProfile, showProfilePicker, switchTo } from '../profilePicker';
import type { SignInFlow } from '../signIn';
import { profileArg, register } from './register';

export function profileCommands(sidecar: Sidecar, signIn: SignInFlow, identities: IdentityStore): vscode.Disposable[] {
  return [
    register('aliyun.signIn', (arg) => signIn.signIn(profileArg(arg))),
    register('aliyun.switchProfile', (arg) => {
      const name = profileArg(arg);
      return name ? switchTo(sidecar, name) : showProfilePicker(sidecar, signIn, identities);
    }),
    register('aliyun.deleteProfile', (arg) => deleteProfile(sidecar, profileArg(arg))),
  ];
}

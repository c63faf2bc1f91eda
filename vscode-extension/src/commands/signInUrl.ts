/** The waiting sign-in's address: copy it, open it again, paste the redirect back. */

import type * as vscode from 'vscode';
import type { SignInFlow } from '../signIn';
import { register } from './register';

export function signInUrlCommands(signIn: SignInFlow): vscode.Disposable[] {
  return [
    register('aliyun.copySignInUrl', () => signIn.copyUrl()),
    register('aliyun.pasteSignInUrl', () => signIn.pasteRedirectUrl()),
    // Not in the palette: the waiting notification's "Open again" link.
    register('aliyun.openSignInUrl', () => signIn.openAgain()),
  ];
}

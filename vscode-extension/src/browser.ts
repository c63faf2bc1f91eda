/**
 * Opening the sign-in page. The extension opens it itself (signIn is sent with `openBrowser: false`)
 * rather than letting the sidecar ask through window/showDocument, because vscode-languageclient
 * answers that with `Uri.parse(url)` + `env.openExternal`, which re-serialises the URL, and because
 * here we learn whether a browser opened and can offer Copy / Paste at once.
 */

import * as vscode from 'vscode';
import { survivesUriRoundTrip } from './model/signInModel';

export async function openInBrowser(url: string): Promise<boolean> {
  try {
    if (survivesUriRoundTrip(url)) {
      // Strict parse: a URL without a scheme is an error, not a file path.
      return await vscode.env.openExternal(vscode.Uri.parse(url, true));
    }
    // An encoded + & = # in a query value would change meaning through a Uri. VS Code opens a string
    // argument verbatim (its main thread keeps "a string with no transformation" as is); the API is
    // typed for Uri only, hence the cast. The sidecar keeps its values URL-safe, so this is a guard.
    return await vscode.env.openExternal(url as unknown as vscode.Uri);
  } catch {
    return false;
  }
}

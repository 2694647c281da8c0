/**
 * The panel's HTML page and its Content-Security-Policy.
 *
 * No `vscode` import: the caller passes the webview's `cspSource` and the script/style URIs (from
 * `webview.asWebviewUri`), so the unit tests check the page in plain Node.
 *
 * The policy allows only what the Svelte app and onnxruntime-web need, all from the extension's own
 * files (`cspSource` stands for them; nothing from http(s) hosts):
 *
 *   default-src 'none'                              nothing unless listed below
 *   script-src  'nonce-N' 'wasm-unsafe-eval'        our one module script (its static and dynamic
 *                                                   imports inherit the nonce: ort's .mjs loads that
 *                                                   way), and compiling onnxruntime's WebAssembly
 *   style-src   ${cspSource} 'unsafe-inline'        dist/webview.css; 'unsafe-inline' because Svelte
 *                                                   templates may write style="..." attributes
 *   connect-src ${cspSource}                        fetch() of the weights, config and ort's .wasm
 *   img-src     ${cspSource} data:                  icons; data: for canvas snapshots
 *   font-src    ${cspSource}                        the codicon font, should the panel use it
 *
 * A fresh nonce per page (`createNonce`, 16 random bytes) is put on every <script>.
 */

import { randomBytes } from "node:crypto";

export interface WebviewPageOptions {
  /** `webview.cspSource`: the origin the webview loads the extension's files from. */
  cspSource: string;
  /** From `createNonce()`; goes into the policy and onto every script tag. */
  nonce: string;
  /** Webview URI of dist/webview.js (an ES module). */
  scriptUri: string;
  /** Webview URI of dist/webview.css, when the build wrote one. */
  styleUri?: string;
  /** The document title. */
  title: string;
}

/** A base64 nonce from 16 random bytes (128 bits), new for every page. */
export function createNonce(): string {
  return randomBytes(16).toString("base64");
}

/** The Content-Security-Policy of the page, as one line (see the top of this file). */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' 'wasm-unsafe-eval'`,
    `style-src ${cspSource} 'unsafe-inline'`,
    `connect-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join("; ");
}

/** Escapes text for an element or a double-quoted attribute value ("'" stays, so the policy reads as written). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * The page: the policy, the stylesheet, an element the app mounts into (`#app`, with a line that
 * shows until the app replaces it) and the module script.
 */
export function buildWebviewHtml(options: WebviewPageOptions): string {
  const { cspSource, nonce, scriptUri, styleUri, title } = options;
  const style = styleUri ? `\n    <link rel="stylesheet" href="${escapeHtml(styleUri)}">` : "";
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(cspSource, nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <title>${escapeHtml(title)}</title>${style}
  </head>
  <body>
    <div id="app"><p class="attention-lens-loading">Loading Attention Lens…</p></div>
    <script type="module" nonce="${escapeHtml(nonce)}" src="${escapeHtml(scriptUri)}"></script>
  </body>
</html>
`;
}

import assert from "node:assert/strict";

import { buildWebviewHtml, contentSecurityPolicy, createNonce, escapeHtml } from "../../src/extension/webview-html";

const CSP_SOURCE = "https://file+.vscode-resource.vscode-cdn.net";
const SCRIPT = "https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js";
const STYLE = "https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.css";

/** The policy's directives by name: "script-src" -> ["'nonce-…'", "'wasm-unsafe-eval'"]. */
function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(";")
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0] !== "")
      .map(([name, ...values]) => [name, values]),
  );
}

function policyOf(html: string): string {
  const match = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(match, "the page has a CSP meta tag");
  return match[1].replace(/&#38;/g, "&");
}

describe("extension: the webview page and its Content-Security-Policy", () => {
  it("makes a new 128-bit base64 nonce every time", () => {
    const nonces = new Set(Array.from({ length: 50 }, () => createNonce()));
    assert.equal(nonces.size, 50);
    for (const nonce of nonces) {
      assert.match(nonce, /^[A-Za-z0-9+/]{22}==$/);
      assert.equal(Buffer.from(nonce, "base64").length, 16);
    }
  });

  it("allows only the extension's files, the nonce'd script and wasm compilation", () => {
    const nonce = createNonce();
    const policy = directives(contentSecurityPolicy(CSP_SOURCE, nonce));
    assert.deepEqual(policy.get("default-src"), ["'none'"]);
    assert.deepEqual(policy.get("script-src"), [`'nonce-${nonce}'`, "'wasm-unsafe-eval'"]);
    assert.deepEqual(policy.get("style-src"), [CSP_SOURCE, "'unsafe-inline'"]);
    assert.deepEqual(policy.get("connect-src"), [CSP_SOURCE]);
    assert.deepEqual(policy.get("img-src"), [CSP_SOURCE, "data:"]);
    assert.deepEqual(policy.get("font-src"), [CSP_SOURCE]);
    const everything = [...policy.values()].flat();
    assert.ok(!everything.includes("'unsafe-eval'"), "no eval");
    assert.ok(!everything.some((source) => /^https?:/.test(source) && source !== CSP_SOURCE), "no http(s) host but the webview's own");
    assert.ok(!everything.includes("*"), "no wildcard source");
  });

  it("puts the nonce on every script, loads the module and the stylesheet, and nothing from http(s) hosts", () => {
    const nonce = createNonce();
    const html = buildWebviewHtml({ cspSource: CSP_SOURCE, nonce, scriptUri: SCRIPT, styleUri: STYLE, title: "Attention Lens" });
    assert.deepEqual(directives(policyOf(html)), directives(contentSecurityPolicy(CSP_SOURCE, nonce)));

    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]);
    assert.equal(scripts.length, 1);
    for (const script of scripts) assert.ok(script.includes(`nonce="${nonce}"`), script);
    assert.ok(scripts[0].includes('type="module"'));
    assert.ok(scripts[0].includes(`src="${SCRIPT}"`));
    assert.ok(html.includes(`<link rel="stylesheet" href="${STYLE}">`));
    assert.ok(html.includes('<div id="app">'), "the element the app mounts into");

    const urls = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((match) => match[1]);
    for (const url of urls) assert.ok(url.startsWith(CSP_SOURCE), `${url} comes from the extension`);
    assert.ok(!/<script\b(?![^>]*\bsrc=)[^>]*>[^<]+<\/script>/.test(html), "no inline script");
  });

  it("leaves the stylesheet out when there is none, and escapes what it puts in attributes", () => {
    const html = buildWebviewHtml({ cspSource: CSP_SOURCE, nonce: "abc", scriptUri: `${SCRIPT}?a=1&b="2"`, title: "<A & B>" });
    assert.ok(!html.includes("<link"));
    assert.ok(html.includes(`src="${SCRIPT}?a=1&#38;b=&#34;2&#34;"`));
    assert.ok(html.includes("<title>&#60;A &#38; B&#62;</title>"));
    assert.equal(escapeHtml(`'x'`), `'x'`);
  });
});

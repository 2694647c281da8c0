/**
 * The built webview (dist/webview.js, dist/webview.css, dist/ort/) in a real browser, as VS Code
 * would show it, for test/unit/webview-page.test.ts.
 *
 * `startWebviewHarness`:
 *
 *   1. builds the webview with scripts/build.mjs (`buildWebview`) into a temporary folder, so the
 *      test runs exactly what the build script makes, onnxruntime-web files included;
 *   2. serves, on 127.0.0.1 with node:http:
 *        /                      a page with the extension's Content-Security-Policy
 *                               (src/extension/webview-html.ts), the theme's --vscode-* variables on
 *                               <html>, a stand-in for acquireVsCodeApi and the module script
 *        /dist/...              the build's files (webview.js, webview.css, ort/*)
 *        /models/<id>/<file>    media/models/<id>/ (config.json, model.safetensors)
 *        anything else          bytes the test registers with `serveBytes` (a corrupt model)
 *      and remembers every path asked for;
 *   3. opens the page in headless Debian Chromium (the flags of ../harness.ts): the GPU off, or
 *      WebGPU on SwiftShader.
 *
 * The page is not cross-origin isolated, like a webview, so onnxruntime-web runs single-threaded.
 */

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { chromium, type BrowserContext, type Page } from "playwright-core";

import { contentSecurityPolicy } from "../../../src/extension/webview-html";
import type { HostToWebviewMessage, WebviewToHostMessage } from "../../../src/protocol";
import { CHROMIUM_PATH, chromiumFlags, chromiumIsInstalled } from "../harness";
import { startStaticServer } from "../static-server";
import { themeStyle, type ThemeName } from "./themes";
import type { VsCodeStub } from "./vscode-api-stub";

export { CHROMIUM_PATH, chromiumIsInstalled };

const REPOSITORY_ROOT = resolve(__dirname, "..", "..", "..");
export const MODELS_DIRECTORY = join(REPOSITORY_ROOT, "media", "models");
const NONCE = "dGVzdC1ub25jZS0xMjM0NQ==";

interface BuildModule {
  buildWebview(options: { outdir: string; production?: boolean; quiet?: boolean }): Promise<unknown>;
  ORT_RUNTIME_FILES: string[];
}

/** scripts/build.mjs, imported by URL (it is plain JavaScript without type declarations). */
export async function loadBuildScript(): Promise<BuildModule> {
  return (await import(pathToFileURL(join(REPOSITORY_ROOT, "scripts", "build.mjs")).href)) as BuildModule;
}

async function bundleStub(): Promise<Uint8Array> {
  const result = await esbuild.build({
    entryPoints: [join(__dirname, "vscode-api-stub.ts")],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].contents;
}

function pageHtml(origin: string, theme: ThemeName): string {
  return `<!DOCTYPE html>
<html lang="en" style="${themeStyle(theme)}">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(origin, NONCE)}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <title>Attention Lens webview test page</title>
    <link rel="stylesheet" href="/dist/webview.css">
  </head>
  <body class="vscode-${theme}">
    <div id="app"><p>Loading Attention Lens…</p></div>
    <script nonce="${NONCE}" src="/vscode-api-stub.js"></script>
    <script type="module" nonce="${NONCE}" src="/dist/webview.js"></script>
  </body>
</html>
`;
}

export interface WebviewHarnessOptions {
  theme?: ThemeName;
  /** Launch with WebGPU on SwiftShader (a software "fallback adapter") instead of with the GPU off. */
  webgpu?: boolean;
  /** Viewport size; default 1100 x 900. */
  width?: number;
  height?: number;
  /** Where printed lines go; default console.error. */
  print?: (line: string) => void;
}

export interface WebviewHarness {
  page: Page;
  context: BrowserContext;
  /** The page's origin, e.g. http://127.0.0.1:41234 (no trailing "/"). */
  origin: string;
  /** Every path the page requested, in order. */
  requests: string[];
  /** Console errors, warnings and uncaught exceptions of the page. */
  problems: string[];
  /** The folder the build wrote into. */
  outdir: string;
  /** Serves `bytes` at `path`; returns the full URL. */
  serveBytes(path: string, bytes: Uint8Array): string;
  /** Reloads the page with another theme (keeps the server and the build). */
  open(theme: ThemeName): Promise<void>;
  /** Sends a host message to the webview. */
  send(message: HostToWebviewMessage): Promise<void>;
  /** Every message the webview posted so far. */
  posted(): Promise<WebviewToHostMessage[]>;
  /** Waits for the first posted message (after `after` of them) that `predicate` accepts. */
  waitForPosted<T extends WebviewToHostMessage>(
    predicate: (message: WebviewToHostMessage) => message is T,
    options?: { after?: number; timeout?: number },
  ): Promise<T>;
  close(): Promise<void>;
}

export async function startWebviewHarness(options: WebviewHarnessOptions = {}): Promise<WebviewHarness> {
  if (!chromiumIsInstalled()) {
    throw new Error(`startWebviewHarness: no Chromium at ${CHROMIUM_PATH}; install it with "apt-get install -y chromium"`);
  }
  const print = options.print ?? ((line: string) => console.error(line));
  const outdir = mkdtempSync(join(tmpdir(), "attention-lens-webview-"));
  const build = await loadBuildScript();
  await build.buildWebview({ outdir, production: false, quiet: true });
  const stub = await bundleStub();

  const requests: string[] = [];
  const problems: string[] = [];
  const blobs = new Map<string, Uint8Array>();
  let theme: ThemeName = options.theme ?? "dark";
  let origin = "";

  const server = await startStaticServer(
    (path) => {
      if (path === "/") return { bytes: pageHtml(origin, theme) };
      if (path === "/vscode-api-stub.js") return { bytes: stub };
      if (path === "/favicon.ico") return { empty: true }; // a webview asks for none
      const blob = blobs.get(path);
      if (blob) return { bytes: blob };
      const built = /^\/dist\/((?:ort\/)?[\w.-]+)$/.exec(path)?.[1];
      if (built && existsSync(join(outdir, built))) return { file: join(outdir, built) };
      const model = /^\/models\/([\w.-]+)\/([\w.-]+)$/.exec(path);
      if (model && existsSync(join(MODELS_DIRECTORY, model[1], model[2]))) return { file: join(MODELS_DIRECTORY, model[1], model[2]) };
      return undefined;
    },
    (path) => requests.push(path),
  );
  origin = server.origin;

  const userDataDirectory = mkdtempSync(join(tmpdir(), "attention-lens-chromium-"));
  const cleanUp = async (context?: BrowserContext) => {
    await context?.close().catch(() => undefined);
    await server.close();
    rmSync(userDataDirectory, { recursive: true, force: true });
    rmSync(outdir, { recursive: true, force: true });
  };

  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(userDataDirectory, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: chromiumFlags(options.webgpu ?? false),
      viewport: { width: options.width ?? 1100, height: options.height ?? 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(60_000);
    page.on("console", (message) => {
      const type = message.type();
      if (type === "error" || type === "warning") {
        problems.push(`${type}: ${message.text()}`);
        print(`[chromium ${type}] ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => {
      problems.push(`uncaught: ${error.message}`);
      print(`[chromium uncaught] ${error.stack ?? error.message}`);
    });

    const open = async (next: ThemeName) => {
      theme = next;
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => window.vscodeStub?.posted.some((message) => (message as { type?: string }).type === "ready"));
    };
    await open(theme);

    const posted = () => page.evaluate(() => window.vscodeStub.posted as WebviewToHostMessage[]);
    const openContext = context;
    return {
      page,
      context: openContext,
      origin,
      requests,
      problems,
      outdir,
      serveBytes(path, bytes) {
        if (!path.startsWith("/models/") && !path.startsWith("/blobs/")) throw new Error(`serveBytes: put "${path}" under /models/ or /blobs/`);
        blobs.set(path, bytes);
        return `${origin}${path}`;
      },
      open,
      send: (message) => page.evaluate((message) => window.postMessage(message, "*"), message),
      posted,
      async waitForPosted(predicate, { after = 0, timeout = 60_000 } = {}) {
        const deadline = Date.now() + timeout;
        for (;;) {
          const found = (await posted()).slice(after).find(predicate);
          if (found) return found;
          if (Date.now() > deadline) {
            const types = (await posted()).map((message) => message.type).join(", ");
            throw new Error(`waitForPosted: nothing matched within ${timeout} ms; posted so far: ${types}`);
          }
          await new Promise((resolveWait) => setTimeout(resolveWait, 50));
        }
      },
      close: () => cleanUp(openContext),
    };
  } catch (error) {
    await cleanUp(context);
    throw error;
  }
}

export type { VsCodeStub };

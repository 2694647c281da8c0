/**
 * A real browser for tests: Debian's Chromium, driven by playwright-core, running ./page/page.ts.
 *
 * `startBrowserHarness` does three things:
 *
 *   1. bundles page/page.ts (and through it src/runtime/model-runtime.ts and onnxruntime-web) with
 *      esbuild for the browser, as the webview bundle is built;
 *   2. serves, on 127.0.0.1 and a free port, with nothing but node:http:
 *        /                 the page (with a Content-Security-Policy like a VS Code webview's)
 *        /page.js          the bundle (and its source map)
 *        /ort/<file>       onnxruntime-web's .wasm and .mjs files from node_modules/onnxruntime-web/dist
 *        anything else     byte blobs the test registers with `serveBytes` (model files)
 *   3. launches /usr/bin/chromium headless with a fresh profile, either with WebGPU on SwiftShader
 *      (the software Vulkan that Chromium ships: a WebGPU "fallback adapter") or with the GPU off.
 *
 * Like a webview, the page is NOT cross-origin isolated, so onnxruntime-web runs single-threaded.
 * The page's console errors and uncaught exceptions are printed to the test output.
 *
 * Nothing is downloaded: the browser is the one apt installed (`apt-get install -y chromium`).
 */

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as esbuild from "esbuild";
import { chromium, type BrowserContext, type Page } from "playwright-core";

import type { AttentionLensHarness, PageDecodeRequest, PageDecodeResult, PageRunResult, PageRunSettings, PageTensor } from "./page/page";
import type { WebGpuProbe } from "../../src/runtime/webgpu-probe";
import { CHROMIUM_PATH, chromiumFlags } from "../../scripts/chromium.mjs";
import { startStaticServer } from "./static-server";

export { CHROMIUM_PATH, chromiumFlags };

const REPOSITORY_ROOT = resolve(__dirname, "..", "..");
const PAGE_ENTRY = join(__dirname, "page", "page.ts");
const ONNXRUNTIME_DIST = join(REPOSITORY_ROOT, "node_modules", "onnxruntime-web", "dist");

/** Whether Chromium is installed where the harness looks for it. */
export function chromiumIsInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * For a browser suite's `before` hook: skips the suite when Chromium is not installed, or fails it
 * under CI (which installs Chromium, so its absence is an error there).
 */
export function requireChromium(context: Mocha.Context): void {
  if (chromiumIsInstalled()) return;
  const message = `no Chromium at ${CHROMIUM_PATH}: install it with "apt-get update && apt-get install -y chromium" (.ci/run does this) or set CHROMIUM_PATH`;
  if (process.env.CI) throw new Error(`the browser tests need Chromium, and CI is set: ${message}`);
  console.log(`    skipping the browser tests: ${message}`);
  context.skip();
}

export interface BrowserHarnessOptions {
  /** Launch with WebGPU on SwiftShader (true) or with the GPU off (false). */
  webgpu: boolean;
  /** Which console messages of the page to print: "errors" (default: errors and warnings) or "all". */
  console?: "errors" | "all";
  /** Where printed lines go; default console.error. */
  print?: (line: string) => void;
}

export interface BrowserHarness {
  /** The page, loaded and ready: `window.attentionLensHarness` is defined. */
  page: Page;
  context: BrowserContext;
  /** The page's address, e.g. http://127.0.0.1:41234/ (ends in "/"). */
  url: string;
  /** Serves `bytes` at `path` (e.g. "/models/tiny.onnx"); returns the full URL. */
  serveBytes(path: string, bytes: Uint8Array): string;
  /** Console errors, warnings and uncaught exceptions of the page so far. */
  problems: string[];
  /** Calls `window.attentionLensHarness.probeWebGpu` in the page. */
  probeWebGpu(): Promise<WebGpuProbe>;
  /** Calls `window.attentionLensHarness.runDecoderSteps` in the page. */
  runDecoderSteps(request: PageDecodeRequest): Promise<PageDecodeResult>;
  /** Calls `window.attentionLensHarness.runModel` in the page. */
  runModel(modelUrl: string, feeds: Record<string, PageTensor>, settings: PageRunSettings): Promise<PageRunResult>;
  close(): Promise<void>;
}

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'unsafe-inline'">
<title>Attention Lens browser harness</title>
</head>
<body>
<p>Attention Lens browser test harness</p>
<script type="module" src="page.js"></script>
</body>
</html>
`;

/** Bundles page/page.ts in memory: { "/page.js": bytes, "/page.js.map": bytes }. */
async function bundlePage(): Promise<Map<string, Uint8Array>> {
  const result = await esbuild.build({
    entryPoints: [PAGE_ENTRY],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: "/page.js", // nothing is written (write: false); this names the outputs
    write: false,
    sourcemap: "linked",
    logLevel: "silent",
  });
  for (const warning of result.warnings) console.error(`[esbuild warning] ${warning.text}`);
  return new Map(result.outputFiles.map((file) => [file.path, file.contents]));
}

/**
 * Bundles the page, serves it and opens it in Chromium. Throws when Chromium is missing (check
 * `chromiumIsInstalled()` first to skip instead). Call `close()` when done.
 */
export async function startBrowserHarness(options: BrowserHarnessOptions): Promise<BrowserHarness> {
  if (!chromiumIsInstalled()) {
    throw new Error(
      `startBrowserHarness: no Chromium at ${CHROMIUM_PATH}; install it with "apt-get update && apt-get install -y chromium" ` +
        "(or set CHROMIUM_PATH to a Chromium binary); never let a tool download a browser",
    );
  }
  const print = options.print ?? ((line: string) => console.error(line));
  const files = await bundlePage();
  files.set("/", new TextEncoder().encode(PAGE_HTML));
  const blobs = new Map<string, Uint8Array>();
  const problems: string[] = [];

  const server = await startStaticServer((path) => {
    const bytes = files.get(path) ?? blobs.get(path);
    if (bytes) return { bytes };
    const ortFile = /^\/ort\/([\w.-]+\.(?:wasm|mjs))$/.exec(path)?.[1];
    if (ortFile && existsSync(join(ONNXRUNTIME_DIST, ortFile))) return { file: join(ONNXRUNTIME_DIST, ortFile) };
    return undefined;
  });
  const url = `${server.origin}/`;

  const userDataDirectory = mkdtempSync(join(tmpdir(), "attention-lens-chromium-"));
  const cleanUp = async (context?: BrowserContext) => {
    await context?.close().catch(() => undefined);
    await server.close();
    rmSync(userDataDirectory, { recursive: true, force: true });
  };

  let context: BrowserContext | undefined;
  try {
    // A persistent context is how playwright takes a user-data-dir of our own (launch() refuses the flag).
    context = await chromium.launchPersistentContext(userDataDirectory, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: chromiumFlags(options.webgpu),
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(120_000);
    page.on("console", (message) => {
      const type = message.type();
      const isProblem = type === "error" || type === "warning";
      if (isProblem) problems.push(`${type}: ${message.text()}`);
      if (isProblem || options.console === "all") print(`[chromium ${type}] ${message.text()}`);
    });
    page.on("pageerror", (error) => {
      problems.push(`uncaught: ${error.message}`);
      print(`[chromium uncaught] ${error.stack ?? error.message}`);
    });
    await page.goto(url);
    await page.waitForFunction(() => window.attentionLensHarness !== undefined, undefined, { timeout: 30_000 });

    const openContext = context;
    return {
      page,
      context: openContext,
      url,
      problems,
      serveBytes(path: string, bytes: Uint8Array): string {
        if (!path.startsWith("/") || path === "/" || path.startsWith("/ort/") || files.has(path)) {
          throw new Error(`serveBytes: "${path}" must start with "/" and not be /, /page.js or under /ort/`);
        }
        blobs.set(path, bytes);
        return new URL(path.slice(1), url).href;
      },
      probeWebGpu() {
        return page.evaluate(() => (window.attentionLensHarness as AttentionLensHarness).probeWebGpu());
      },
      runDecoderSteps(request) {
        return page.evaluate((request) => (window.attentionLensHarness as AttentionLensHarness).runDecoderSteps(request), request);
      },
      runModel(modelUrl, feeds, settings) {
        return page.evaluate(
          ([modelUrl, feeds, settings]) => {
            const harness = window.attentionLensHarness as AttentionLensHarness;
            return harness.runModel(modelUrl, feeds, settings);
          },
          [modelUrl, feeds, settings] as const,
        );
      },
      close: () => cleanUp(openContext),
    };
  } catch (error) {
    await cleanUp(context);
    throw error;
  }
}

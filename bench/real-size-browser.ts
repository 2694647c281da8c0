/**
 * The Chromium half of the real-size benchmark: one model in Debian's Chromium (headless, GPU off,
 * so wasm as in a webview without a GPU), through the panel's own loading and the layer-by-layer
 * decoder. Prints one JSON line: the page's times and the renderer's peak resident memory (VmHWM of
 * Chromium's renderer processes, read from /proc).
 *
 *   tsx bench/real-size-browser.ts <model folder> <ids.json> <T,T,...>
 */

import { readFileSync, readdirSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_PATH, chromiumFlags } from "../scripts/chromium.mjs";
import { startStaticServer } from "../test/browser/static-server";
import { bundlePage } from "./browser/bundle-page";
import type { ModelDescriptor } from "../src/protocol";
import type { BrowserRunResult } from "./browser/real-size-page";

const ROOT = resolve(__dirname, "..");
const ONNXRUNTIME_DIST = join(ROOT, "node_modules", "onnxruntime-web", "dist");
const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'">
<title>Attention Lens real-size benchmark</title></head>
<body><script type="module" src="page.js"></script></body></html>`;

/** The largest peak resident memory (VmHWM) of Chromium's renderer processes, in bytes. */
function rendererPeakBytes(): number {
  let peak = 0;
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!commandLine.includes("--type=renderer")) continue;
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match) peak = Math.max(peak, Number(match[1]) * 1024);
    } catch {
      // the process ended meanwhile
    }
  }
  return peak;
}

async function main(): Promise<void> {
  const [folder, idsFile, lengthList] = process.argv.slice(2);
  if (!folder || !idsFile || !lengthList) throw new Error("usage: tsx bench/real-size-browser.ts <model folder> <ids.json> <T,T,...>");
  const ids = (JSON.parse(readFileSync(idsFile, "utf8")) as { ids: number[] }).ids;
  const lengths = lengthList.split(",").map(Number);
  const config = JSON.parse(readFileSync(join(folder, "config.json"), "utf8")) as Record<string, number>;

  const page = await bundlePage(join(__dirname, "browser", "real-size-page.ts"));
  const server = await startStaticServer((path) => {
    if (path === "/") return { bytes: PAGE_HTML };
    if (path === "/page.js") return { bytes: page };
    const ortFile = /^\/ort\/([\w.-]+\.(?:wasm|mjs))$/.exec(path)?.[1];
    if (ortFile && existsSync(join(ONNXRUNTIME_DIST, ortFile))) return { file: join(ONNXRUNTIME_DIST, ortFile) };
    const modelFile = /^\/model\/([\w.-]+)$/.exec(path)?.[1];
    if (modelFile && existsSync(join(folder, modelFile))) return { file: join(folder, modelFile) };
    return undefined;
  });
  const profile = mkdtempSync(join(tmpdir(), "attention-lens-bench-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: chromiumFlags(false) });
  try {
    const tab = context.pages()[0] ?? (await context.newPage());
    tab.setDefaultTimeout(600_000);
    await tab.goto(`${server.origin}/`);
    await tab.waitForFunction(() => window.realSizeBench !== undefined);
    const model: ModelDescriptor = {
      id: basename(folder),
      label: basename(folder),
      source: "folder",
      configUri: `${server.origin}/model/config.json`,
      weightsUri: `${server.origin}/model/model.safetensors`,
      numLayers: config.num_hidden_layers ?? config.n_layer,
      numHeads: config.num_attention_heads ?? config.n_head,
      numKeyValueHeads: config.num_key_value_heads ?? config.num_attention_heads ?? config.n_head,
      maxTokens: config.max_position_embeddings ?? config.n_positions,
    };
    const result = await tab.evaluate(
      ([model, ids, lengths]) => (window.realSizeBench as { run: (m: ModelDescriptor, i: number[], l: number[]) => Promise<BrowserRunResult> }).run(model, ids, lengths),
      [model, ids, lengths] as const,
    );
    console.log(JSON.stringify({ ...result, rendererPeakBytes: rendererPeakBytes() }));
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

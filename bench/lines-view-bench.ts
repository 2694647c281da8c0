/**
 * The lines view at 128 and 512 tokens in Debian's Chromium (headless, GPU off: the canvas draws in
 * software, as in a webview without a GPU): planning the lines of one layer's 8 heads, and drawing
 * them as the view does (one path per head and opacity level, webview/attention/attention-lines.ts)
 * against one stroke per line, side by side in one page, as a ratio. Median of several runs on a
 * synthetic layer like a trained model's (bench/browser/lines-page.ts). Writes its section of
 * bench/RESULTS.md between its markers; `--quick` runs 128 tokens and writes nothing.
 *
 *   tsx bench/lines-view-bench.ts [--quick]
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_PATH, chromiumFlags } from "../scripts/chromium.mjs";
import { startStaticServer } from "../test/browser/static-server";
import { bundlePage } from "./browser/bundle-page";
import type { LinesBenchResult } from "./browser/lines-page";

const ROOT = resolve(__dirname, "..");
const RESULTS = join(ROOT, "bench", "RESULTS.md");
const START = "<!-- lines-view: written by bench/lines-view-bench.ts -->";
const END = "<!-- /lines-view -->";
const QUICK = process.argv.includes("--quick");
const CASES: [tokens: number, threshold: number][] = QUICK ? [[128, 0.02]] : [[128, 0.02], [128, 0], [512, 0.05], [512, 0.02]];
const HEADS = 8;
const REPETITIONS = QUICK ? 3 : 5;
const PAGE_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>lines view benchmark</title></head>
<body><script type="module" src="page.js"></script></body></html>`;

async function main(): Promise<void> {
  const page = await bundlePage(join(__dirname, "browser", "lines-page.ts"));
  const server = await startStaticServer((path) => (path === "/" ? { bytes: PAGE_HTML } : path === "/page.js" ? { bytes: page } : undefined));
  const profile = mkdtempSync(join(tmpdir(), "attention-lens-bench-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: chromiumFlags(false) });
  const results: LinesBenchResult[] = [];
  try {
    const tab = context.pages()[0] ?? (await context.newPage());
    tab.setDefaultTimeout(600_000);
    await tab.goto(`${server.origin}/`);
    await tab.waitForFunction(() => window.linesBench !== undefined);
    for (const [tokens, threshold] of CASES) {
      const result = await tab.evaluate(([t, h, threshold, repetitions]) => window.linesBench!(t, h, threshold, repetitions), [tokens, HEADS, threshold, REPETITIONS] as const);
      console.log(JSON.stringify(result));
      results.push(result);
    }
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  if (QUICK) return;

  const version = execVersion();
  const rows = results.map(
    (result) =>
      `| ${result.tokens} | ${result.threshold} | ${result.lines.toLocaleString("en-US")} | ${result.paths} | ${result.planMilliseconds.toFixed(1)} | ${result.bucketedMilliseconds.toFixed(1)} | ${result.perLineMilliseconds.toFixed(1)} | ${(result.perLineMilliseconds / result.bucketedMilliseconds).toFixed(1)}x | ${result.wideMilliseconds.toFixed(1)} | ${(result.wideMilliseconds / result.bucketedMilliseconds).toFixed(1)}x |`,
  );
  const section = `${START}
## The lines view: planning and drawing one layer (Chromium, ms)

${version}; headless, GPU off (the canvas draws in software); one layer of ${HEADS} heads, a synthetic
layer like a trained model's (bench/browser/lines-page.ts), every head drawn, canvas 600 px wide
(tokens past 160 get thinner rows, as in the view); median of ${REPETITIONS} runs. "by path" is how the view
draws (one path per head and opacity level, 1 px lines); "per line" is one stroke per line; "1.5 px" is
by path with 1.5 px lines, which the software canvas cannot draw on its fast path for hairlines.

| tokens | threshold | lines | paths | plan | draw by path | draw per line | per line / by path | draw by path, 1.5 px | 1.5 px / 1 px |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}
${END}`;
  const current = readFileSync(RESULTS, "utf8");
  const at = current.indexOf(START);
  const next = at >= 0 ? current.slice(0, at) + section + current.slice(current.indexOf(END) + END.length) : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS, next);
  console.log(`wrote the lines-view section of ${RESULTS}`);
}

function execVersion(): string {
  try {
    const output = execFileSync(CHROMIUM_PATH, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return output.trim().split("\n").pop() ?? "Chromium";
  } catch {
    return "Chromium";
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * `npm run bench` (second part): the layer-by-layer decoder at real sizes, side by side with
 * PyTorch eager on the CPU, in one run, as ratios.
 *
 * Models: random-weight checkpoints with the exact shapes of SmolLM2-135M, Qwen2.5-0.5B and GPT-2
 * small, made by transformers (scripts/bench/make_bench_checkpoints.py) into bench/.models/ (not
 * committed; made on the first run, reused after). For T = 128, 512 and 1024 (1023 for GPT-2,
 * whose 1024 positions leave no room for the cached step):
 *
 *   prefill        ids[:T], every attention map computed, logits of the last row
 *   per layer      prefill / layers
 *   cached step    one token after the prefill's cache; "recompute" runs the T + 1 tokens whole
 *   peak memory    the process's peak resident memory (one process per model and placement)
 *   Chromium       the same in Debian's Chromium (headless, GPU off): the panel's own loading and
 *                  decoder, with the renderer's peak memory (real-size-browser.ts)
 *   PyTorch        eager attention with output_attentions, 1 thread, same model and ids
 *
 * Two weight placements of the decoder: "inputs" (one layer graph, each layer's weights fed at
 * every run: the weights in memory once) and "initializers" (one graph per layer holding its
 * weights: a second copy inside the runtime). Every engine is single-threaded. The tables go to the
 * section of bench/RESULTS.md between the real-size markers.
 */

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { seededRandom } from "../src/attention/seeded-random";
import { BENCH_MODELS, makeBenchCheckpoints } from "./bench-checkpoints";

const ROOT = resolve(__dirname, "..");
const MODELS = BENCH_MODELS;
const RESULTS = join(ROOT, "bench", "RESULTS.md");
const START = "<!-- real-size: written by bench/real-size-bench.ts -->";
const END = "<!-- /real-size -->";

const SHAPES = [
  { folder: "smollm2-135m-shape", label: "SmolLM2-135M shape (30 x 576, 9 / 3 heads, vocabulary 49152, tied)", lengths: [128, 512, 1024] },
  { folder: "qwen2.5-0.5b-shape", label: "Qwen2.5-0.5B shape (24 x 896, 14 / 2 heads, q/k/v bias, vocabulary 151936, tied)", lengths: [128, 512, 1024] },
  { folder: "gpt2-small-shape", label: "GPT-2 small shape (12 x 768, 12 heads, vocabulary 50257)", lengths: [128, 512, 1023] },
];
const PLACEMENTS = ["inputs", "initializers"] as const;
/** A smoke run: the SmolLM2 shape at 128 tokens, weights as inputs, nothing written. */
const QUICK = process.argv.includes("--quick");

interface RunResult {
  placement: string;
  layers: number;
  loadMilliseconds: number;
  createMilliseconds: number;
  results: { tokens: number; prefillMilliseconds: number; stepMilliseconds: number; recomputeMilliseconds: number }[];
  peakRssBytes: number;
}

interface TorchResult {
  torch: string;
  results: { tokens: number; prefill_ms: number[]; step_ms: number[] }[];
  peak_rss_bytes: number;
}

interface BrowserResult {
  placement: string;
  layers: number;
  loadMilliseconds: number;
  createMilliseconds: number;
  results: { tokens: number; prefillMilliseconds: number; stepMilliseconds: number }[];
  rendererPeakBytes: number;
}

/**
 * Runs a command that prints one JSON line last; a run that fails (a placement that cannot hold a
 * model in wasm's 4 GiB heap) is a result too: the last line of its error output, as a string.
 */
function runJson<T>(command: string, args: string[]): T | string {
  try {
    const output = execFileSync(command, args, { encoding: "utf8", maxBuffer: 1 << 20, stdio: ["ignore", "pipe", "pipe"] });
    return JSON.parse(output.trim().split("\n").pop() as string) as T;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    const reason = stderr.trim().split("\n").pop() ?? "failed";
    console.log(`  failed: ${reason}`);
    return reason;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const ratio = (value: number) => `${value >= 10 ? value.toFixed(0) : value.toFixed(2)}x`;

function main(): void {
  const interpreter = makeBenchCheckpoints("real-size benchmark");

  const random = seededRandom(7);
  const idsFile = join(MODELS, "ids.json");
  writeFileSync(idsFile, JSON.stringify({ ids: Array.from({ length: 1025 }, () => Math.floor(random() * 49152)) }));

  const sections: string[] = [];
  for (const shape of QUICK ? [{ ...SHAPES[0], lengths: [128] }] : SHAPES) {
    const folder = join(MODELS, shape.folder);
    const weightBytes = statSync(join(folder, "model.safetensors")).size;
    const runs = (QUICK ? PLACEMENTS.slice(0, 1) : PLACEMENTS).map((placement) => {
      console.log(`${shape.folder}: layer by layer, weights as ${placement}`);
      return runJson<RunResult>(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "bench", "real-size-run.ts"), folder, idsFile, placement, shape.lengths.join(",")]);
    });
    console.log(`${shape.folder}: Chromium, layer by layer on wasm`);
    const browser = runJson<BrowserResult>(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "bench", "real-size-browser.ts"), folder, idsFile, shape.lengths.join(",")]);
    console.log(`${shape.folder}: PyTorch eager`);
    const torch = JSON.parse(
      execFileSync(interpreter, [join(ROOT, "scripts", "bench", "torch_reference_timing.py"), "--model", folder, "--ids-file", idsFile, "--lengths", shape.lengths.join(","), "--repeats", "1", "--threads", "1"], {
        encoding: "utf8",
        maxBuffer: 1 << 20,
      }),
    ) as TorchResult;
    sections.push(section(shape.label, weightBytes, runs, browser, torch));
  }

  const header =
    `Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ` +
    `PyTorch eager at 1 thread; ${new Date().toISOString().slice(0, 10)}. Random weights, float32, batch 1, single runs (noisy: read the ratios as orders of magnitude).`;
  const body = `${START}\n## Real sizes: layer by layer on wasm (Node) vs PyTorch eager\n\n${header}\n\n${sections.join("\n\n")}\n${END}`;
  if (QUICK) {
    console.log(body);
    return;
  }
  const previous = existsSync(RESULTS) ? readFileSync(RESULTS, "utf8") : "# Benchmarks\n";
  const next = previous.includes(START) ? previous.replace(new RegExp(`${START}[\\s\\S]*${END}`), body) : `${previous.trimEnd()}\n\n${body}\n`;
  writeFileSync(RESULTS, next);
  console.log(body);
}

function section(label: string, weightBytes: number, runs: (RunResult | string)[], browser: BrowserResult | string, torch: TorchResult): string {
  const [inputs, initializers] = runs;
  const inBrowser = typeof browser === "string" ? undefined : browser;
  if (typeof inputs === "string") return `### ${label}\n\nThe decoder with weights as inputs failed: ${inputs}`;
  // Not run (a quick run) reads as a failure with its reason.
  const failed = initializers === undefined ? "not run (--quick)" : typeof initializers === "string" ? initializers : undefined;
  const rows = inputs.results.map((result, index) => {
    const resident = failed ? undefined : (initializers as RunResult).results[index];
    const reference = torch.results[index];
    const torchPrefill = median(reference.prefill_ms);
    const torchStep = median(reference.step_ms);
    const chromium = inBrowser?.results[index];
    return (
      `| ${result.tokens} | ${ms(result.prefillMilliseconds)} | ${ms(result.prefillMilliseconds / inputs.layers)} | ${resident ? ms(resident.prefillMilliseconds) : "—"} | ${ms(torchPrefill)} | ` +
      `${ratio(result.prefillMilliseconds / torchPrefill)} | ${ms(result.stepMilliseconds)} | ${resident ? ms(resident.stepMilliseconds) : "—"} | ${ms(torchStep)} | ` +
      `${ratio(result.recomputeMilliseconds / result.stepMilliseconds)} | ${chromium ? ms(chromium.prefillMilliseconds) : "—"} | ${chromium ? ms(chromium.stepMilliseconds) : "—"} |`
    );
  });
  const weights = weightBytes;
  return [
    `### ${label}`,
    "",
    "| T | prefill, inputs (ms) | per layer (ms) | prefill, initializers (ms) | PyTorch prefill (ms) | inputs / PyTorch | cached step, inputs (ms) | cached step, initializers (ms) | PyTorch step (ms) | recompute / cached step | Chromium prefill (ms) | Chromium step (ms) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `Peak memory (process RSS): weights as inputs ${gib(inputs.peakRssBytes)}, as initializers ${failed ? "—" : gib((initializers as RunResult).peakRssBytes)}, PyTorch ${gib(torch.peak_rss_bytes)}; ` +
      `float32 weights ${gib(weights)} (inputs / weights ${ratio(inputs.peakRssBytes / weights)}). ` +
      `Reading the checkpoint ${ms(inputs.loadMilliseconds)} ms; creating the sessions ${ms(inputs.createMilliseconds)} ms (inputs)` +
      (failed ? `. Weights as initializers could not run: ${failed}` : `, ${ms((initializers as RunResult).createMilliseconds)} ms (initializers).`) +
      (inBrowser
        ? ` Chromium (the panel's loading, weights as ${inBrowser.placement}): fetching and reading ${ms(inBrowser.loadMilliseconds)} ms, sessions ${ms(inBrowser.createMilliseconds)} ms, renderer peak ${gib(inBrowser.rendererPeakBytes)}.`
        : ` Chromium could not run it: ${browser as string}`),
  ].join("\n");
}

main();

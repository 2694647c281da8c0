/**
 * `npm run bench` (part): what keeping a 16-bit checkpoint at 16 bits (src/model/half-tensor.ts)
 * saves and costs, side by side in one run. The same random weights of the SmolLM2-135M and
 * Qwen2.5-0.5B shapes (bench/.models/, made by scripts/bench/make_bench_checkpoints.py as float32)
 * are written again as bfloat16 next to them (<shape>-bf16/, as most downloaded checkpoints are
 * stored), and each copy runs in its own process (real-size-run.ts: the layer-by-layer decoder on
 * wasm in Node, weights as inputs), so each peak memory is its own:
 *
 *   float32 file    every weight as float32, fed as float32
 *   bfloat16 file   matrices kept as float16 bits (converted in place), fed as float16 and Cast in
 *                   the layer graph; before this change they were widened to float32 on read
 *
 * The table goes to the section of bench/RESULTS.md between the half-weights markers.
 */

import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { readSafetensors } from "../src/model/safetensors";
import { BENCH_MODELS, makeBenchCheckpoints } from "./bench-checkpoints";
import { writeSafetensors } from "../src/model/safetensors-writer";

const ROOT = resolve(__dirname, "..");
const MODELS = BENCH_MODELS;
const RESULTS = join(ROOT, "bench", "RESULTS.md");
const START = "<!-- half-weights: written by bench/half-weights-bench.ts -->";
const END = "<!-- /half-weights -->";
const QUICK = process.argv.includes("--quick");
const SHAPES = QUICK ? ["smollm2-135m-shape"] : ["smollm2-135m-shape", "qwen2.5-0.5b-shape"];
const LENGTHS = QUICK ? [128] : [128, 512];
const ROUNDS = QUICK ? 1 : 2;

interface RunResult {
  loadMilliseconds: number;
  createMilliseconds: number;
  results: { tokens: number; prefillMilliseconds: number; stepMilliseconds: number }[];
  peakRssBytes: number;
}

/** The bfloat16 copy of a float32 checkpoint folder (made once). */
function bfloat16Copy(folder: string): string {
  const copy = `${folder}-bf16`;
  if (existsSync(join(copy, "model.safetensors"))) return copy;
  mkdirSync(copy, { recursive: true });
  copyFileSync(join(folder, "config.json"), join(copy, "config.json"));
  const { tensors } = readSafetensors(readFileSync(join(folder, "model.safetensors")));
  writeFileSync(join(copy, "model.safetensors"), writeSafetensors(tensors, { dtype: "BF16" }));
  return copy;
}

function run(folder: string, idsFile: string): RunResult {
  const output = execFileSync(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "bench", "real-size-run.ts"), folder, idsFile, "inputs", LENGTHS.join(",")], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output.trim().split("\n").pop() as string) as RunResult;
}

/** Of several runs of one file: the fastest time of each measurement, the largest peak memory. */
function best(runs: RunResult[]): RunResult {
  const fastest = (pick: (run: RunResult) => number) => Math.min(...runs.map(pick));
  return {
    loadMilliseconds: fastest((run) => run.loadMilliseconds),
    createMilliseconds: fastest((run) => run.createMilliseconds),
    results: runs[0].results.map((result, index) => ({
      tokens: result.tokens,
      prefillMilliseconds: fastest((run) => run.results[index].prefillMilliseconds),
      stepMilliseconds: fastest((run) => run.results[index].stepMilliseconds),
    })),
    peakRssBytes: Math.max(...runs.map((run) => run.peakRssBytes)),
  };
}

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const ratio = (value: number) => `${value.toFixed(2)}x`;

function main(): void {
  makeBenchCheckpoints("half-weights benchmark");
  const idsFile = join(MODELS, "ids.json");
  if (!existsSync(idsFile)) throw new Error(`${idsFile} is missing: run bench/real-size-bench.ts first (npm run bench runs it before this one)`);

  const rows: string[] = [];
  for (const shape of SHAPES) {
    const float32Folder = join(MODELS, shape);
    const halfFolder = bfloat16Copy(float32Folder);
    // Two rounds, alternating, each time the faster of the two (a 2-core machine is noisy); memory the larger.
    const float32Runs: RunResult[] = [];
    const halfRuns: RunResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      console.log(`${shape}: float32 file (round ${round + 1} of ${ROUNDS})`);
      float32Runs.push(run(float32Folder, idsFile));
      console.log(`${shape}: bfloat16 file, kept at 16 bits (round ${round + 1} of ${ROUNDS})`);
      halfRuns.push(run(halfFolder, idsFile));
    }
    const [float32, half] = [best(float32Runs), best(halfRuns)];
    const fileBytes = (folder: string) => statSync(join(folder, "model.safetensors")).size;
    for (const [index, tokens] of LENGTHS.entries()) {
      const [full, kept] = [float32.results[index], half.results[index]];
      rows.push(
        `| ${shape} | ${tokens} | ${ms(full.prefillMilliseconds)} | ${ms(kept.prefillMilliseconds)} | ${ratio(kept.prefillMilliseconds / full.prefillMilliseconds)} | ` +
          `${ms(full.stepMilliseconds)} | ${ms(kept.stepMilliseconds)} | ${ratio(kept.stepMilliseconds / full.stepMilliseconds)} | ` +
          (index === 0
            ? `${gib(fileBytes(float32Folder))} / ${gib(fileBytes(halfFolder))} | ${gib(float32.peakRssBytes)} | ${gib(half.peakRssBytes)} | ${ratio(half.peakRssBytes / float32.peakRssBytes)} | ${ms(float32.loadMilliseconds)} / ${ms(half.loadMilliseconds)} |`
            : "| | | | |"),
      );
    }
  }
  const body = [
    START,
    "## 16-bit weights kept at 16 bits (Node, wasm, 1 thread)",
    "",
    `Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. ` +
      "The same random weights as a float32 file and as a bfloat16 file, each in its own process, the layer-by-layer decoder with weights as inputs; two rounds alternating, the faster time and the larger peak of each (still noisy: read the ratios as rough). " +
      "A bfloat16 file's matrices are held as float16 bits and Cast to float32 inside the layer graph; peak memory is the process's RSS, with the runtime's working set at the longest T.",
    "",
    "| shape | T | prefill, float32 file (ms) | prefill, bf16 file (ms) | bf16 / float32 | cached step, float32 (ms) | cached step, bf16 (ms) | bf16 / float32 | file size float32 / bf16 | peak RSS, float32 | peak RSS, bf16 | bf16 / float32 | reading float32 / bf16 (ms) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    END,
  ].join("\n");
  if (QUICK) {
    console.log(body);
    return;
  }
  const previous = readFileSync(RESULTS, "utf8");
  const next = previous.includes(START) ? previous.replace(new RegExp(`${START}[\\s\\S]*${END}`), body) : `${previous.trimEnd()}\n\n${body}\n`;
  writeFileSync(RESULTS, next);
  console.log(body);
}

main();

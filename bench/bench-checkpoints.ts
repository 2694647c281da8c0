/**
 * The real-size benchmarks' checkpoints: random weights with the exact shapes of SmolLM2-135M,
 * Qwen2.5-0.5B and GPT-2 small, made by transformers (scripts/bench/make_bench_checkpoints.py) into
 * bench/.models/ (ignored by git; made on the first run, reused after), with the Python that makes them.
 */

import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
export const BENCH_MODELS = join(ROOT, "bench", ".models");

/** A Python with torch and transformers: the repository's .venv, else python3; throws saying how to get one. */
export function pythonWithTorch(benchmark: string): string {
  for (const candidate of [join(ROOT, ".venv", "bin", "python"), "python3"]) {
    try {
      execFileSync(candidate, ["-c", "import torch, transformers"], { stdio: "ignore" });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    `${benchmark}: needs Python with torch and transformers to make the checkpoints (python3 -m venv .venv && .venv/bin/pip install torch transformers safetensors)`,
  );
}

/** Makes the checkpoints that are not there yet (resumable); returns the Python that made them. */
export function makeBenchCheckpoints(benchmark: string): string {
  const interpreter = pythonWithTorch(benchmark);
  mkdirSync(BENCH_MODELS, { recursive: true });
  execFileSync(interpreter, [join(ROOT, "scripts", "bench", "make_bench_checkpoints.py"), "--out", BENCH_MODELS], { stdio: "inherit" });
  return interpreter;
}

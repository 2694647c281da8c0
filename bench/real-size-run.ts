/**
 * One model, one weight placement, in its own process (so its peak memory is its own): prints one
 * JSON line with the prefill and cached-step times of the layer-by-layer decoder on onnxruntime-web
 * wasm in Node, and the process's peak resident memory. Started by real-size-bench.ts:
 *
 *   tsx bench/real-size-run.ts <model folder> <ids.json> <inputs|initializers> <T,T,...>
 *
 * For each T: a prefill of ids[:T] (every attention map computed and handed over layer by layer,
 * then dropped, as the panel keeps only what its budget allows; logits of the last row), then one
 * cached step of ids[T] after that prefill's cache, and the same T + 1 tokens recomputed whole.
 */

import { readFileSync } from "node:fs";
import { loadModelFolder } from "../src/cli/load-model-folder";
import { LayeredDecoder } from "../src/runtime/layered-decoder";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const [folder, idsFile, placement, lengthList] = process.argv.slice(2);
  if (!folder || !idsFile || (placement !== "inputs" && placement !== "initializers") || !lengthList) {
    throw new Error("usage: tsx bench/real-size-run.ts <model folder> <ids.json> <inputs|initializers> <T,T,...>");
  }
  const ids = (JSON.parse(readFileSync(idsFile, "utf8")) as { ids: number[] }).ids;
  const lengths = lengthList.split(",").map(Number);

  let started = performance.now();
  const model = await loadModelFolder(folder);
  const loadMilliseconds = performance.now() - started;
  started = performance.now();
  const decoder = await LayeredDecoder.create(model.config, model.weights, { choice: "wasm" }, { weights: placement });
  const createMilliseconds = performance.now() - started;
  const dropMaps = () => {};
  await decoder.compute([ids.slice(0, 8)], { logits: "last", onAttention: dropMaps }); // one-time set-up of the sessions

  const results = [];
  for (const tokens of lengths) {
    const prompt = [ids.slice(0, tokens)];
    started = performance.now();
    const prefill = await decoder.compute(prompt, { logits: "last", onAttention: dropMaps, fetchPresent: true });
    const prefillMilliseconds = performance.now() - started;
    const past = { keyValues: prefill.presentKeyValues, keyMask: prefill.keyMask };
    const steps: number[] = [];
    for (let repeat = 0; repeat < 3; repeat++) {
      started = performance.now();
      await decoder.compute([[ids[tokens]]], { past, logits: "last", onAttention: dropMaps });
      steps.push(performance.now() - started);
    }
    started = performance.now();
    await decoder.compute([ids.slice(0, tokens + 1)], { logits: "last", onAttention: dropMaps });
    const recomputeMilliseconds = performance.now() - started;
    results.push({ tokens, prefillMilliseconds, stepMilliseconds: median(steps), recomputeMilliseconds });
  }
  await decoder.dispose();
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ placement, layers: model.config.numHiddenLayers, loadMilliseconds, createMilliseconds, results, peakRssBytes }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

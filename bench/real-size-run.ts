/**
 * One model, one weight placement, in its own process (so its peak memory is its own): prints one
 * JSON line with the prefill and cached-step times of the layer-by-layer decoder on onnxruntime-web
 * wasm in Node, and the process's peak resident memory. Started by real-size-bench.ts:
 *
 *   tsx bench/real-size-run.ts <model folder> <ids.json> <inputs|initializers> <T,T,...>
 *
 * What it measures for each T: real-size-measure.ts.
 */

import { readFileSync } from "node:fs";
import { loadModelFolder } from "../src/cli/load-model-folder";
import { LayeredDecoder } from "../src/runtime/layered-decoder";
import { measureLengths } from "./real-size-measure";

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
  const results = await measureLengths(decoder, ids, lengths, true);
  await decoder.dispose();
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ placement, layers: model.config.numHiddenLayers, loadMilliseconds, createMilliseconds, results, peakRssBytes }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

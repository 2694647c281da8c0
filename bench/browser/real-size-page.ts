/**
 * The page of the Chromium half of the real-size benchmark (../real-size-browser.ts bundles and
 * serves it): the panel's own loading (webview/runtime/model-loading.ts: fetch config.json and the
 * safetensors, read them) and the layer-by-layer decoder on onnxruntime-web wasm, one thread, as in
 * a VS Code webview. `window.realSizeBench.run` returns the times; the driver reads the renderer's
 * memory from outside.
 */

import type { ModelDescriptor } from "../../src/protocol";
import { LayeredDecoder } from "../../src/runtime/layered-decoder";
import { float32WeightBytes, weightPlacement } from "../../src/runtime/weight-placement";
import { loadModelFiles } from "../../webview/runtime/model-loading";
import { measureLengths, type LengthTimes } from "../real-size-measure";

export interface BrowserRunResult {
  placement: string;
  layers: number;
  loadMilliseconds: number;
  createMilliseconds: number;
  results: LengthTimes[];
}

async function run(model: ModelDescriptor, ids: number[], lengths: number[]): Promise<BrowserRunResult> {
  let started = performance.now();
  const { config, weights } = await loadModelFiles(model, () => {});
  const loadMilliseconds = performance.now() - started;
  const placement = weightPlacement(float32WeightBytes(weights));
  started = performance.now();
  const decoder = await LayeredDecoder.create(config, weights, { choice: "wasm", wasmPaths: new URL("ort/", location.href).href }, { weights: placement });
  const createMilliseconds = performance.now() - started;
  const results = await measureLengths(decoder, ids, lengths, false);
  await decoder.dispose();
  return { placement, layers: config.numHiddenLayers, loadMilliseconds, createMilliseconds, results };
}

declare global {
  interface Window {
    realSizeBench?: { run: typeof run };
  }
}

window.realSizeBench = { run };

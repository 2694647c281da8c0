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

export interface BrowserRunResult {
  placement: string;
  layers: number;
  loadMilliseconds: number;
  createMilliseconds: number;
  results: { tokens: number; prefillMilliseconds: number; stepMilliseconds: number }[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function run(model: ModelDescriptor, ids: number[], lengths: number[]): Promise<BrowserRunResult> {
  let started = performance.now();
  const { config, weights } = await loadModelFiles(model, () => {});
  const loadMilliseconds = performance.now() - started;
  const placement = weightPlacement(float32WeightBytes(weights));
  started = performance.now();
  const decoder = await LayeredDecoder.create(config, weights, { choice: "wasm", wasmPaths: new URL("ort/", location.href).href }, { weights: placement });
  const createMilliseconds = performance.now() - started;
  const dropMaps = () => {};
  await decoder.compute([ids.slice(0, 8)], { logits: "last", onAttention: dropMaps });
  const results = [];
  for (const tokens of lengths) {
    started = performance.now();
    const prefill = await decoder.compute([ids.slice(0, tokens)], { logits: "last", onAttention: dropMaps, fetchPresent: true });
    const prefillMilliseconds = performance.now() - started;
    const past = { keyValues: prefill.presentKeyValues, keyMask: prefill.keyMask };
    const steps: number[] = [];
    for (let repeat = 0; repeat < 3; repeat++) {
      started = performance.now();
      await decoder.compute([[ids[tokens]]], { past, logits: "last", onAttention: dropMaps });
      steps.push(performance.now() - started);
    }
    results.push({ tokens, prefillMilliseconds, stepMilliseconds: median(steps) });
  }
  await decoder.dispose();
  return { placement, layers: config.numHiddenLayers, loadMilliseconds, createMilliseconds, results };
}

declare global {
  interface Window {
    realSizeBench?: { run: typeof run };
  }
}

window.realSizeBench = { run };

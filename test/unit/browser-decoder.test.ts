/**
 * The decoder graph in a real browser: headless Debian Chromium runs the same ONNX model on wasm and
 * on WebGPU (SwiftShader adapter, forced), for a left-padded prefill and for a cached decoding step,
 * and every output (logits, attention maps, present keys/values) must match the Node run.
 */

import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { leftPad } from "../../src/attention/left-padding";
import { parseModelConfig } from "../../src/model/config";
import { prepareGraphStep, type FeedTensor } from "../../src/model/onnx/graph-inputs";
import { encodeDecoderGraph, GraphNames } from "../../src/model/onnx/decoder-graph";
import { randomDecoderWeights } from "../../src/model/weights";
import { ModelRuntime } from "../../src/runtime/model-runtime";
import { requireChromium, startBrowserHarness, type BrowserHarness } from "../browser/harness";
import type { PageOutput, PageTensor } from "../browser/page/page";

const config = parseModelConfig({
  hidden_size: 64,
  num_attention_heads: 8,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  intermediate_size: 96,
  vocab_size: 100,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
});
const MODEL = encodeDecoderGraph(config, randomDecoderWeights(config, 5, 0.2, 0.1));
const batch = leftPad([[1, 5, 9, 13, 17, 21, 25, 29, 33, 37], [1, 40, 41, 42, 43, 44]], 0);
const prefill = prepareGraphStep(config, { inputIds: batch.inputIds, attentionMask: batch.attentionMask });

function toPageTensor(feed: FeedTensor): PageTensor {
  return { type: feed.type, dims: [...feed.dims], data: Array.from(feed.data, Number) };
}

function toPageFeeds(feeds: Record<string, FeedTensor>): Record<string, PageTensor> {
  return Object.fromEntries(Object.entries(feeds).map(([name, feed]) => [name, toPageTensor(feed)]));
}

/** The feeds of one decoding step after the prefill, with the prefill's presents as the past. */
function decodeFeeds(presents: Record<string, PageOutput>): Record<string, PageTensor> {
  const past: Record<string, PageTensor> = {};
  const shapes: number[][] = [];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    for (const [pastName, presentName] of [
      [GraphNames.pastKey(layer), GraphNames.presentKey(layer)],
      [GraphNames.pastValue(layer), GraphNames.presentValue(layer)],
    ]) {
      const present = presents[presentName];
      past[pastName] = { type: "float32", dims: present.dims, data: present.data };
      shapes.push(present.dims);
    }
  }
  const step = prepareGraphStep(config, { inputIds: [[50], [51]], pastTokenMask: prefill.keyMask, pastShapes: shapes });
  return { ...toPageFeeds(step.feeds), ...past };
}

/** The same model and feeds in Node, onnxruntime-web on wasm: the reference. */
async function runInNode(feeds: Record<string, PageTensor>): Promise<Record<string, PageOutput>> {
  const runtime = await ModelRuntime.create(MODEL, { choice: "wasm" });
  try {
    const ortFeeds = Object.fromEntries(
      Object.entries(feeds).map(([name, tensor]) => [
        name,
        tensor.type === "int64"
          ? new ort.Tensor("int64", BigInt64Array.from(tensor.data, (value) => BigInt(value)), tensor.dims)
          : new ort.Tensor("float32", Float32Array.from(tensor.data), tensor.dims),
      ]),
    );
    const outputs = await runtime.run(ortFeeds);
    return Object.fromEntries(
      Object.entries(outputs).map(([name, tensor]) => [name, { type: tensor.type, dims: [...tensor.dims], data: Array.from(tensor.data as Float32Array) }]),
    );
  } finally {
    await runtime.dispose();
  }
}

function assertSameOutputs(actual: Record<string, PageOutput>, expected: Record<string, PageOutput>, tolerance: number): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const [name, reference] of Object.entries(expected)) {
    assert.deepEqual(actual[name].dims, reference.dims, `${name}: dims`);
    let worst = 0;
    reference.data.forEach((value, index) => {
      const difference = Math.abs(actual[name].data[index] - value);
      if (!(difference <= worst)) worst = difference; // NaN counts as the worst
    });
    assert.ok(worst <= tolerance, `${name}: max |browser - node| = ${worst}`);
  }
}

describe("the decoder graph in Chromium matches Node (prefill and cached step)", function () {
  this.timeout(300_000); // WebGPU on SwiftShader compiles its shaders on the first run
  let nodePrefill: Record<string, PageOutput>;
  let nodeStep: Record<string, PageOutput>;

  before(async function () {
    requireChromium(this);
    nodePrefill = await runInNode(toPageFeeds(prefill.feeds));
    nodeStep = await runInNode(decodeFeeds(nodePrefill));
  });

  for (const webgpu of [false, true]) {
    const label = webgpu ? "WebGPU (SwiftShader, forced)" : "wasm";
    describe(label, () => {
      let harness: BrowserHarness;
      let modelUrl: string;
      before(async () => {
        harness = await startBrowserHarness({ webgpu });
        modelUrl = harness.serveBytes("/models/decoder.onnx", MODEL);
      });
      after(async () => harness?.close());

      it("prefill of a left-padded batch: logits, attention maps and present K/V", async () => {
        const settings = webgpu ? { choice: "webgpu" as const, allowFallbackAdapter: true } : { choice: "wasm" as const };
        const result = await harness.runModel(modelUrl, toPageFeeds(prefill.feeds), settings);
        assert.equal(result.backend, webgpu ? "webgpu" : "wasm", result.fallbackReason);
        console.log(`      ${label}: session ${result.createMilliseconds.toFixed(0)} ms, first run ${result.milliseconds.toFixed(0)} ms`);
        assertSameOutputs(result.outputs, nodePrefill, 1e-4);
        // Pad rows attend to nothing: zeros, not NaN, on this backend too.
        const attention = result.outputs[GraphNames.attentions(0)];
        assert.ok(attention.data.every((value) => Number.isFinite(value)));
      });

      it("one cached decoding step with the past fed back", async () => {
        const settings = webgpu ? { choice: "webgpu" as const, allowFallbackAdapter: true } : { choice: "wasm" as const };
        const result = await harness.runModel(modelUrl, decodeFeeds(nodePrefill), settings);
        assert.equal(result.backend, webgpu ? "webgpu" : "wasm", result.fallbackReason);
        assertSameOutputs(result.outputs, nodeStep, 1e-4);
      });
    });
  }
});

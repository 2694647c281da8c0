/**
 * A layer graph of a bf16 checkpoint kept at 16 bits (src/model/half-tensor.ts) in a real browser:
 * headless Debian Chromium runs it on wasm and on WebGPU (SwiftShader adapter, forced), built and
 * fed the way the layer-by-layer decoder chooses for that backend (`halfWeightInputsFor`: float16
 * inputs, or decoded float32 ones where the adapter lacks shader-f16, as SwiftShader does), and
 * every output must match the float16 graph run in Node.
 */

import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { float32Of, HalfTensor } from "../../src/model/half-tensor";
import { GraphNames } from "../../src/model/onnx/graph-names";
import { buildLayerGraph, LayerGraphNames } from "../../src/model/onnx/layer-graph";
import { halfWeightInputsFor } from "../../src/runtime/layered-decoder";
import { ModelRuntime } from "../../src/runtime/model-runtime";
import { requireChromium, startBrowserHarness, type BrowserHarness } from "../browser/harness";
import type { PageOutput, PageTensor } from "../browser/page/page";
import { loadFamilyFixture } from "./helpers/family-fixtures";
import { randomTensor } from "./helpers/fixtures";

const fixture = loadFamilyFixture("gpt2-bf16"); // no RoPE: the layer's inputs are hidden states, mask, past and weights
const { config } = fixture;
const graph = buildLayerGraph(config, null, fixture.weights.layers[0]);
const float32Graph = buildLayerGraph(config, null, fixture.weights.layers[0], { halfWeightInputs: false });
const TOKENS = 6;

/** Every input of the layer graph, as plain data for the page: float16 weights as their bits, or decoded (`halfWeightInputs` false). */
function layerFeeds(halfWeightInputs = true): Record<string, PageTensor> {
  const { hiddenSize: width, numKeyValueHeads: keyValueHeads, headDim } = config;
  const feeds: Record<string, PageTensor> = {
    [LayerGraphNames.hiddenStates]: { type: "float32", dims: [1, TOKENS, width], data: Array.from(randomTensor([1, TOKENS, width], 11).data) },
    [GraphNames.attentionMask]: { type: "int64", dims: [1, TOKENS], data: Array.from({ length: TOKENS }, () => 1) },
    [GraphNames.pastKey(0)]: { type: "float32", dims: [1, keyValueHeads, 0, headDim], data: [] },
    [GraphNames.pastValue(0)]: { type: "float32", dims: [1, keyValueHeads, 0, headDim], data: [] },
  };
  for (const { name, tensor } of graph.weights) {
    feeds[name] =
      tensor instanceof HalfTensor && halfWeightInputs
        ? { type: "float16", dims: [...tensor.shape], data: Array.from(tensor.bits) }
        : { type: "float32", dims: [...tensor.shape], data: Array.from(float32Of(tensor).data) };
  }
  return feeds;
}

async function runInNode(feeds: Record<string, PageTensor>): Promise<Record<string, PageOutput>> {
  const runtime = await ModelRuntime.create(graph.bytes, { choice: "wasm" });
  try {
    const ortFeeds = Object.fromEntries(
      Object.entries(feeds).map(([name, tensor]) => {
        if (tensor.type === "int64") return [name, new ort.Tensor("int64", BigInt64Array.from(tensor.data, (value) => BigInt(value)), tensor.dims)];
        if (tensor.type === "float16") return [name, new ort.Tensor("float16", Uint16Array.from(tensor.data), tensor.dims)];
        return [name, new ort.Tensor("float32", Float32Array.from(tensor.data), tensor.dims)];
      }),
    );
    const outputs = await runtime.run(ortFeeds);
    return Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, { type: tensor.type, dims: [...tensor.dims], data: Array.from(tensor.data as Float32Array) }]));
  } finally {
    await runtime.dispose();
  }
}

describe("a layer graph with float16 weight inputs in Chromium matches Node", function () {
  this.timeout(300_000); // WebGPU on SwiftShader compiles its shaders on the first run
  const feeds = layerFeeds();
  let expected: Record<string, PageOutput>;

  before(async function () {
    requireChromium(this);
    assert.ok(Object.values(feeds).some((feed) => feed.type === "float16"), "the bf16 fixture's matrices are fed as float16");
    expected = await runInNode(feeds);
  });

  for (const webgpu of [false, true]) {
    const label = webgpu ? "WebGPU (SwiftShader, forced)" : "wasm";
    it(`${label}: hidden states, attention maps and present K/V`, async () => {
      const harness: BrowserHarness = await startBrowserHarness({ webgpu });
      try {
        const settings = webgpu ? { choice: "webgpu" as const, allowFallbackAdapter: true } : { choice: "wasm" as const };
        const probe = webgpu ? await harness.probeWebGpu() : undefined;
        const half = halfWeightInputsFor({ ...settings, ...(probe ? { webGpuProbe: probe } : {}) });
        console.log(`      ${label}: shader-f16 ${probe?.shaderF16 ?? "n/a"}, float16 weights fed ${half ? "as float16" : "decoded to float32"}`);
        const modelUrl = harness.serveBytes("/models/layer.onnx", (half ? graph : float32Graph).bytes);
        const result = await harness.runModel(modelUrl, layerFeeds(half), settings);
        assert.equal(result.backend, webgpu ? "webgpu" : "wasm", result.fallbackReason);
        for (const [name, reference] of Object.entries(expected)) {
          assert.deepEqual(result.outputs[name].dims, reference.dims, `${name}: dims`);
          const worst = reference.data.reduce((most, value, index) => Math.max(most, Math.abs(result.outputs[name].data[index] - value)), 0);
          assert.ok(worst <= 1e-4, `${name}: max |browser - node| = ${worst}`);
        }
      } finally {
        await harness.close();
      }
    });
  }
});

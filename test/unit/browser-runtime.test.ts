import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-web";

import { ModelRuntime } from "../../src/runtime/model-runtime";
import { requireChromium, startBrowserHarness, type BrowserHarness } from "../browser/harness";
import type { PageOutput, PageRunResult, PageTensor } from "../browser/page/page";
import { FIXTURES, readFixture, type TensorJson } from "./helpers/fixtures";

const MODEL_PATH = join(FIXTURES, "onnx", "scaled-dot-product.onnx");
const MODEL_BYTES = new Uint8Array(readFileSync(MODEL_PATH));
const FIXTURE = readFixture<{ inputs: Record<string, TensorJson> }>("onnx/scaled-dot-product.json");

const FEEDS: Record<string, PageTensor> = Object.fromEntries(
  Object.entries(FIXTURE.inputs).map(([name, json]) => [
    name,
    { type: "float32", dims: json.shape, data: json.data.map((value) => (value === "-inf" ? -Infinity : value)) },
  ]),
);

/** Outputs of the same model on the same inputs in Node (onnxruntime-web wasm): the reference. */
async function nodeOutputs(): Promise<Record<string, PageOutput>> {
  const runtime = await ModelRuntime.create(MODEL_BYTES, { choice: "wasm" });
  try {
    const feeds = Object.fromEntries(
      Object.entries(FEEDS).map(([name, tensor]) => [name, new ort.Tensor("float32", Float32Array.from(tensor.data), tensor.dims)]),
    );
    const outputs = await runtime.run(feeds);
    return Object.fromEntries(
      Object.entries(outputs).map(([name, tensor]) => [
        name,
        { type: tensor.type, dims: [...tensor.dims], data: Array.from(tensor.data as Float32Array) },
      ]),
    );
  } finally {
    await runtime.dispose();
  }
}

function assertOutputsClose(actual: Record<string, PageOutput>, expected: Record<string, PageOutput>, tolerance: number): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), "output names");
  for (const [name, reference] of Object.entries(expected)) {
    assert.deepEqual(actual[name].dims, reference.dims, `${name}: dims`);
    let worst = 0;
    reference.data.forEach((value, index) => {
      const difference = Math.abs(actual[name].data[index] - value);
      if (!(difference <= worst)) worst = difference;
    });
    assert.ok(worst <= tolerance, `${name}: max |browser - node| = ${worst} > ${tolerance}`);
  }
}

function describeRun(result: PageRunResult): string {
  const runs = result.runMilliseconds.map((milliseconds) => milliseconds.toFixed(1)).join(", ");
  return `${result.backend}: session ${result.createMilliseconds.toFixed(0)} ms, runs ${runs} ms`;
}

describe("ModelRuntime in Chromium (test/browser/harness)", function () {
  // WebGPU on SwiftShader compiles its shaders on the first run: 10-30 s on a slow machine.
  this.timeout(180_000);
  let reference: Record<string, PageOutput>;

  before(async function () {
    requireChromium(this);
    reference = await nodeOutputs();
  });

  describe("without WebGPU (--disable-gpu)", () => {
    let harness: BrowserHarness;
    let modelUrl: string;
    before(async () => {
      harness = await startBrowserHarness({ webgpu: false });
      modelUrl = harness.serveBytes("/models/scaled-dot-product.onnx", MODEL_BYTES);
    });
    after(async () => harness?.close());

    it("runs the model on wasm and matches Node within 1e-4", async () => {
      const result = await harness.runModel(modelUrl, FEEDS, { choice: "wasm", repeat: 3 });
      console.log(`      ${describeRun(result)}`);
      assert.equal(result.backend, "wasm");
      assert.equal(result.fallbackReason, undefined);
      assertOutputsClose(result.outputs, reference, 1e-4);
    });

    it("queues simultaneous runs (onnxruntime-web fails overlapping runs of one session)", async () => {
      const result = await harness.runModel(modelUrl, FEEDS, { choice: "wasm", simultaneousRuns: 3 });
      assert.equal(result.backend, "wasm");
      assertOutputsClose(result.outputs, reference, 1e-4);
    });

    it('choice "auto" runs on wasm and says there is no WebGPU', async () => {
      const result = await harness.runModel(modelUrl, FEEDS, { choice: "auto" });
      assert.equal(result.backend, "wasm");
      assert.match(result.fallbackReason ?? "", /WebGPU is not available/);
      assertOutputsClose(result.outputs, reference, 1e-4);
    });

    it("says when the model URL is wrong", async () => {
      await assert.rejects(
        harness.runModel(new URL("models/missing.onnx", harness.url).href, FEEDS, { choice: "wasm" }),
        /fetching the model .*missing\.onnx failed: HTTP 404/,
      );
    });
  });

  describe("with WebGPU on SwiftShader", () => {
    let harness: BrowserHarness;
    let modelUrl: string;
    before(async () => {
      harness = await startBrowserHarness({ webgpu: true });
      modelUrl = harness.serveBytes("/models/scaled-dot-product.onnx", MODEL_BYTES);
    });
    after(async () => harness?.close());

    it("finds a WebGPU adapter and knows it is a software fallback", async () => {
      const probe = await harness.page.evaluate(() => window.attentionLensHarness!.probeWebGpu());
      console.log(`      adapter: ${probe.description}`);
      assert.equal(probe.available, true, probe.reason);
      assert.equal(probe.isFallbackAdapter, true, `expected SwiftShader, got ${probe.description}`);
    });

    it('runs the model on WebGPU when forced ("webgpu", fallback adapter allowed) and matches Node within 1e-4', async () => {
      const result = await harness.runModel(modelUrl, FEEDS, { choice: "webgpu", allowFallbackAdapter: true, repeat: 2 });
      console.log(`      ${describeRun(result)}`);
      assert.equal(result.backend, "webgpu", `fell back: ${result.fallbackReason}`);
      assert.equal(result.fallbackReason, undefined);
      assertOutputsClose(result.outputs, reference, 1e-4);
    });

    it("queues simultaneous runs on WebGPU", async () => {
      const result = await harness.runModel(modelUrl, FEEDS, {
        choice: "webgpu",
        allowFallbackAdapter: true,
        simultaneousRuns: 3,
      });
      assert.equal(result.backend, "webgpu", `fell back: ${result.fallbackReason}`);
      assertOutputsClose(result.outputs, reference, 1e-4);
    });

    it('choice "auto" picks wasm: a fallback adapter is not a real GPU', async () => {
      const result = await harness.runModel(modelUrl, FEEDS, { choice: "auto" });
      assert.equal(result.backend, "wasm");
      assert.match(result.fallbackReason ?? "", /software fallback.*running on wasm/);
      assertOutputsClose(result.outputs, reference, 1e-4);
    });

    it("moves to wasm and retries when a WebGPU run fails", async () => {
      const result = await harness.runModel(modelUrl, FEEDS, {
        choice: "webgpu",
        allowFallbackAdapter: true,
        failFirstWebGpuRun: true,
        repeat: 2,
      });
      assert.equal(result.backend, "wasm");
      assert.match(result.fallbackReason ?? "", /a run on WebGPU failed \(injected failure.*\); switched to wasm/);
      assert.ok(result.log.some((line) => /recreating the session on wasm/.test(line)), result.log.join("\n"));
      assertOutputsClose(result.outputs, reference, 1e-4);
    });
  });
});

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-web";

import {
  backendOrder,
  ModelRuntime,
  ModelRuntimeError,
  type Backend,
  type BackendChoice,
  type RuntimeSettings,
} from "../../src/runtime/model-runtime";
import { probeWebGpu, type WebGpuAdapterLike, type WebGpuLike, type WebGpuProbe } from "../../src/runtime/webgpu-probe";
import { FIXTURES, readFixture, type TensorJson } from "./helpers/fixtures";

/** The onnxruntime-web files, as a local folder prefix (in Node it would also find them itself). */
const WASM_PATHS = join(__dirname, "..", "..", "node_modules", "onnxruntime-web", "dist") + "/";
const MODEL_BYTES = new Uint8Array(readFileSync(join(FIXTURES, "onnx", "scaled-dot-product.onnx")));

interface OnnxFixture {
  inputs: Record<string, TensorJson>;
  outputs: Record<string, TensorJson>;
}
const FIXTURE = readFixture<OnnxFixture>("onnx/scaled-dot-product.json");

function toOrtTensor(json: TensorJson): ort.Tensor {
  return new ort.Tensor("float32", Float32Array.from(json.data, (value) => (value === "-inf" ? -Infinity : value)), json.shape);
}

function fixtureFeeds(): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(FIXTURE.inputs).map(([name, json]) => [name, toOrtTensor(json)]));
}

function assertMatchesFixture(outputs: Record<string, ort.Tensor>, name: string, tolerance = 1e-5): void {
  const expected = FIXTURE.outputs[name];
  const actual = outputs[name];
  assert.ok(actual, `output "${name}" is missing; got ${Object.keys(outputs).join(", ")}`);
  assert.deepEqual([...actual.dims], expected.shape, `${name}: shape`);
  const data = actual.data as Float32Array;
  let worst = 0;
  let worstIndex = -1;
  expected.data.forEach((value, index) => {
    const difference = Math.abs(data[index] - (value === "-inf" ? -Infinity : value));
    if (!(difference <= worst)) {
      worst = difference;
      worstIndex = index;
    }
  });
  assert.ok(worst <= tolerance, `${name}: max |difference| ${worst} > ${tolerance} at flat index ${worstIndex}`);
}

function settings(overrides: Partial<RuntimeSettings> = {}): RuntimeSettings {
  return { choice: "wasm", wasmPaths: WASM_PATHS, ...overrides };
}

async function assertRejects(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    assert.match(error.message, pattern);
    return error;
  }
  assert.fail(`expected a rejection matching ${pattern}`);
}

const delay = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

const NO_ADAPTER: WebGpuProbe = { available: false, isFallbackAdapter: false, description: "", reason: "no navigator.gpu" };
const SOFTWARE_ADAPTER: WebGpuProbe = {
  available: true,
  isFallbackAdapter: true,
  description: "google swiftshader",
  reason: "software",
};
const REAL_ADAPTER: WebGpuProbe = { available: true, isFallbackAdapter: false, description: "nvidia ampere" };

describe("backendOrder", () => {
  const table: [BackendChoice, WebGpuProbe, boolean, Backend[], boolean][] = [
    // choice, probe, allowFallbackAdapter, order, has a reason
    ["auto", REAL_ADAPTER, false, ["webgpu", "wasm"], false],
    ["auto", REAL_ADAPTER, true, ["webgpu", "wasm"], false],
    ["auto", SOFTWARE_ADAPTER, false, ["wasm"], true],
    ["auto", SOFTWARE_ADAPTER, true, ["webgpu", "wasm"], false],
    ["auto", NO_ADAPTER, false, ["wasm"], true],
    ["auto", NO_ADAPTER, true, ["wasm"], true],
    ["webgpu", REAL_ADAPTER, false, ["webgpu", "wasm"], false],
    ["webgpu", SOFTWARE_ADAPTER, false, ["webgpu", "wasm"], false],
    ["webgpu", SOFTWARE_ADAPTER, true, ["webgpu", "wasm"], false],
    ["webgpu", NO_ADAPTER, false, ["wasm"], true],
    ["webgpu", NO_ADAPTER, true, ["wasm"], true],
    ["wasm", REAL_ADAPTER, false, ["wasm"], false],
    ["wasm", SOFTWARE_ADAPTER, true, ["wasm"], false],
    ["wasm", NO_ADAPTER, false, ["wasm"], false],
  ];
  for (const [choice, probe, allowFallbackAdapter, order, hasReason] of table) {
    const adapter = probe.available ? (probe.isFallbackAdapter ? "a software adapter" : "a real GPU") : "no adapter";
    it(`"${choice}" with ${adapter}${allowFallbackAdapter ? " (fallback allowed)" : ""} -> ${order.join(", ")}`, () => {
      const plan = backendOrder(choice, probe, { allowFallbackAdapter });
      assert.deepEqual(plan.order, order);
      assert.equal(plan.reason !== undefined, hasReason, `reason: ${plan.reason}`);
    });
  }

  it("says why WebGPU was left out", () => {
    assert.match(backendOrder("webgpu", NO_ADAPTER).reason ?? "", /WebGPU is not available \(no navigator\.gpu\)/);
    assert.match(backendOrder("auto", SOFTWARE_ADAPTER).reason ?? "", /software.*choose "webgpu"/);
  });

  it("rejects an unknown choice", () => {
    assert.throws(() => backendOrder("gpu" as BackendChoice, REAL_ADAPTER), /unknown backend choice "gpu"/);
  });
});

describe("probeWebGpu", () => {
  const gpuWith = (adapter: WebGpuAdapterLike | null): WebGpuLike => ({ requestAdapter: async () => adapter });

  it("finds no WebGPU in Node", async () => {
    const probe = await probeWebGpu();
    assert.equal(probe.available, false);
    assert.match(probe.reason ?? "", /navigator\.gpu is undefined/);
  });

  it("reports a missing adapter and a failing requestAdapter", async () => {
    const none = await probeWebGpu(gpuWith(null));
    assert.equal(none.available, false);
    assert.match(none.reason ?? "", /returned no adapter/);
    const failing = await probeWebGpu({
      requestAdapter: async () => {
        throw new Error("GPU process crashed");
      },
    });
    assert.equal(failing.available, false);
    assert.match(failing.reason ?? "", /requestAdapter\(\) failed: GPU process crashed/);
  });

  it("tells a software fallback adapter from a real GPU", async () => {
    const swiftShader = await probeWebGpu(gpuWith({ info: { vendor: "google", architecture: "swiftshader", isFallbackAdapter: true } }));
    assert.deepEqual(
      { available: swiftShader.available, fallback: swiftShader.isFallbackAdapter, description: swiftShader.description },
      { available: true, fallback: true, description: "google swiftshader" },
    );
    assert.match(swiftShader.reason ?? "", /software fallback/);
    // Older Chromium: the flag on the adapter, or only the architecture naming SwiftShader.
    assert.equal((await probeWebGpu(gpuWith({ isFallbackAdapter: true, info: {} }))).isFallbackAdapter, true);
    assert.equal((await probeWebGpu(gpuWith({ info: { vendor: "google", architecture: "swiftshader" } }))).isFallbackAdapter, true);

    const real = await probeWebGpu(gpuWith({ info: { vendor: "nvidia", architecture: "ampere", isFallbackAdapter: false } }));
    assert.deepEqual(real, { available: true, isFallbackAdapter: false, description: "nvidia ampere", shaderF16: false });
  });

  it('says whether the adapter has "shader-f16" (float16 weights can go to WebGPU as float16)', async () => {
    const withFeatures = (features: string[]) => gpuWith({ info: { vendor: "nvidia", architecture: "ampere" }, features: new Set(features) });
    assert.equal((await probeWebGpu(withFeatures(["shader-f16", "timestamp-query"]))).shaderF16, true);
    assert.equal((await probeWebGpu(withFeatures(["timestamp-query"]))).shaderF16, false);
  });
});

describe("ModelRuntime on onnxruntime-web wasm in Node", function () {
  this.timeout(60_000);

  it("loads a real model, reports wasm, and matches onnxruntime (Python) within 1e-5", async () => {
    const runtime = await ModelRuntime.create(MODEL_BYTES, settings());
    try {
      assert.equal(runtime.backend, "wasm");
      assert.equal(runtime.fallbackReason, undefined);
      assert.deepEqual(runtime.inputNames, ["q", "k", "v", "mask"]);
      assert.deepEqual(runtime.outputNames, ["output", "weights"]);
      const outputs = await runtime.run(fixtureFeeds());
      assert.deepEqual(Object.keys(outputs).sort(), ["output", "weights"]);
      assertMatchesFixture(outputs, "output");
      assertMatchesFixture(outputs, "weights");

      const onlyWeights = await runtime.run(fixtureFeeds(), ["weights"]);
      assert.deepEqual(Object.keys(onlyWeights), ["weights"]);
      assertMatchesFixture(onlyWeights, "weights");
    } finally {
      await runtime.dispose();
    }
  });

  for (const choice of ["auto", "webgpu"] as const) {
    it(`choice "${choice}" without WebGPU runs on wasm and says why`, async () => {
      const messages: string[] = [];
      const runtime = await ModelRuntime.create(MODEL_BYTES, settings({ choice, log: (message) => messages.push(message) }));
      try {
        assert.equal(runtime.backend, "wasm");
        assert.match(runtime.fallbackReason ?? "", /WebGPU is not available \(navigator\.gpu is undefined/);
        assert.ok(messages.some((message) => /created the session on wasm/.test(message)), messages.join("\n"));
        assertMatchesFixture(await runtime.run(fixtureFeeds()), "output");
      } finally {
        await runtime.dispose();
      }
    });
  }

  it("serialises runs: a second run starts only after the first has finished", async () => {
    const events: string[] = [];
    let runNumber = 0;
    const runtime = await ModelRuntime.create(
      MODEL_BYTES,
      settings({
        onBeforeRun: async (backend) => {
          const number = ++runNumber;
          events.push(`start ${number} on ${backend}`);
          if (number === 1) await delay(50); // without the queue, run 2 would start meanwhile
        },
      }),
    );
    try {
      const first = runtime.run(fixtureFeeds()).then((outputs) => {
        events.push("end 1");
        return outputs;
      });
      const second = runtime.run(fixtureFeeds(), ["weights"]).then((outputs) => {
        events.push("end 2");
        return outputs;
      });
      const [firstOutputs, secondOutputs] = await Promise.all([first, second]);
      assert.deepEqual(events, ["start 1 on wasm", "end 1", "start 2 on wasm", "end 2"]);
      assertMatchesFixture(firstOutputs, "output");
      assertMatchesFixture(firstOutputs, "weights");
      assertMatchesFixture(secondOutputs, "weights");
    } finally {
      await runtime.dispose();
    }
  });

  it("keeps the queue going after a failed run", async () => {
    const runtime = await ModelRuntime.create(MODEL_BYTES, settings());
    try {
      const feeds = fixtureFeeds();
      const wrongShape = { ...feeds, q: new ort.Tensor("float32", new Float32Array(2 * 2 * 3 * 3), [2, 2, 3, 3]) };
      const failing = runtime.run(wrongShape);
      const next = runtime.run(feeds);
      const error = await assertRejects(failing, /the model failed on wasm/);
      assert.ok(error instanceof ModelRuntimeError);
      assertMatchesFixture(await next, "output");
      assert.equal(runtime.backend, "wasm");
    } finally {
      await runtime.dispose();
    }
  });

  it("rejects runs after dispose, but finishes the runs started before it", async () => {
    const runtime = await ModelRuntime.create(MODEL_BYTES, settings());
    const startedBefore = runtime.run(fixtureFeeds());
    const disposal = runtime.dispose();
    assert.equal(runtime.disposed, true);
    assert.equal(runtime.dispose(), disposal, "dispose twice returns the same promise");
    await assertRejects(runtime.run(fixtureFeeds()), /the model runtime was disposed; create a new ModelRuntime/);
    assertMatchesFixture(await startedBefore, "output");
    await disposal;
    await assertRejects(runtime.run(fixtureFeeds()), /ModelRuntime\.run: the model runtime was disposed/);
  });

  it("names missing and unknown inputs and unknown outputs", async () => {
    const runtime = await ModelRuntime.create(MODEL_BYTES, settings());
    try {
      const { q, k, v, mask } = fixtureFeeds();
      await assertRejects(
        runtime.run({ q, k, v }),
        /missing input "mask"; the model's inputs are q, k, v, mask and the feeds hold q, k, v/,
      );
      await assertRejects(runtime.run({ q, k, v, mask, attention_mask: mask }), /"attention_mask", which the model has no input for/);
      await assertRejects(runtime.run({ q, k, v, mask }, ["probabilities"]), /no output "probabilities"; its outputs are output, weights/);
      assertMatchesFixture(await runtime.run({ q, k, v, mask }), "output"); // still usable
    } finally {
      await runtime.dispose();
    }
  });

  it("says clearly that a corrupt, truncated or empty model is not an ONNX model", async () => {
    let state = 12345;
    const randomBytes = Uint8Array.from({ length: 4096 }, () => {
      state = (state * 1103515245 + 12345) >>> 0;
      return state >>> 24;
    });
    const truncated = MODEL_BYTES.subarray(0, Math.floor(MODEL_BYTES.length / 2));
    for (const [label, bytes] of [
      ["random bytes", randomBytes],
      ["a truncated file", truncated],
    ] as const) {
      const error = await assertRejects(
        ModelRuntime.create(bytes, settings()),
        /could not load the ONNX model \(\d+ bytes\) on wasm: .*protobuf parsing failed.*corrupt, truncated or of another format/,
      );
      assert.ok(error instanceof ModelRuntimeError, label);
    }
    await assertRejects(ModelRuntime.create(new Uint8Array(0), settings()), /the model is empty \(0 bytes\)/);
  });

  it("checks its settings", async () => {
    await assertRejects(
      ModelRuntime.create(MODEL_BYTES, settings({ wasmPaths: WASM_PATHS.slice(0, -1) })),
      /must be a folder prefix ending in "\/"/,
    );
    await assertRejects(
      ModelRuntime.create(MODEL_BYTES, settings({ choice: "cuda" as BackendChoice })),
      /unknown backend choice "cuda"; use one of auto, webgpu, wasm/,
    );
  });
});


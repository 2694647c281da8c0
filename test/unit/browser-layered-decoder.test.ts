/**
 * Cached decoding with the layer-by-layer decoder in a real browser, its cache kept in the runtime
 * between steps (src/runtime/runtime-key-values.ts): headless Debian Chromium runs a prefill and
 * three one-token steps on wasm and on WebGPU (SwiftShader adapter, forced). Under WebGPU the
 * present keys and values stay on the GPU ("gpu-buffer") from step to step; the logits of every
 * call must match the same steps in Node, whose cache is copied through library Tensors.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LayeredDecoder } from "../../src/runtime/layered-decoder";
import { requireChromium, startBrowserHarness, type BrowserHarness } from "../browser/harness";
import type { PageDecodeResult, PageRunSettings } from "../browser/page/page";
import { CachedDecoding } from "./helpers/cached-decoding";
import { loadFamilyFixture } from "./helpers/family-fixtures";
import { FIXTURES } from "./helpers/fixtures";

const FIXTURE = "qwen2"; // float32, a full and a sliding layer: two layer graphs
const PROMPT = [3, 17, 29, 5, 11, 42, 7];
const STEPS = [8, 21, 33];

/** The last position's logits of the prefill and of each step, in Node (wasm), the cache as library Tensors. */
async function stepsInNode(): Promise<number[][]> {
  const fixture = loadFamilyFixture(FIXTURE);
  const decoder = await LayeredDecoder.create(fixture.config, fixture.weights, { choice: "wasm" });
  try {
    const cached = new CachedDecoding(decoder);
    const logits = [Array.from((await cached.step([PROMPT], { logits: "last" })).logits.data)];
    for (const token of STEPS) logits.push(Array.from((await cached.step([[token]], { logits: "last" })).logits.data));
    return logits;
  } finally {
    await decoder.dispose();
  }
}

/** The fixture's prefill and steps in the page, the cache kept in the runtime; `failWebGpuRun` makes that WebGPU run throw. */
function decodeIn(harness: BrowserHarness, settings: PageRunSettings, failWebGpuRun?: number): Promise<PageDecodeResult> {
  const folder = join(FIXTURES, "families", FIXTURE);
  return harness.runDecoderSteps({
    configJson: JSON.parse(readFileSync(join(folder, "config.json"), "utf8")),
    weightsUrl: harness.serveBytes("/models/model.safetensors", new Uint8Array(readFileSync(join(folder, "model.safetensors")))),
    prompt: PROMPT,
    steps: STEPS,
    settings,
    ...(failWebGpuRun !== undefined ? { failWebGpuRun } : {}),
  });
}

describe("the layer-by-layer decoder's cache kept in the runtime, in Chromium", function () {
  this.timeout(300_000); // WebGPU on SwiftShader compiles its shaders on the first run
  let expected: number[][];

  before(async function () {
    requireChromium(this);
    expected = await stepsInNode();
  });

  for (const webgpu of [false, true]) {
    const label = webgpu ? "WebGPU (SwiftShader, forced)" : "wasm";
    it(`${label}: a prefill and three steps fed the kept cache give Node's logits; the cache stays ${webgpu ? "on the GPU" : "on the CPU"}`, async () => {
      const harness = await startBrowserHarness({ webgpu });
      try {
        const result = await decodeIn(harness, webgpu ? { choice: "webgpu", allowFallbackAdapter: true } : { choice: "wasm" });
        assert.equal(result.backend, webgpu ? "webgpu" : "wasm", result.fallbackReason);
        assert.deepEqual(result.presentLocations, expected.map(() => (webgpu ? "gpu-buffer" : "cpu")));
        result.logits.forEach((row, call) => {
          const worst = row.reduce((most, value, index) => Math.max(most, Math.abs(value - expected[call][index])), 0);
          assert.ok(worst <= 1e-4, `call ${call}: max |browser - node| = ${worst}`);
        });
      } finally {
        await harness.close();
      }
    });
  }

  it("WebGPU failing mid-decoding: the layer's runtime moves to wasm, and the cache it kept on the GPU is read back and used there", async () => {
    const harness = await startBrowserHarness({ webgpu: true });
    try {
      // The prefill is runs 1-3 (two layer graphs and the head); 4 is the first step's layer 0.
      const result = await decodeIn(harness, { choice: "webgpu", allowFallbackAdapter: true }, 4);
      assert.equal(result.backend, "wasm", "one runtime fell back, so the decoder reports wasm");
      assert.match(result.fallbackReason ?? "", /injected failure/);
      result.logits.forEach((row, call) => {
        const worst = row.reduce((most, value, index) => Math.max(most, Math.abs(value - expected[call][index])), 0);
        assert.ok(worst <= 1e-4, `call ${call}: max |browser - node| = ${worst}`);
      });
    } finally {
      await harness.close();
    }
  });
});

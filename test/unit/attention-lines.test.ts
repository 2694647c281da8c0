/**
 * The lines view's plan (webview/attention/attention-lines.ts): which (query, key) lines of which
 * heads are drawn, at what opacity, for a threshold and a focused token; checked by hand on a small
 * layer and by counting on a real run of the bundled GQA model at 512 tokens.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { parseModelConfig } from "../../src/model/config";
import { readSafetensors } from "../../src/model/safetensors";
import { decoderWeightsFromTensors } from "../../src/model/weights";
import { LayeredDecoder } from "../../src/runtime/layered-decoder";
import { HEAD_COLORS, headColor, OPACITY_STEPS, planLines, rowAt, type LinesPlan } from "../../webview/attention/attention-lines";

/** Every drawn line as "head:query->key@opacity", sorted. */
function lines(plan: LinesPlan): string[] {
  const all: string[] = [];
  for (const bucket of plan.buckets) for (let index = 0; index < bucket.from.length; index++) all.push(`${bucket.head}:${bucket.from[index]}->${bucket.to[index]}@${bucket.opacity.toFixed(4)}`);
  return all.sort();
}

// Two heads over three tokens (causal rows). Head 0 looks at the previous token, head 1 at token 0.
// prettier-ignore
const LAYER = Float32Array.from([
  /* head 0 */ 1, 0, 0, /**/ 0.9, 0.1, 0, /**/ 0.05, 0.9, 0.05,
  /* head 1 */ 1, 0, 0, /**/ 0.6, 0.4, 0, /**/ 0.5, 0.25, 0.25,
]);

describe("the lines view's plan", () => {
  it("draws every weight at or above the threshold, opacity relative to the strongest, rounded up to a level", () => {
    const plan = planLines({ layer: LAYER, heads: 2, tokens: 3, shown: [0, 1], threshold: 0.2, focus: null });
    const level = (weight: number) => (Math.ceil(weight * OPACITY_STEPS) / OPACITY_STEPS).toFixed(4);
    assert.deepEqual(lines(plan), [
      `0:0->0@${level(1)}`,
      `0:1->0@${level(0.9)}`,
      `0:2->1@${level(0.9)}`,
      `1:0->0@${level(1)}`,
      `1:1->0@${level(0.6)}`,
      `1:1->1@${level(0.4)}`,
      `1:2->0@${level(0.5)}`,
      `1:2->1@${level(0.25)}`,
      `1:2->2@${level(0.25)}`,
    ].sort());
    assert.equal(plan.count, 9);
    assert.equal(plan.strongest, 1);
    // Faint buckets first, so strong lines are drawn on top.
    const opacities = plan.buckets.map((bucket) => bucket.opacity);
    assert.deepEqual(opacities, [...opacities].sort((a, b) => a - b));
  });

  it("a focused query keeps its row, a focused key its column (from itself down), of the heads shown only", () => {
    const query = planLines({ layer: LAYER, heads: 2, tokens: 3, shown: [1], threshold: 0, focus: { side: "query", token: 2 } });
    assert.deepEqual(lines(query).map((line) => line.split("@")[0]), ["1:2->0", "1:2->1", "1:2->2"]);
    // Opacity is relative to the strongest line drawn: 0.5 is the brightest here.
    assert.equal(query.strongest, 0.5);
    assert.ok(lines(query).includes("1:2->0@1.0000"));
    const key = planLines({ layer: LAYER, heads: 2, tokens: 3, shown: [0, 1], threshold: 0.1, focus: { side: "key", token: 1 } });
    assert.deepEqual(lines(key).map((line) => line.split("@")[0]), ["0:1->1", "0:2->1", "1:1->1", "1:2->1"]);
    assert.equal(planLines({ layer: LAYER, heads: 2, tokens: 3, shown: [], threshold: 0, focus: null }).count, 0);
  });

  it("refuses a layer of the wrong size and a token outside the text", () => {
    assert.throws(() => planLines({ layer: LAYER, heads: 3, tokens: 3, shown: [0], threshold: 0, focus: null }), /has 27 weights, not 18/);
    assert.throws(() => planLines({ layer: LAYER, heads: 2, tokens: 3, shown: [0], threshold: 0, focus: { side: "key", token: 3 } }), /token 3 is not one of the 3 tokens/);
  });

  it("rows under the pointer, and a colour per head that repeats after eight", () => {
    assert.equal(rowAt(0, 16, 3), 0);
    assert.equal(rowAt(47.9, 16, 3), 2);
    assert.equal(rowAt(48, 16, 3), null);
    assert.equal(rowAt(-1, 16, 3), null);
    assert.equal(headColor(0), HEAD_COLORS[0]);
    assert.equal(headColor(9), HEAD_COLORS[1]);
    assert.equal(new Set(HEAD_COLORS).size, 8);
  });

  it("on a real run at 512 tokens: the count equals the weights at or above the threshold, in far fewer paths", async function () {
    this.timeout(120_000);
    const folder = join(__dirname, "..", "..", "media", "models", "attention-lens-gqa");
    const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
    const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
    const decoder = await LayeredDecoder.create(config, weights, { choice: "wasm" });
    try {
      const ids = [0, ...Array.from({ length: 511 }, (_, index) => 3 + ((index * 37) % 4000))];
      let layer1: Float32Array | undefined;
      await decoder.compute([ids], { logits: "none", onAttention: (layer, map) => (layer === 1 ? (layer1 = Float32Array.from(map.data)) : undefined) });
      const heads = config.numAttentionHeads;
      const plan = planLines({ layer: layer1!, heads, tokens: 512, shown: Array.from({ length: heads }, (_, head) => head), threshold: 0.05, focus: null });
      let expected = 0;
      for (let head = 0; head < heads; head++) for (let query = 0; query < 512; query++) for (let key = 0; key <= query; key++) if (layer1![(head * 512 + query) * 512 + key] >= 0.05) expected++;
      assert.equal(plan.count, expected);
      assert.ok(plan.count <= heads * 512 * 20, "each row sums to 1: at most 1 / threshold lines per query and head");
      assert.ok(plan.buckets.length <= heads * OPACITY_STEPS, `${plan.buckets.length} paths`);
    } finally {
      await decoder.dispose();
    }
  });
});

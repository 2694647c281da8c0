import assert from "node:assert/strict";

import { scaleWeight } from "../../src/color-scale";
import { ATTENTION_BUCKETS, bucketOfPosition, bucketOpacity, weightedRanges } from "../../src/extension/weight-buckets";

describe("extension: attention weights as editor highlight levels", () => {
  it("scales weights on the fixed domain [0, 1] with the panel's scale (src/color-scale.ts)", () => {
    assert.equal(scaleWeight(0.25, "linear"), 0.25);
    assert.equal(scaleWeight(0.25, "sqrt"), 0.5);
    assert.equal(scaleWeight(1e-2, "log"), 0.5);
    assert.equal(scaleWeight(1e-4, "log"), 0);
    assert.equal(scaleWeight(1, "log"), 1);
    assert.equal(scaleWeight(1.0000001, "linear"), 1, "clamped");
    assert.equal(scaleWeight(-1e-9, "sqrt"), 0);
    assert.ok(Number.isNaN(scaleWeight(Number.NaN, "linear")), "NaN (masked) stays NaN");
    assert.equal(bucketOfPosition(scaleWeight(Number.NaN, "linear")), 0, "and is never drawn");
  });

  it("puts positions into buckets 1..N, leaving noise-level weights undrawn", () => {
    assert.equal(bucketOfPosition(0), 0);
    assert.equal(bucketOfPosition(0.5 / ATTENTION_BUCKETS - 1e-9), 0);
    assert.equal(bucketOfPosition(0.5 / ATTENTION_BUCKETS), 1);
    assert.equal(bucketOfPosition(0.5), ATTENTION_BUCKETS / 2);
    assert.equal(bucketOfPosition(1), ATTENTION_BUCKETS);
    const opacities = Array.from({ length: ATTENTION_BUCKETS }, (_, index) => bucketOpacity(index + 1));
    assert.deepEqual(opacities, [...opacities].sort((a, b) => a - b), "stronger buckets are more opaque");
    assert.ok(opacities.at(-1)! <= 0.6, "text stays readable");
  });

  it("draws each range once: <|bos|> skipped, pieces of one character summed, weak weights dropped", () => {
    const ranges = [
      [0, 0], // <|bos|>
      [0, 3],
      [3, 5], // an emoji in two tokens
      [3, 5],
      [5, 6],
    ] as const;
    const weights = [0.5, 0.3, 0.05, 0.1, 0.001];
    const drawn = weightedRanges(ranges, weights, "linear");
    assert.deepEqual(
      drawn.map((range) => [range.tokenIndex, range.tokenCount, range.range, Number(range.weight.toFixed(6)), range.bucket]),
      [
        [1, 1, [0, 3], 0.3, bucketOfPosition(0.3)],
        [2, 2, [3, 5], 0.15, bucketOfPosition(0.15)],
      ],
    );
    assert.equal(weightedRanges(ranges, weights, "log").length, 3, "the log scale shows the weak one too");
  });
});

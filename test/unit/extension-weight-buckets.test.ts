import assert from "node:assert/strict";

import { ATTENTION_BUCKETS, bucketOfPosition, bucketOpacity, scaledWeight, weightedRanges } from "../../src/extension/weight-buckets";

describe("extension: attention weights as editor highlight levels", () => {
  it("scales weights on the fixed domain [0, 1], as the panel does", () => {
    assert.equal(scaledWeight(0.25, "linear"), 0.25);
    assert.equal(scaledWeight(0.25, "sqrt"), 0.5);
    assert.equal(scaledWeight(1e-2, "log"), 0.5);
    assert.equal(scaledWeight(1e-4, "log"), 0);
    assert.equal(scaledWeight(1, "log"), 1);
    assert.equal(scaledWeight(1.0000001, "linear"), 1, "clamped");
    assert.equal(scaledWeight(-1e-9, "sqrt"), 0);
    assert.equal(scaledWeight(Number.NaN, "linear"), 0);
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

import assert from "node:assert/strict";
import { dropoutMask } from "../../src/attention/dropout";
import { seededRandom } from "../../src/attention/seeded-random";

describe("dropout", () => {
  it("is reproducible for a seed and differs between seeds", () => {
    assert.deepEqual([...dropoutMask([64], 0.5, 3).data], [...dropoutMask([64], 0.5, 3).data]);
    assert.notDeepEqual([...dropoutMask([64], 0.5, 3).data], [...dropoutMask([64], 0.5, 4).data]);
  });

  it("drops about a fraction p and scales the rest by 1 / (1 - p), keeping the mean", () => {
    const mask = dropoutMask([100000], 0.2, 1);
    const dropped = mask.data.filter((value) => value === 0).length / mask.size;
    assert.ok(Math.abs(dropped - 0.2) < 0.01, `dropped ${dropped}`);
    assert.ok(mask.data.every((value) => value === 0 || Math.abs(value - 1.25) < 1e-7));
    const mean = mask.data.reduce((sum, value) => sum + value, 0) / mask.size;
    assert.ok(Math.abs(mean - 1) < 0.02, `mean ${mean}`);
  });

  it("rate 0 keeps everything; rates outside [0, 1) are refused", () => {
    assert.ok(dropoutMask([100], 0, 1).data.every((value) => value === 1));
    assert.throws(() => dropoutMask([4], 1, 1), /at least 0 and below 1, got 1/);
    assert.throws(() => dropoutMask([4], -0.1, 1), /got -0.1/);
    assert.throws(() => dropoutMask([4], Number.NaN, 1), /got NaN/);
  });

  it("the generator is uniform on [0, 1)", () => {
    const random = seededRandom(42);
    const values = Array.from({ length: 10000 }, random);
    assert.ok(values.every((value) => value >= 0 && value < 1));
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02);
  });
});

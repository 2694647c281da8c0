import assert from "node:assert/strict";
import { leftPad, positionsFromTokenMask } from "../../src/attention/left-padding";
import { causalMask, combineMasks, paddingMask } from "../../src/attention/masks";

const X = -Infinity;

describe("masks", () => {
  it("causal: each query sees its own slot and earlier ones, also after cached tokens", () => {
    assert.deepEqual(causalMask(3, 3).toNested(), [
      [0, X, X],
      [0, 0, X],
      [0, 0, 0],
    ]);
    // Two tokens cached, three new: new row i is slot 2 + i.
    assert.deepEqual(causalMask(3, 5).toNested(), [
      [0, 0, 0, X, X],
      [0, 0, 0, 0, X],
      [0, 0, 0, 0, 0],
    ]);
    assert.throws(() => causalMask(4, 3), /4 queries cannot be more than the 3 keys/);
  });

  it("padding: (B, 1, 1, S), blocking every pad key of its own sequence", () => {
    const mask = paddingMask([
      [1, 1, 1],
      [0, 1, 1],
    ]);
    assert.deepEqual(mask.shape, [2, 1, 1, 3]);
    assert.deepEqual(mask.toNested(), [[[[0, 0, 0]]], [[[X, 0, 0]]]]);
    assert.throws(() => paddingMask([[1, 1], [1]]), /row 1 has 1 entries but row 0 has 2/);
  });

  it("combined: causal and padding together, (B, 1, T, S); blocked in either is blocked", () => {
    const combined = combineMasks(causalMask(3, 3), paddingMask([[1, 1, 1], [0, 1, 1]]));
    assert.deepEqual(combined.shape, [2, 1, 3, 3]);
    assert.deepEqual(combined.toNested(), [
      [[[0, X, X], [0, 0, X], [0, 0, 0]]],
      [[[X, X, X], [X, 0, X], [X, 0, 0]]],
    ]);
  });

  it("leftPad puts pads first and every row ends with a real token", () => {
    const { inputIds, attentionMask } = leftPad([[5, 6, 7], [8]], 0);
    assert.deepEqual(inputIds, [[5, 6, 7], [0, 0, 8]]);
    assert.deepEqual(attentionMask, [[1, 1, 1], [0, 0, 1]]);
  });

  it("positions count real tokens only, continuing after cached ones", () => {
    assert.deepEqual(positionsFromTokenMask([[1, 1, 1], [0, 0, 1]]), [[0, 1, 2], [0, 0, 0]]);
    assert.deepEqual(positionsFromTokenMask([[1], [1]], [3, 1]), [[3], [1]]);
    assert.throws(() => positionsFromTokenMask([[1]], [1, 2]), /1 rows in the mask but 2 past counts/);
  });
});

import assert from "node:assert/strict";
import { RotaryEmbedding } from "../../src/attention/rotary-embedding";
import { matmul, sliceAxis, transposeLastTwo } from "../../src/attention/tensor-operations";
import { assertClose, randomTensor } from "./helpers/fixtures";

describe("rotary position embedding", () => {
  const rotary = new RotaryEmbedding(8);

  it("leaves position 0 unchanged and keeps every vector's length", () => {
    const x = randomTensor([1, 1, 3, 8], 1);
    const rotated = rotary.apply(x, [[0, 5, 40]]);
    assertClose(sliceAxis(rotated, 2, 0, 1), sliceAxis(x, 2, 0, 1), 0, "position 0");
    for (let token = 0; token < 3; token++) {
      const norm = (t: typeof x) => Math.hypot(...sliceAxis(t, 2, token, token + 1).data);
      assert.ok(Math.abs(norm(rotated) - norm(x)) < 1e-5);
    }
  });

  it("makes q.k depend only on the distance between positions", () => {
    const q = randomTensor([1, 1, 1, 8], 2);
    const k = randomTensor([1, 1, 1, 8], 3);
    const score = (queryPosition: number, keyPosition: number) =>
      matmul(rotary.apply(q, [[queryPosition]]), transposeLastTwo(rotary.apply(k, [[keyPosition]]))).data[0];
    assert.ok(Math.abs(score(7, 4) - score(103, 100)) < 1e-4);
    assert.ok(Math.abs(score(7, 4) - score(7, 5)) > 1e-3, "a different distance gives a different score");
  });

  it("rotates the pair (i, i + hs/2) by position x theta^(-2i/hs)", () => {
    const x = randomTensor([1, 1, 1, 8], 4);
    const rotated = rotary.apply(x, [[3]]);
    const angle = 3 * Math.pow(10000, -2 / 8); // pair i = 1
    const [first, second] = [x.data[1], x.data[5]];
    assert.ok(Math.abs(rotated.data[1] - (first * Math.cos(angle) - second * Math.sin(angle))) < 1e-6);
    assert.ok(Math.abs(rotated.data[5] - (second * Math.cos(angle) + first * Math.sin(angle))) < 1e-6);
  });

  it("refuses odd head sizes and positions of the wrong shape", () => {
    assert.throws(() => new RotaryEmbedding(7), /head size must be a positive even number, got 7/);
    assert.throws(() => rotary.apply(randomTensor([1, 1, 2, 8], 5), [[0]]), /positions must be \(1, 2\)/);
  });
});

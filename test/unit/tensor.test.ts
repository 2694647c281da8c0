import assert from "node:assert/strict";
import { Tensor, ShapeError, assertShape } from "../../src/attention/tensor";
import {
  add,
  concat,
  linear,
  matmul,
  permute,
  repeatInterleave,
  sliceAxis,
  softmax,
  transposeLastTwo,
} from "../../src/attention/tensor-operations";

describe("Tensor", () => {
  it("holds row-major data: element (i, j) of (rows, columns) is data[i * columns + j]", () => {
    const t = Tensor.fromNested([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.at(1, 0), 4);
    assert.equal(t.at(0, 2), 3);
    assert.deepEqual(t.toNested(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it("says which shape and how many values disagree", () => {
    assert.throws(() => new Tensor(new Float32Array(5), [2, 3]), /shape \(2, 3\) needs 6 values but 5 were given/);
    assert.throws(() => Tensor.fromNested([[1, 2], [3]]), /ragged input at values\[1\]: expected length 2, found length 1/);
    assert.throws(() => Tensor.zeros([2, -1]), ShapeError);
  });

  it("reshapes, inferring one -1 dimension, and refuses a wrong size", () => {
    const t = Tensor.fromFunction([2, 3, 4], ([a, b, c]) => a * 100 + b * 10 + c);
    assert.deepEqual(t.reshape([6, -1]).shape, [6, 4]);
    assert.throws(() => t.reshape([5, 5]), /cannot view \(2, 3, 4\) \(24 values\) as \(5, 5\) \(25 values\)/);
  });

  it("rejects an index outside the shape", () => {
    assert.throws(() => Tensor.zeros([2, 2]).at(2, 0), /outside the shape \(2, 2\) on axis 0/);
  });

  it("assertShape names the step, the expected axes and what it got", () => {
    assert.throws(
      () => assertShape(Tensor.zeros([2, 5, 32]), [null, null, 64], "MultiHeadAttention.forward x", ["B", "T", "C"]),
      /MultiHeadAttention.forward x: expected \(B, T, 64\) but got \(2, 5, 32\)/,
    );
  });
});

describe("tensor operations", () => {
  it("matmul multiplies batched matrices and names mismatched inner dimensions", () => {
    const a = Tensor.fromNested([[[1, 2], [3, 4]]]); // (1, 2, 2)
    const b = Tensor.fromNested([[[5, 6], [7, 8]]]); // (1, 2, 2)
    assert.deepEqual(matmul(a, b).toNested(), [[[19, 22], [43, 50]]]);
    assert.throws(() => matmul(Tensor.zeros([2, 3, 4]), Tensor.zeros([5, 6])), /\(2, 3, 4\) by \(5, 6\): inner dimensions 4 and 5 differ/);
    assert.throws(() => matmul(Tensor.zeros([2, 3, 4]), Tensor.zeros([3, 4, 2])), /leading \(batch\) axes differ/);
  });

  it("linear computes x W^T with W stored (out, in)", () => {
    const x = Tensor.fromNested([[1, 2, 3]]);
    const weight = Tensor.fromNested([
      [1, 0, 0],
      [0, 1, 1],
    ]);
    assert.deepEqual(linear(x, weight).toNested(), [[1, 5]]);
    assert.throws(() => linear(Tensor.zeros([1, 4]), weight), /input \(1, 4\) has 4 features but the weight \(2, 3\) expects 3/);
  });

  it("permute and transposeLastTwo move axes", () => {
    const t = Tensor.fromFunction([2, 3, 4], ([a, b, c]) => a * 100 + b * 10 + c);
    const p = permute(t, [2, 0, 1]);
    assert.deepEqual(p.shape, [4, 2, 3]);
    assert.equal(p.at(3, 1, 2), 123);
    assert.equal(transposeLastTwo(t).at(1, 3, 2), 123);
    assert.throws(() => permute(t, [0, 0, 1]), /not a reordering/);
  });

  it("add broadcasts NumPy style and refuses shapes that do not broadcast", () => {
    const scores = Tensor.zeros([2, 3, 4]);
    const mask = Tensor.fromNested([[0, 1, 2, 3]]); // (1, 4)
    const sum = add(scores, mask);
    assert.deepEqual(sum.shape, [2, 3, 4]);
    assert.equal(sum.at(1, 2, 3), 3);
    assert.throws(() => add(Tensor.zeros([2, 3]), Tensor.zeros([4])), /shapes \(2, 3\) and \(4\) do not broadcast/);
  });

  it("softmax rows sum to 1, survive huge scores, and a fully masked row is zeros, not NaN", () => {
    const x = Tensor.fromNested([
      [1, 2, 3],
      [1000, 1001, 1002],
      [-Infinity, -Infinity, -Infinity],
      [0, -Infinity, 0],
    ]);
    const y = softmax(x);
    const row = (i: number) => [0, 1, 2].map((j) => y.at(i, j));
    const expected = [Math.exp(-2), Math.exp(-1), 1].map((v) => v / (Math.exp(-2) + Math.exp(-1) + 1));
    row(0).forEach((v, j) => assert.ok(Math.abs(v - expected[j]) < 1e-7));
    row(1).forEach((v, j) => assert.ok(Math.abs(v - expected[j]) < 1e-7));
    assert.deepEqual(row(2), [0, 0, 0]);
    assert.deepEqual(row(3), [0.5, 0, 0.5]);
  });

  it("concat and sliceAxis are inverse along an axis", () => {
    const t = Tensor.fromFunction([2, 5, 3], ([a, b, c]) => a * 100 + b * 10 + c);
    const joined = concat([sliceAxis(t, 1, 0, 2), sliceAxis(t, 1, 2, 5)], 1);
    assert.deepEqual(joined.toNested(), t.toNested());
    assert.throws(() => concat([Tensor.zeros([2, 3]), Tensor.zeros([3, 3])], 1), /\(3, 3\) does not match \(2, 3\) off that axis/);
  });

  it("repeatInterleave puts copies next to each other: [K0, K1] -> [K0, K0, K1, K1]", () => {
    const heads = Tensor.fromNested([[[0], [1]]]); // (1, 2, 1)
    assert.deepEqual(repeatInterleave(heads, 2, 1).toNested(), [[[0], [0], [1], [1]]]);
  });
});

import assert from "node:assert/strict";
import { KeyValueCache, LayerKeyValueCache } from "../../src/attention/kv-cache";
import { Tensor } from "../../src/attention/tensor";
import { randomTensor } from "./helpers/fixtures";

describe("KV cache", () => {
  it("a layer appends along the sequence axis, reports its length and bytes, truncates and resets", () => {
    const cache = new LayerKeyValueCache();
    assert.equal(cache.length, 0);
    assert.equal(cache.bytesUsed(), 0);
    const first = randomTensor([1, 2, 3, 4], 1); // (B, nkv, T, hs)
    const all = cache.append(first, first);
    assert.deepEqual(all.key.shape, [1, 2, 3, 4]);
    const next = randomTensor([1, 2, 1, 4], 2);
    const grown = cache.append(next, next);
    assert.deepEqual(grown.key.shape, [1, 2, 4, 4]);
    assert.equal(grown.key.at(0, 1, 3, 2), next.at(0, 1, 0, 2));
    assert.equal(grown.key.at(0, 1, 2, 2), first.at(0, 1, 2, 2));
    assert.equal(cache.length, 4);
    assert.equal(cache.bytesUsed(), 2 * 1 * 2 * 4 * 4 * 4);
    assert.equal(cache.bytesUsed(2), 2 * 1 * 2 * 4 * 4 * 2);
    cache.truncate(3);
    assert.deepEqual([...cache.keyValue!.key.data], [...first.data], "truncating restores the earlier state exactly");
    cache.reset();
    assert.equal(cache.length, 0);
  });

  it("refuses new keys that do not match the cached ones", () => {
    const cache = new LayerKeyValueCache();
    cache.append(Tensor.zeros([1, 2, 3, 4]), Tensor.zeros([1, 2, 3, 4]));
    assert.throws(() => cache.append(Tensor.zeros([1, 1, 1, 4]), Tensor.zeros([1, 1, 1, 4])), /new keys must match the cached ones: expected \(1, 2, T, 4\)/);
    assert.throws(() => cache.append(Tensor.zeros([1, 2, 1, 4]), Tensor.zeros([1, 2, 2, 4])), /key \(1, 2, 1, 4\) and value \(1, 2, 2, 4\) differ/);
  });

  it("bytes per token: MHA vs GQA vs MQA differ by the number of K/V heads", () => {
    const shape = { numLayers: 4, headDim: 32 };
    const mha = KeyValueCache.bytesPerToken({ ...shape, numKeyValueHeads: 8 });
    const gqa = KeyValueCache.bytesPerToken({ ...shape, numKeyValueHeads: 2 });
    const mqa = KeyValueCache.bytesPerToken({ ...shape, numKeyValueHeads: 1 });
    assert.equal(mha, 2 * 4 * 8 * 32 * 4);
    assert.equal(mha / gqa, 4);
    assert.equal(mha / mqa, 8);
  });

  it("tracks which slots are real and the RoPE position of each new token", () => {
    const cache = new KeyValueCache(2);
    const prefill = cache.beginStep([
      [1, 1, 1],
      [0, 0, 1],
    ]);
    assert.equal(prefill.pastLength, 0);
    assert.deepEqual(prefill.positions, [[0, 1, 2], [0, 0, 0]]);
    const step = cache.beginStep([[1], [1]]);
    assert.equal(step.pastLength, 3);
    assert.deepEqual(step.positions, [[3], [1]], "the padded row continues from its own count of real tokens");
    assert.deepEqual(step.keyMask, [[1, 1, 1, 1], [0, 0, 1, 1]]);
    assert.equal(cache.length, 4);
    assert.throws(() => cache.beginStep([[1]]), /the cache holds 2 sequences but 1 were given; reset the cache/);
    cache.truncate(3);
    assert.deepEqual(cache.keyMask, [[1, 1, 1], [0, 0, 1]]);
    cache.reset();
    assert.equal(cache.length, 0);
    assert.throws(() => new KeyValueCache(0), /number of layers must be a positive integer/);
  });
});

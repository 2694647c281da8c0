/**
 * The attention maps as the webview reads them: per-head views, means, rows, and the grouping of
 * query heads under the key/value heads they share (MHA, GQA, MQA).
 */

import assert from "node:assert/strict";
import { meanOverHeads } from "../../webview/attention/layer-preview.svelte";
import { Tensor } from "../../src/attention/tensor";

import {
  AttentionMapsBuilder,
  attentionMapsFromLayers,
  headMap,
  layerMaps,
  storedBytes,
  keyValueGroups,
  keyValueHeadOf,
  mapRows,
  meanOfHeads,
  queryRow,
  selectedMap,
  selectionName,
} from "../../webview/attention/attention-maps";

/** 1 layer, 2 heads, T = 2: head 0 attends only to token 0, head 1 splits 0.5/0.5 at row 1. */
function twoHeads() {
  const data = Float32Array.from([
    // head 0: rows [1, 0], [1, 0]
    1, 0, 1, 0,
    // head 1: rows [1, 0], [0.5, 0.5]
    1, 0, 0.5, 0.5,
  ]);
  return attentionMapsFromLayers([{ shape: [1, 2, 2, 2], data }], 1);
}

describe("webview attention maps", () => {
  it("query head h reads K/V head floor(h / (nh / nkv)): [K0 K0 K0 K0 K1 K1 K1 K1] for 8 over 2", () => {
    assert.deepEqual(Array.from({ length: 8 }, (_, head) => keyValueHeadOf(head, 8, 2)), [0, 0, 0, 0, 1, 1, 1, 1]);
    assert.deepEqual(Array.from({ length: 8 }, (_, head) => keyValueHeadOf(head, 8, 1)), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from({ length: 8 }, (_, head) => keyValueHeadOf(head, 8, 8)), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("groups: consecutive query heads under each K/V head", () => {
    assert.deepEqual(keyValueGroups(8, 2), [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    assert.deepEqual(keyValueGroups(8, 1), [[0, 1, 2, 3, 4, 5, 6, 7]]);
    assert.deepEqual(keyValueGroups(4, 4), [[0], [1], [2], [3]]);
  });

  it("a head's map is a view into the layer's (nh, T, T) block", () => {
    const maps = twoHeads();
    assert.deepEqual([maps.layers, maps.heads, maps.keyValueHeads, maps.tokens], [1, 2, 1, 2]);
    assert.deepEqual(Array.from(headMap(maps, 0, 1)), [1, 0, 0.5, 0.5]);
    assert.equal(headMap(maps, 0, 1).buffer, layerMaps(maps, 0).buffer);
    assert.throws(() => headMap(maps, 1, 0), /layer 1 does not exist; the model has layers 0..0/);
    assert.throws(() => headMap(maps, 0, 2), /head 2 does not exist; the model has heads 0..1/);
  });

  it("kept as float16 or 8 bits per row: the bytes drop 2x and ~4x, values stay within the precision's error", () => {
    // 2 layers, 3 heads, T = 5: softmax-like rows with one large and several small weights.
    const tokens = 5;
    const layers = [0, 1].map((layer) => {
      const data = new Float32Array(3 * tokens * tokens);
      for (let row = 0; row < 3 * tokens; row++) {
        const query = row % tokens;
        const weights = Array.from({ length: query + 1 }, (_, key) => Math.exp(-((key - query - layer) ** 2) / 3));
        const total = weights.reduce((sum, weight) => sum + weight, 0);
        weights.forEach((weight, key) => (data[row * tokens + key] = weight / total));
      }
      return { shape: [1, 3, tokens, tokens], data };
    });
    const exact = attentionMapsFromLayers(layers, 1);
    const half = attentionMapsFromLayers(layers, 1, "float16");
    const bytes = attentionMapsFromLayers(layers, 1, "uint8");
    assert.equal(storedBytes(exact), 2 * 3 * 25 * 4);
    assert.equal(storedBytes(half), 2 * 3 * 25 * 2);
    assert.equal(storedBytes(bytes), 2 * 3 * 25 + 2 * 3 * 5 * 4, "a code per cell and a float32 scale per row");
    for (let layer = 0; layer < 2; layer++) {
      const reference = layerMaps(exact, layer);
      const fromHalf = layerMaps(half, layer);
      const fromBytes = layerMaps(bytes, layer);
      for (let index = 0; index < reference.length; index++) {
        const rowLargest = Math.max(...reference.subarray(index - (index % tokens), index - (index % tokens) + tokens));
        assert.ok(Math.abs(fromHalf[index] - reference[index]) <= reference[index] * 2 ** -11, `float16 cell ${index}`);
        assert.ok(Math.abs(fromBytes[index] - reference[index]) <= rowLargest / 510 + 1e-7, `8-bit cell ${index}`);
        if (reference[index] === 0) assert.equal(fromBytes[index], 0, "a masked cell stays exactly 0");
      }
    }
    assert.equal(layerMaps(bytes, 1), layerMaps(bytes, 1), "the layer last decoded is kept");
  });

  it("the builder takes layers in order as the decoder hands them over, and refuses a wrong shape", () => {
    const builder = new AttentionMapsBuilder(1, "float16");
    const layer = { shape: [1, 2, 2, 2], data: new Float32Array(8) };
    builder.add(0, layer);
    assert.throws(() => builder.add(2, layer), /layer 2 came after 1 layers/);
    assert.throws(() => builder.add(1, { shape: [1, 2, 3, 3], data: new Float32Array(18) }), /layer 1 has shape \(1, 2, 3, 3\), layer 0 \(1, 2, 2, 2\)/);
    builder.add(1, layer);
    const maps = builder.finish();
    assert.deepEqual([maps.layers, maps.heads, maps.tokens, maps.precision], [2, 2, 2, "float16"]);
    assert.throws(() => new AttentionMapsBuilder(1).finish(), /the model returned no attention maps/);
  });

  it("means over heads, rows and selections", () => {
    const maps = twoHeads();
    assert.deepEqual(Array.from(meanOfHeads(maps, 0)), [1, 0, 0.75, 0.25]);
    assert.deepEqual(Array.from(meanOfHeads(maps, 0, [1])), [1, 0, 0.5, 0.5]);
    assert.deepEqual(Array.from(selectedMap(maps, { layer: 0, head: "mean" })), [1, 0, 0.75, 0.25]);
    assert.deepEqual(queryRow(headMap(maps, 0, 1), 2, 1), [0.5, 0.5]);
    assert.deepEqual(mapRows(headMap(maps, 0, 0), 2), [
      [1, 0],
      [1, 0],
    ]);
    assert.throws(() => queryRow(headMap(maps, 0, 0), 2, 2), /token 2 is outside 0..1/);
    assert.equal(selectionName({ layer: 2, head: 5 }), "L2 H5");
    assert.equal(selectionName({ layer: 0, head: "mean" }), "L0 mean");
  });

  it("checks the decoder's shapes: (1, nh, T, T) in every layer, nh divisible by nkv", () => {
    const layer = { shape: [1, 2, 2, 2], data: new Float32Array(8) };
    assert.throws(() => attentionMapsFromLayers([], 1), /no attention maps/);
    assert.throws(() => attentionMapsFromLayers([layer, { shape: [1, 2, 2, 3], data: new Float32Array(12) }], 1), /layer 1 has shape \(1, 2, 2, 3\)/);
    assert.throws(() => attentionMapsFromLayers([{ shape: [2, 2, 2, 2], data: new Float32Array(16) }], 1), /layer 0 has shape/);
    assert.throws(() => attentionMapsFromLayers([{ shape: [1, 2, 2, 2], data: new Float32Array(7) }], 1), /holds 7 numbers, not 8/);
    assert.throws(() => attentionMapsFromLayers([layer], 3), /2 query heads cannot share 3 key\/value heads/);
  });
});

describe("the layers filling in while a run goes on", () => {
  it("the preview's map is the mean over the heads, cell by cell", () => {
    // (1, 2 heads, 2 queries, 2 keys): head 0 and head 1, worked by hand.
    const weights = new Tensor(Float32Array.from([1, 0, 0.5, 0.5, 0, 1, 0.25, 0.75]), [1, 2, 2, 2]);
    assert.deepEqual(Array.from(meanOverHeads(weights)), [0.5, 0.5, 0.375, 0.625]);
  });
});

/**
 * The attention maps as the webview reads them: per-head views, means, rows, and the grouping of
 * query heads under the key/value heads they share (MHA, GQA, MQA).
 */

import assert from "node:assert/strict";

import {
  attentionMapsFromLayers,
  headMap,
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
    assert.equal(headMap(maps, 0, 1).buffer, maps.data[0].buffer);
    assert.throws(() => headMap(maps, 1, 0), /layer 1 does not exist; the model has layers 0..0/);
    assert.throws(() => headMap(maps, 0, 2), /head 2 does not exist; the model has heads 0..1/);
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

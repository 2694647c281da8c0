/**
 * The query-key view's numbers (src/attention/query-key-breakdown.ts): one (query, key) cell of a
 * layer's stage trace for every head, q ∘ k summed into the raw score, scaled, masked and softmaxed.
 * Checked against values worked out by hand on a tiny case, against the library's own trace of the
 * bundled GQA model (the sum equals the raw score, exp(s' - m) / Z the weight, query heads read their
 * K/V head), and against q and k after RoPE recorded inside transformers' Llama attention
 * (scripts/fixtures/make_query_key_fixture.py).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repeatKeyValueHeads } from "../../src/attention/grouped-query-attention";
import { causalMask } from "../../src/attention/masks";
import { queryKeyBreakdown } from "../../src/attention/query-key-breakdown";
import { scaledDotProductAttention } from "../../src/attention/scaled-dot-product-attention";
import { Tensor } from "../../src/attention/tensor";
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { TextTokenizer } from "../../src/model/tokenizer";
import { readFixture, type TensorJson } from "./helpers/fixtures";

const MODEL = join(__dirname, "..", "..", "media", "models", "attention-lens-gqa");
const config = parseModelConfig(JSON.parse(readFileSync(join(MODEL, "config.json"), "utf8")));
const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(MODEL, "model.safetensors"))).tensors);

function assertNear(actual: number, expected: number, tolerance: number, label: string): void {
  assert.ok(actual === expected || Math.abs(actual - expected) <= tolerance, `${label}: ${actual} vs ${expected} (tolerance ${tolerance})`);
}

function assertVectorNear(actual: readonly number[], expected: readonly number[], tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  actual.forEach((value, index) => assertNear(value, expected[index], tolerance, `${label}[${index}]`));
}

describe("the query-key breakdown (Stages' query · key view)", function () {
  this.timeout(60_000);

  it("a tiny case by hand: 2 query heads reading 1 K/V head, hs = 2, causal", () => {
    // Query token 1 of head 0 is q = [1, 2], of head 1 q = [-1, 0.5]; the one K/V head has keys
    // k_0 = [3, -1] and k_1 = [0.5, 0.5]. Query token 0 is only needed for the shapes.
    const query = new Tensor(Float32Array.from([0, 0, 1, 2, 0, 0, -1, 0.5]), [1, 2, 2, 2]); // (B, nh, T, hs)
    const key = new Tensor(Float32Array.from([3, -1, 0.5, 0.5]), [1, 1, 2, 2]); // (B, nkv, S, hs)
    const value = new Tensor(Float32Array.from([1, 0, 0, 1]), [1, 1, 2, 2]);
    const stages = scaledDotProductAttention(query, repeatKeyValueHeads(key, 2), repeatKeyValueHeads(value, 2), { mask: causalMask(2, 2) });

    const breakdown = queryKeyBreakdown(stages, 1, { batch: 0, query: 1, key: 0 });
    assert.deepEqual([breakdown.headDim, breakdown.numHeads, breakdown.numKeyValueHeads, breakdown.groupSize, breakdown.keyLength, breakdown.querySlot], [2, 2, 1, 2, 2, 1]);
    assertNear(breakdown.scaleFactor, 1 / Math.SQRT2, 0, "1 / sqrt(2)");
    const [head0, head1] = breakdown.heads;
    assert.deepEqual([head0.keyValueHead, head1.keyValueHead], [0, 0], "both query heads read K/V head 0");
    assert.deepEqual(head0.query, [1, 2]);
    assert.deepEqual(head0.key, [3, -1]);
    assert.deepEqual(head1.key, [3, -1], "the same key: grouped heads share it");
    // Head 0: q ∘ k_0 = [1 x 3, 2 x -1] = [3, -2], s = 1, s' = 1 / sqrt(2) = 0.70711.
    // Row: s'_0 = 0.70711, s'_1 = (0.5 + 1) / sqrt(2) = 1.06066 = m;
    // exp(0.70711 - 1.06066) = 0.70219, Z = 0.70219 + 1 = 1.70219, w = 0.70219 / 1.70219 = 0.41252.
    assert.deepEqual(head0.product, [3, -2]);
    assert.equal(head0.productSum, 1);
    assert.equal(head0.rawScore, 1);
    assertNear(head0.scaledScore, 0.7071068, 1e-6, "head 0 scaled");
    assert.equal(head0.mask, 0);
    assertNear(head0.rowMaximum, 1.0606602, 1e-6, "head 0 m");
    assertNear(head0.exponential, 0.7021885, 1e-6, "head 0 exp(s' - m)");
    assertNear(head0.exponentialSum, 1.7021885, 1e-6, "head 0 Z");
    assertNear(head0.weight, 0.4125210, 1e-6, "head 0 weight");
    // Head 1: q ∘ k_0 = [-1 x 3, 0.5 x -1] = [-3, -0.5], s = -3.5, s' = -2.47487;
    // s'_1 = (-0.5 + 0.25) / sqrt(2) = -0.17678 = m; exp(-2.47487 + 0.17678) = 0.10045, Z = 1.10045, w = 0.09128.
    assert.deepEqual(head1.product, [-3, -0.5]);
    assert.equal(head1.productSum, -3.5);
    assertNear(head1.scaledScore, -2.4748737, 1e-6, "head 1 scaled");
    assertNear(head1.exponentialSum, 1.1004498, 1e-6, "head 1 Z");
    assertNear(head1.weight, 0.0912807, 1e-6, "head 1 weight");

    // Query 0 cannot see key 1 (the future): the score is computed, the mask is -inf, the weight 0.
    const future = queryKeyBreakdown(stages, 1, { batch: 0, query: 0, key: 1 }).heads[0];
    assert.deepEqual([future.productSum, future.mask, future.maskedScore, future.exponential, future.weight], [0, -Infinity, -Infinity, 0, 0]);
    assert.equal(future.exponentialSum, 1, "the row is key 0 alone: Z = exp(0)");

    assert.throws(() => queryKeyBreakdown(stages, 1, { batch: 0, query: 1, key: 2 }), /key 2 does not exist; the trace has 2 keys \(0 to 1\)/);
    assert.throws(() => queryKeyBreakdown(stages, 1, { batch: 0, query: 2, key: 0 }), /query token 2 does not exist/);
    assert.throws(() => queryKeyBreakdown(stages, 3, { batch: 0, query: 1, key: 0 }), /3 key\/value heads do not divide the trace's 2 query heads/);
  });

  it("the bundled GQA model: q ∘ k sums to the trace's raw score, exp(s' - m) / Z is its weight, every layer, head, query and key", () => {
    const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODEL, "tokenizer.json"), "utf8"));
    const ids = tokenizer.encode("const total = items.reduce((sum, item) => sum + item.price, 0);", { addBos: true }).ids;
    const result = model.forward([ids], { trace: true });
    const stages = result.stages!;
    assert.deepEqual([config.numAttentionHeads, config.numKeyValueHeads], [8, 2]);
    let cells = 0;
    for (const [layer, layerStages] of stages.entries()) {
      const presentKeys = result.presentKeyValues[layer].key; // (1, nkv, S, hs): the keys before the heads share them
      for (let query = 0; query < ids.length; query += 3) {
        for (let key = 0; key < ids.length; key += 2) {
          const breakdown = queryKeyBreakdown(layerStages, config.numKeyValueHeads, { batch: 0, query, key });
          assert.equal(breakdown.groupSize, 4);
          for (const head of breakdown.heads) {
            const label = `layer ${layer} head ${head.head} query ${query} key ${key}`;
            assert.equal(head.keyValueHead, Math.floor(head.head / 4), `${label}: K/V head`);
            const presentKey = Array.from({ length: config.headDim }, (_, feature) => presentKeys.at(0, head.keyValueHead, key, feature));
            assert.deepEqual(head.key, presentKey, `${label}: reads the key of K/V head ${head.keyValueHead}`);
            assertNear(head.productSum, head.rawScore, 1e-6, `${label}: sum of q ∘ k`);
            assert.equal(head.productSum, head.rawScore, `${label}: added as matmul adds, the sum is the raw score to the bit`);
            assertNear(head.scaledScore, head.rawScore * breakdown.scaleFactor, 1e-6, `${label}: scaled`);
            assert.equal(head.mask, key > query ? -Infinity : 0, `${label}: causal mask`);
            assertNear(head.exponential / head.exponentialSum, head.weight, 1e-6, `${label}: softmax`);
            cells += 1;
          }
          // Grouped heads: the 4 heads of a group read the same key, the two groups different ones.
          assert.deepEqual(breakdown.heads[1].key, breakdown.heads[0].key);
          assert.deepEqual(breakdown.heads[7].key, breakdown.heads[4].key);
          assert.notDeepEqual(breakdown.heads[4].key, breakdown.heads[0].key);
        }
      }
      // Each row's weights still sum to 1: the breakdown's Z is the row's.
      const row = Array.from({ length: ids.length }, (_, key) => queryKeyBreakdown(layerStages, 2, { batch: 0, query: ids.length - 1, key }).heads[5]);
      assertNear(row.reduce((sum, cell) => sum + cell.exponential, 0), row[0].exponentialSum, 1e-9, `layer ${layer}: Z`);
    }
    assert.ok(cells > 1000, `${cells} cells checked`);
  });

  it("q and k after RoPE, the scores and the weights equal transformers' Llama attention within 1e-4", () => {
    const fixture = readFixture<{
      inputIds: number[];
      layer: number;
      queryToken: number;
      numHeads: number;
      numKeyValueHeads: number;
      query: TensorJson;
      key: TensorJson;
      scores: TensorJson;
      weights: TensorJson;
    }>("attention/query-key-gqa.json");
    assert.deepEqual([fixture.numHeads, fixture.numKeyValueHeads], [config.numAttentionHeads, config.numKeyValueHeads]);
    const stages = model.forward([fixture.inputIds], { trace: true }).stages![fixture.layer];
    const [numHeads, headDim] = fixture.query.shape; // (nh, hs)
    const keyLength = fixture.key.shape[1]; // (nkv, S, hs)
    const flat = (json: TensorJson) => json.data as number[];
    for (let key = 0; key < keyLength; key++) {
      const breakdown = queryKeyBreakdown(stages, fixture.numKeyValueHeads, { batch: 0, query: fixture.queryToken, key });
      for (const head of breakdown.heads) {
        const label = `head ${head.head} key ${key}`;
        const keyValueHead = Math.floor(head.head / (numHeads / fixture.numKeyValueHeads));
        assert.equal(head.keyValueHead, keyValueHead, `${label}: K/V head`);
        assertVectorNear(head.query, flat(fixture.query).slice(head.head * headDim, (head.head + 1) * headDim), 1e-4, `${label}: q after RoPE`);
        const keyStart = (keyValueHead * keyLength + key) * headDim;
        assertVectorNear(head.key, flat(fixture.key).slice(keyStart, keyStart + headDim), 1e-4, `${label}: k after RoPE`);
        assertNear(head.productSum, flat(fixture.scores)[head.head * keyLength + key], 1e-4, `${label}: q . k`);
        assertNear(head.weight, flat(fixture.weights)[head.head * keyLength + key], 1e-4, `${label}: weight`);
      }
    }
  });
});

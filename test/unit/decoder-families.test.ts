/**
 * The TypeScript decoder against Hugging Face transformers (eager attention) for every family it
 * runs: Llama (biases, head_dim, llama3 and linear RoPE scaling), Mistral (sliding window), Qwen2
 * (q/k/v biases, a sliding window on one layer, also saved in shards), Qwen3 (q_norm / k_norm) and
 * GPT-2 (learned positions, LayerNorm, GELU MLP, biases), in float32 and as BF16/F16 checkpoints.
 * The fixtures are written by scripts/fixtures/make_family_fixtures.py.
 *
 * Shape legend: B batch, T new tokens, S = past + T keys, nh query heads, nkv key/value heads,
 * hs head size, V vocabulary.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sliceAxis } from "../../src/attention/tensor-operations";
import { Tensor } from "../../src/attention/tensor";
import { stageFormulas } from "../../src/attention/stage-formulas";
import { traceQuery } from "../../src/attention/stage-trace";
import { gelu, geluTanh, erf } from "../../src/model/activations";
import { mergeShardTensors, parseShardIndex, SHARD_INDEX_FILE, SINGLE_WEIGHTS_FILE } from "../../src/model/checkpoint-shards";
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { layerNorm } from "../../src/model/layer-norm";
import { readSafetensors } from "../../src/model/safetensors";
import { assertClose, FIXTURES, readFixture, tensorFromJson, type TensorJson } from "./helpers/fixtures";

interface StepFixture {
  inputIds: number[][];
  logits: TensorJson;
  attentions: TensorJson[];
}

interface FamilyFixture {
  family: string;
  savedDtype: string;
  layerWindows: (number | null)[];
  maskedCellsAreZero: boolean;
  prefill: StepFixture & { presentKeys: TensorJson[]; presentValues: TensorJson[] };
  decode: StepFixture[];
  batch: StepFixture & { attentionMask: number[][]; positionIds: number[][]; padQueryRowsUniformOverAllKeys: boolean };
}

const FAMILY_FIXTURES = [
  "llama-bias-llama3rope",
  "llama-linear-rope",
  "mistral-sliding",
  "qwen2",
  "qwen2-sharded",
  "qwen3",
  "gpt2",
  "llama-bias-llama3rope-bf16",
  "mistral-sliding-bf16",
  "qwen3-bf16",
  "gpt2-bf16",
  "qwen3-f16",
];

/** Absolute tolerance of attention weights and keys/values; logits get it relative to their size. */
const TOLERANCE = 1e-4;

/** Loads a checkpoint folder as the extension does: config.json and model.safetensors, or the index and its shards. */
function loadFamily(name: string): { model: DecoderModel; expected: FamilyFixture } {
  const folder = join(FIXTURES, "families", name);
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${name}/config.json`);
  let tensors: ReadonlyMap<string, Tensor>;
  if (existsSync(join(folder, SHARD_INDEX_FILE))) {
    const index = parseShardIndex(JSON.parse(readFileSync(join(folder, SHARD_INDEX_FILE), "utf8")), `${name}/${SHARD_INDEX_FILE}`);
    const shards = index.shards.map((file) => ({ file, tensors: readSafetensors(readFileSync(join(folder, file)), `${name}/${file}`).tensors }));
    tensors = mergeShardTensors(index, shards, `${name}/${SHARD_INDEX_FILE}`);
  } else {
    tensors = readSafetensors(readFileSync(join(folder, SINGLE_WEIGHTS_FILE)), `${name}/${SINGLE_WEIGHTS_FILE}`).tensors;
  }
  return { model: DecoderModel.fromTensors(config, tensors, name), expected: readFixture<FamilyFixture>(`families/${name}/expected.json`) };
}

/** |actual - expected| <= tolerance * max(1, |expected|) everywhere: absolute for small logits, relative for large ones. */
function assertLogitsClose(actual: Tensor, expected: Tensor, label: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  for (let i = 0; i < actual.size; i++) {
    const allowed = TOLERANCE * Math.max(1, Math.abs(expected.data[i]));
    const difference = Math.abs(actual.data[i] - expected.data[i]);
    assert.ok(difference <= allowed, `${label}: |difference| ${difference} > ${allowed} at flat index ${i} (actual ${actual.data[i]}, expected ${expected.data[i]})`);
  }
}

/** Rows `from..to` of one sequence of a (B, nh, T, S) map or a (B, T, V) logits tensor (axis 2 or 1). */
function rowsOf(tensor: Tensor, batch: number, axis: number, from: number, to: number): Tensor {
  return sliceAxis(sliceAxis(tensor, 0, batch, batch + 1), axis, from, to);
}

/** May the query in slot `querySlot` see key slot `keySlot`? Causal, inside the window, not a pad. */
function isVisible(querySlot: number, keySlot: number, window: number | null, keyIsReal: boolean): boolean {
  const distance = querySlot - keySlot;
  return distance >= 0 && (window === null || distance < window) && keyIsReal;
}

/**
 * Every masked cell of the real query rows of a (B, nh, T, S) map is exactly 0, and every visible
 * cell is positive. `keyMask` (B, S); query row i is slot S - T + i.
 */
function assertMaskedCellsZero(weights: Tensor, window: number | null, keyMask: readonly (readonly number[])[], label: string): void {
  const [batchSize, heads, queries, keys] = weights.shape;
  for (let batch = 0; batch < batchSize; batch++) {
    for (let query = 0; query < queries; query++) {
      const querySlot = keys - queries + query;
      if (keyMask[batch][querySlot] === 0) continue; // a pad query: checked on its own
      for (let head = 0; head < heads; head++) {
        for (let key = 0; key < keys; key++) {
          const value = weights.data[((batch * heads + head) * queries + query) * keys + key];
          if (isVisible(querySlot, key, window, keyMask[batch][key] === 1)) {
            assert.ok(value > 0, `${label}: visible cell (b ${batch}, h ${head}, q ${query}, k ${key}) is ${value}`);
          } else {
            assert.equal(value, 0, `${label}: masked cell (b ${batch}, h ${head}, q ${query}, k ${key}) must be exactly 0`);
          }
        }
      }
    }
  }
}

for (const name of FAMILY_FIXTURES) {
  describe(`decoder vs transformers: ${name}`, () => {
    const { model, expected } = loadFamily(name);
    const windows = model.config.slidingWindows;

    it("reads the family and the per-layer sliding windows from config.json", () => {
      assert.equal(model.config.family, expected.family);
      assert.deepEqual(windows, expected.layerWindows);
      assert.ok(expected.maskedCellsAreZero, "the fixture itself should have exact zeros on masked cells");
    });

    it("prefill: logits, every layer's attention weights (masked cells exactly 0) and present keys/values", () => {
      const { inputIds } = expected.prefill;
      const result = model.forward(inputIds);
      assertLogitsClose(result.logits, tensorFromJson(expected.prefill.logits), "logits");
      result.attentions.forEach((weights, layer) => {
        assertClose(weights, tensorFromJson(expected.prefill.attentions[layer]), TOLERANCE, `attention, layer ${layer}`);
        assertMaskedCellsZero(weights, windows[layer], result.keyMask, `attention, layer ${layer}`);
      });
      result.presentKeyValues.forEach(({ key, value }, layer) => {
        assertClose(key, tensorFromJson(expected.prefill.presentKeys[layer]), TOLERANCE, `keys (B, nkv, S, hs), layer ${layer}`);
        assertClose(value, tensorFromJson(expected.prefill.presentValues[layer]), TOLERANCE, `values (B, nkv, S, hs), layer ${layer}`);
      });
    });

    it("cached decoding: two tokens one at a time after the prefill", () => {
      const cache = model.createCache();
      model.forward(expected.prefill.inputIds, { cache });
      for (const [index, step] of expected.decode.entries()) {
        const result = model.forward(step.inputIds, { cache });
        assertLogitsClose(result.logits, tensorFromJson(step.logits), `logits, step ${index}`);
        result.attentions.forEach((weights, layer) => {
          assertClose(weights, tensorFromJson(step.attentions[layer]), TOLERANCE, `attention (B, nh, 1, S), step ${index}, layer ${layer}`);
          assertMaskedCellsZero(weights, windows[layer], result.keyMask, `attention, step ${index}, layer ${layer}`);
        });
      }
      assert.equal(cache.length, expected.prefill.inputIds[0].length + expected.decode.length);
    });

    it("left-padded batch: the real query rows match, with positions that skip the pads", () => {
      const { inputIds, attentionMask } = expected.batch;
      const result = model.forward(inputIds, { attentionMask });
      assert.deepEqual(result.positions, expected.batch.positionIds);
      const length = inputIds[0].length;
      const logits = tensorFromJson(expected.batch.logits);
      // transformers gives pad query rows a uniform 1/S over all keys; those rows are skipped here.
      assert.ok(expected.batch.padQueryRowsUniformOverAllKeys);
      attentionMask.forEach((row, batch) => {
        const firstReal = row.indexOf(1);
        assertLogitsClose(rowsOf(result.logits, batch, 1, firstReal, length), rowsOf(logits, batch, 1, firstReal, length), `logits of sequence ${batch}`);
        result.attentions.forEach((weights, layer) => {
          const expectedWeights = tensorFromJson(expected.batch.attentions[layer]);
          assertClose(rowsOf(weights, batch, 2, firstReal, length), rowsOf(expectedWeights, batch, 2, firstReal, length), TOLERANCE, `attention of sequence ${batch}, layer ${layer}`);
          // Here a pad query sees no key at all: its row is all zeros (never NaN).
          const padRows = rowsOf(weights, batch, 2, 0, firstReal);
          assert.ok(padRows.data.every((value) => value === 0), `pad query rows of sequence ${batch}, layer ${layer} must be all 0`);
        });
      });
      result.attentions.forEach((weights, layer) => assertMaskedCellsZero(weights, windows[layer], attentionMask, `batch attention, layer ${layer}`));
    });
  });
}

describe("sliding-window decoders: cached decoding equals the full forward", () => {
  for (const name of ["mistral-sliding", "qwen2"]) {
    it(`${name}: token by token with the cache, a prompt three times the window`, () => {
      const { model, expected } = loadFamily(name);
      const tokens = [...expected.prefill.inputIds[0], ...expected.decode.map((step) => step.inputIds[0][0])]; // 14 > window 4
      const full = model.forward([tokens]);
      const cache = model.createCache();
      tokens.forEach((token, slot) => {
        const step = model.forward([[token]], { cache });
        assertClose(step.logits, rowsOf(full.logits, 0, 1, slot, slot + 1), 2e-5, `logits of token ${slot}`);
        step.attentions.forEach((weights, layer) => {
          // The step's row spans the slot + 1 keys cached so far; the full forward's row the same keys and zeros after.
          const fullRow = rowsOf(full.attentions[layer], 0, 2, slot, slot + 1); // (1, nh, 1, S)
          assertClose(weights, sliceAxis(fullRow, 3, 0, slot + 1), 1e-6, `attention of token ${slot}, layer ${layer}`);
          assert.ok(sliceAxis(fullRow, 3, slot + 1, tokens.length).data.every((value) => value === 0));
        });
      });
      full.presentKeyValues.forEach(({ key }, layer) => assertClose(cache.layers[layer].keyValue!.key, key, 1e-5, `cached keys, layer ${layer}`));
    });
  }

  it("a left-padded batch decodes like its full forward too (the window counts slots, pads included)", () => {
    const { model, expected } = loadFamily("mistral-sliding");
    const { inputIds, attentionMask } = expected.batch;
    const full = model.forward(inputIds, { attentionMask });
    const cache = model.createCache();
    const length = inputIds[0].length;
    const prompt = 6;
    model.forward(inputIds.map((row) => row.slice(0, prompt)), { cache, attentionMask: attentionMask.map((row) => row.slice(0, prompt)) });
    for (let slot = prompt; slot < length; slot++) {
      const step = model.forward(inputIds.map((row) => [row[slot]]), { cache, attentionMask: attentionMask.map((row) => [row[slot]]) });
      assertClose(step.logits, sliceAxis(full.logits, 1, slot, slot + 1), 2e-5, `logits of slot ${slot}`);
      step.attentions.forEach((weights, layer) =>
        assertClose(weights, sliceAxis(sliceAxis(full.attentions[layer], 2, slot, slot + 1), 3, 0, slot + 1), 1e-6, `attention of slot ${slot}, layer ${layer}`),
      );
    }
  });
});

describe("decoder families: the stage trace and the building blocks", () => {
  it("the traced mask of a sliding layer shows the window, and the formula says why a key is hidden", () => {
    const { model, expected } = loadFamily("qwen2"); // layer 0 full, layer 1 window 4
    const result = model.forward(expected.prefill.inputIds, { trace: true });
    const stages = result.stages!;
    const query = 9;
    const fullLayer = traceQuery(stages[0], { batch: 0, head: 0, query });
    const slidingLayer = traceQuery(stages[1], { batch: 0, head: 0, query });
    const visible = (trace: typeof fullLayer) => trace.mask.map((value) => (value === 0 ? 1 : 0));
    assert.deepEqual(visible(fullLayer), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    assert.deepEqual(visible(slidingLayer), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(result.attentions[1].data.subarray(query * 12, query * 12 + 12), (value) => (value > 0 ? 1 : 0)), visible(slidingLayer));
    assert.match(stageFormulas(slidingLayer, { key: 2 })[2].note!, /7 slots before query 9: outside the sliding window/);
    assert.match(stageFormulas(slidingLayer, { key: 11 })[2].note!, /causal mask hides the future/);
    assert.match(stageFormulas(slidingLayer, { key: 7 })[2].note!, /is visible/);
  });

  it("GPT-2 has no RoPE: positions enter as rows of the learned table", () => {
    const { model } = loadFamily("gpt2");
    assert.equal(model.rotary, undefined);
    assert.ok(model.weights.positionEmbeddings);
    // The same token at two positions gets different logits; with the table zeroed they would agree.
    const result = model.forward([[5, 5]]);
    const [, , vocabulary] = result.logits.shape;
    const first = result.logits.data.subarray(0, vocabulary);
    const second = result.logits.data.subarray(vocabulary, 2 * vocabulary);
    assert.ok(first.some((value, index) => value !== second[index]));
  });

  it("erf and GELU: exact values, and the tanh form within 1e-3 of the exact one", () => {
    const known: [number, number][] = [
      [0, 0],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [-2, -0.9953222650189527],
      [2.9, 0.9999589021219005],
      [3.5, 0.9999992569016276],
    ];
    for (const [x, value] of known) assert.ok(Math.abs(erf(x) - value) < 1e-12, `erf(${x}) = ${erf(x)}, expected ${value}`);
    assert.ok(Math.abs(gelu(1) - 0.8413447460685429) < 1e-14);
    for (let z = -5; z <= 5; z += 0.25) assert.ok(Math.abs(gelu(z) - geluTanh(z)) < 1e-3, `gelu vs geluTanh at ${z}`);
    assert.ok(Math.abs(geluTanh(1) - 0.8411919906082768) < 1e-14); // torch.nn.functional.gelu(1, approximate="tanh")
  });

  it("layerNorm centres, scales to unit variance, then applies gain and bias", () => {
    const x = Tensor.fromNested([[1, 2, 3, 6]]); // mean 3, variance 3.5
    const gain = Tensor.fromNested([1, 2, 1, 1]);
    const bias = Tensor.fromNested([0, 0, 1, 0]);
    const deviation = Math.sqrt(3.5 + 1e-5);
    const expected = Tensor.fromNested([[-2 / deviation, (2 * -1) / deviation, 0 / deviation + 1, 3 / deviation]]);
    assertClose(layerNorm(x, gain, bias, 1e-5), expected, 1e-6, "layerNorm");
  });
});

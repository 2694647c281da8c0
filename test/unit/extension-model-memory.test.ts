import assert from "node:assert/strict";

import {
  budgetBytesOf,
  compareMapBytesOf,
  estimateRunMemory,
  exactLayerBytesOf,
  formatGibibytes,
  keyValueProjectionBytes,
  mapBytesOf,
  modelBMemoryFits,
  planComparisonMemory,
  planRunMemory,
} from "../../src/extension/model-memory";
import { DEFAULT_SETTINGS } from "../../src/extension/settings";
import { parseModelConfig, type DecoderConfig } from "../../src/model/config";
import { parameterCount } from "../../src/model/weights";

/** The sizes of published config.json files (the fields the estimate depends on). */
const SMOLLM2_135M = {
  model_type: "llama", hidden_size: 576, num_attention_heads: 9, num_key_value_heads: 3, num_hidden_layers: 30,
  intermediate_size: 1536, vocab_size: 49152, max_position_embeddings: 8192, rms_norm_eps: 1e-5, tie_word_embeddings: true, rope_theta: 100000,
};
const QWEN2_5_0_5B = {
  model_type: "qwen2", hidden_size: 896, num_attention_heads: 14, num_key_value_heads: 2, num_hidden_layers: 24,
  intermediate_size: 4864, vocab_size: 151936, max_position_embeddings: 32768, rms_norm_eps: 1e-6, tie_word_embeddings: true, rope_theta: 1000000,
};
const QWEN3_0_6B = {
  model_type: "qwen3", hidden_size: 1024, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128, num_hidden_layers: 28,
  intermediate_size: 3072, vocab_size: 151936, max_position_embeddings: 40960, rms_norm_eps: 1e-6, tie_word_embeddings: true, rope_theta: 1000000,
};
/** A model small enough to add up by hand: C 64, nh = nkv 4, hs 16, L 2, I 128, V 100, tied. */
const TINY_MHA = {
  model_type: "llama", hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 4, num_hidden_layers: 2,
  intermediate_size: 128, vocab_size: 100, max_position_embeddings: 256, rms_norm_eps: 1e-5, tie_word_embeddings: true, rope_theta: 10000,
};
const BUDGET = budgetBytesOf(DEFAULT_SETTINGS.memoryBudgetMB);
const MEBIBYTE = 1024 ** 2;

/** `config` with its key/value heads grouped into `groups`, as convertKeyValueHeads makes its config. */
function convertedConfig(config: DecoderConfig, groups: number): DecoderConfig {
  return { ...config, numKeyValueHeads: groups };
}

describe("extension: does a run fit the panel's memory budget", () => {
  it("counts the parameters as the model cards do (a tied head once)", () => {
    assert.equal(parameterCount(parseModelConfig(SMOLLM2_135M)), 134_515_008);
    assert.equal(parameterCount(parseModelConfig(QWEN2_5_0_5B)), 494_032_768);
    assert.equal(parameterCount(parseModelConfig(QWEN3_0_6B)), 596_049_920);
  });

  it("maps cost L x nh x T x T cells at 4, 2 or 1 byte (plus a float32 scale per row at 8 bits)", () => {
    const config = parseModelConfig(SMOLLM2_135M);
    const cells = 30 * 9 * 1024 * 1024;
    assert.equal(mapBytesOf(config, 1024, "float32"), 4 * cells);
    assert.equal(mapBytesOf(config, 1024, "float16"), 2 * cells);
    assert.equal(mapBytesOf(config, 1024, "uint8"), cells + 30 * 9 * 1024 * 4);
  });

  it("a bf16 checkpoint's weights count at the bytes they are held in (2 a matrix value), fed as float16 plus their float32 Cast", () => {
    const config = parseModelConfig(QWEN2_5_0_5B);
    const parameters = parameterCount(config);
    // Matrices at 2 bytes, norm gains and biases at 4: what heldBytesOfCheckpoint gives for the real file.
    const vectors = 24 * (2 * 896 + 896 + 2 * 128) + 896;
    const heldWeightBytes = (parameters - vectors) * 2 + vectors * 4;
    const float32 = planRunMemory(config, 512, BUDGET);
    const half = planRunMemory({ config, heldWeightBytes }, 512, BUDGET);
    assert.equal(float32.weightsBytes, parameters * 4);
    assert.equal(half.weightsBytes, heldWeightBytes);
    // Weights as inputs: the largest feed is one head slice, 16384 x 896 values (a layer is 14.9M), as fed plus as float32.
    const layerValues = (parameters - 151936 * 896 - 896) / 24;
    assert.equal(float32.runtimeBytes, Math.max(layerValues, 16384 * 896) * 8);
    assert.equal(half.runtimeBytes, Math.max(layerValues, 16384 * 896) * 6);
    assert.ok(half.totalBytes < float32.totalBytes - 0.9 * 2 ** 30, "about 0.9 GiB less");
    assert.match(half.reason, /weights 0\.92 GiB/);
    // A model's own catalog entry is planned the same way (heldWeightBytes from its headers).
    assert.equal(estimateRunMemory({ config, heldWeightBytes }, BUDGET).weightsBytes, heldWeightBytes);
  });

  it("SmolLM2-135M at 1024 tokens fits with float32 maps: every part is named with its size", () => {
    const plan = planRunMemory(parseModelConfig(SMOLLM2_135M), 1024, BUDGET);
    assert.equal(plan.weightsBytes, 134_515_008 * 4);
    assert.equal(plan.cacheBytes, 2 * 30 * 3 * 1024 * 64 * 4);
    assert.equal(plan.mapPrecision, "float32");
    assert.equal(plan.totalBytes, plan.weightsBytes + plan.runtimeBytes + plan.cacheBytes + plan.activationBytes + plan.mapBytes);
    assert.ok(plan.totalBytes <= BUDGET);
    assert.match(plan.reason, /^Fits: 1024 tokens need about 1\.86 GiB \(weights 0\.50 GiB, runtime 72 MiB, KV cache 45 MiB, activations 0\.19 GiB, maps 1\.05 GiB \(float32\)\) of the budget of 3\.00 GiB/);
  });

  it("Qwen2.5-0.5B at 1024 tokens keeps its maps as 8 bits per row, the layer on screen exact beside them: finer maps would pass the budget", () => {
    const config = parseModelConfig(QWEN2_5_0_5B);
    const plan = planRunMemory(config, 1024, BUDGET);
    assert.equal(plan.mapPrecision, "uint8");
    const exact = exactLayerBytesOf(config, 1024);
    assert.equal(exact, 14 * 1024 * 1024 * 4 + 24 * 1024 * 896 * 4, "one layer's float32 maps and every layer's input");
    assert.equal(plan.mapBytes, mapBytesOf(config, 1024, "uint8") + exact);
    const besideMaps = plan.totalBytes - plan.mapBytes;
    assert.ok(besideMaps + mapBytesOf(config, 1024, "float16") + exact > BUDGET, "float16 would not fit");
    assert.ok(besideMaps + mapBytesOf(config, 1024, "float32") > BUDGET, "float32 would not fit");
    assert.equal(planRunMemory(config, 768, BUDGET).mapPrecision, "float32", "768 tokens keep float32");
    assert.equal(planRunMemory(config, 1024, budgetBytesOf(8192)).mapPrecision, "float32", "a larger budget keeps float32");
  });

  it("a run that does not fit even at 8 bits is refused with the numbers and how many tokens would fit", () => {
    const config = parseModelConfig(QWEN3_0_6B);
    const plan = planRunMemory(config, 1024, BUDGET);
    assert.equal(plan.fits, false);
    assert.equal(plan.mapPrecision, undefined);
    assert.match(plan.reason, /^Too large for the panel: 1024 tokens need about 3\.52 GiB \(weights 2\.22 GiB, .*maps 0\.61 GiB \(uint8\)\), more than the budget of 3\.00 GiB \(attentionLens\.memoryBudgetMB\)\. Select less text \(up to about (\d+) tokens fit\)/);
    const fitting = Number(/up to about (\d+) tokens/.exec(plan.reason)?.[1]);
    assert.equal(planRunMemory(config, fitting, BUDGET).fits, true, "the number said fits");
    assert.equal(planRunMemory(config, fitting + 1, BUDGET).fits, false, "and is the most that fits");
  });

  it("a model whose weights leave no room says to pick a smaller model; Select Model lists it as too large", () => {
    const config = parseModelConfig(QWEN2_5_0_5B);
    const small = budgetBytesOf(1024);
    assert.match(planRunMemory(config, 128, small).reason, /Not even 2 tokens fit beside the model's weights .*pick a smaller model/);
    const listing = estimateRunMemory(config, small);
    assert.equal(listing.fits, false);
    assert.equal(estimateRunMemory(config, BUDGET).fits, true);
  });

  describe("compare mode: model B planned beside model A", () => {
    it("the tiny MHA model with itself grouped into 2 key/value heads, T = 10: every part by hand, B's weights only its new key/value projections", () => {
      const configA = parseModelConfig(TINY_MHA);
      const configB = convertedConfig(configA, 2);
      // Parameters: embedding 100 x 64 = 6400; per layer 2 norms of 64, q, k, v, o of 64 x 64, gate, up, down of 128 x 64; the final norm 64.
      assert.equal(parameterCount(configA), 6400 + 2 * (2 * 64 + 4 * 4096 + 3 * 8192) + 64); // 88,640
      // B: k and v of (2 x 16, 64) = 2048 each.
      assert.equal(parameterCount(configB), 6400 + 2 * (2 * 64 + 2 * 4096 + 2 * 2048 + 3 * 8192) + 64); // 80,448
      assert.equal(keyValueProjectionBytes(configB), 2 * 2 * 2048 * 4, "L x (k_proj + v_proj) x 4 bytes");

      const plan = planComparisonMemory(configA, { config: configB, convertedFromA: true }, 10, 2 * MEBIBYTE);
      // A: weights 88,640 x 4; the layer graphs hold them again (under 256 MiB); KV 2 x L x nkv x T x hs x 4.
      assert.deepEqual(plan.a, { weightsBytes: 354_560, runtimeBytes: 354_560, cacheBytes: 2 * 2 * 4 * 10 * 16 * 4, activationBytes: 5 * 4 * 10 * 10 * 4 + 3 * 10 * 128 * 4, mapBytes: 2 * 4 * 10 * 10 * 4 });
      // B: its k/v projections alone (the rest is A's), its own graphs with all 80,448 parameters, half A's KV cache; its maps, A's again and |A - B|.
      assert.deepEqual(plan.b, { weightsBytes: 32_768, runtimeBytes: 321_792, cacheBytes: 5_120, activationBytes: 23_360, mapBytes: 3 * 3_200 });
      assert.equal(plan.activationBytes, 23_360, "A, then B: one working set counts");
      assert.equal(plan.mapPrecision, "float32");
      assert.equal(plan.totalBytes, 354_560 + 354_560 + 10_240 + 23_360 + 3_200 + 32_768 + 321_792 + 5_120 + 9_600); // 1,115,200
      assert.equal(plan.fits, true);
      assert.match(
        plan.reason,
        /^Fits with model B: 10 tokens through both models need about 1 MiB \(A: weights 346 KiB, runtime 346 KiB, KV cache 10 KiB, activations 23 KiB, maps 3 KiB \(float32\); B: weights 32 KiB \(its key\/value projections; the rest is A's\), runtime 314 KiB, KV cache 5 KiB, activations 23 KiB \(B runs after A: only the larger counts\), maps 9 KiB \(A's again, B's and \|A - B\|\)\) of the budget of 2 MiB \(attentionLens\.memoryBudgetMB\)\.$/,
      );
      // The same B as a model of its own (its files read apart from A's): all of its weights count.
      const separate = planComparisonMemory(configA, { config: configB, convertedFromA: false }, 10, 2 * MEBIBYTE);
      assert.equal(separate.b.weightsBytes, 321_792);
      assert.equal(separate.totalBytes, plan.totalBytes - 32_768 + 321_792);
    });

    it("activations count once, the larger of A's and B's: the models run one after the other", () => {
      const configA = parseModelConfig(TINY_MHA);
      const configB = parseModelConfig({ ...TINY_MHA, intermediate_size: 256 });
      const plan = planComparisonMemory(configA, { config: configB, convertedFromA: false }, 10, 2 * MEBIBYTE);
      assert.equal(plan.a.activationBytes, 23_360);
      assert.equal(plan.b.activationBytes, 5 * 4 * 10 * 10 * 4 + 3 * 10 * 256 * 4); // 38,720
      assert.equal(plan.activationBytes, 38_720);
      const { a, b } = plan;
      assert.equal(plan.totalBytes, a.weightsBytes + a.runtimeBytes + a.cacheBytes + a.mapBytes + b.weightsBytes + b.runtimeBytes + b.cacheBytes + b.mapBytes + 38_720);
    });

    it("the map precision is the finest that fits both: SmolLM2-135M keeps float32 alone, 8 bits beside its MQA conversion", () => {
      const config = parseModelConfig(SMOLLM2_135M);
      const modelB = { config: convertedConfig(config, 1), convertedFromA: true };
      assert.equal(planRunMemory(config, 1024, BUDGET).mapPrecision, "float32");
      const plan = planComparisonMemory(config, modelB, 1024, BUDGET);
      assert.equal(plan.mapPrecision, "uint8");
      assert.equal(plan.b.mapBytes, compareMapBytesOf(config, modelB.config, 1024, "uint8"));
      assert.equal(plan.a.mapBytes, mapBytesOf(config, 1024, "uint8") + exactLayerBytesOf(config, 1024), "A's maps as the Attention tab keeps them: the exact layer beside 8-bit maps");
      assert.ok(plan.totalBytes <= BUDGET);
      const besideMaps = plan.totalBytes - plan.a.mapBytes - plan.b.mapBytes;
      const float16 = mapBytesOf(config, 1024, "float16") + exactLayerBytesOf(config, 1024) + compareMapBytesOf(config, modelB.config, 1024, "float16");
      assert.ok(besideMaps + float16 > BUDGET, "float16 would not fit both");
      assert.equal(planComparisonMemory(config, modelB, 256, BUDGET).mapPrecision, "float32", "256 tokens keep float32 for both");
    });

    it("a pair that does not fit is refused with both models' parts and how many tokens fit for both", () => {
      const config = parseModelConfig(QWEN2_5_0_5B);
      assert.equal(planRunMemory(config, 1024, BUDGET).fits, true, "A alone fits");
      const modelB = { config: convertedConfig(config, 1), convertedFromA: true };
      const plan = planComparisonMemory(config, modelB, 1024, BUDGET);
      assert.equal(plan.fits, false);
      assert.equal(plan.mapPrecision, undefined);
      assert.equal(plan.b.weightsBytes, 24 * 2 * (64 * 896 + 64) * 4, "per layer k_proj and v_proj of (1 x 64, 896) and their biases (Qwen2 has them)");
      assert.match(
        plan.reason,
        /^Too large for the panel with model B: 1024 tokens through both models need about [\d.]+ GiB \(A: weights 1\.84 GiB, .*maps [\d.]+ GiB \(uint8\); B: weights 11 MiB \(its key\/value projections; the rest is A's\), .*\), more than the budget of 3\.00 GiB \(attentionLens\.memoryBudgetMB\)\. Select less text \(up to about (\d+) tokens fit for both\), lower attentionLens\.maxTokens, pick a smaller model B, or raise attentionLens\.memoryBudgetMB/,
      );
      const fitting = Number(/up to about (\d+) tokens/.exec(plan.reason)?.[1]);
      assert.equal(planComparisonMemory(config, modelB, fitting, BUDGET).fits, true, "the number said fits");
      assert.equal(planComparisonMemory(config, modelB, fitting + 1, BUDGET).fits, false, "and is the most that fits");
      // A second 0.5B model of its own beside it leaves no room at all.
      const separate = planComparisonMemory(config, { config, convertedFromA: false }, 128, BUDGET);
      assert.match(separate.reason, /Not even 2 tokens fit beside both models' weights .*pick a smaller model B/);
    });

    it("a model B picked in the panel is checked at the request's map precision; each candidate gets its sentence", () => {
      const config = parseModelConfig(SMOLLM2_135M);
      const candidates = [
        { modelId: "smollm2::kv1-mean", model: { config: convertedConfig(config, 1), convertedFromA: true } },
        { modelId: "qwen", model: { config: parseModelConfig(QWEN3_0_6B), convertedFromA: false } },
      ];
      // Show Attention kept float32 maps (A alone fits): the conversion fits beside A only with coarser maps.
      const [converted, other] = modelBMemoryFits(config, candidates, 1024, BUDGET, "float32");
      assert.equal(converted.modelId, "smollm2::kv1-mean");
      assert.equal(converted.fits, false);
      assert.match(converted.reason, /maps [\d.]+ GiB \(float32\);.*With every map at uint8 the pair fits: run "Compare Models" \(or "Convert to GQA\.\.\." for a conversion of A\) with this model B/);
      assert.equal(other.fits, false);
      assert.match(other.reason, /pick a smaller model B/);
      // At 64 tokens both fit, float32 or not.
      assert.deepEqual(modelBMemoryFits(config, candidates, 64, BUDGET, "float32").map((fit) => fit.fits), [true, true]);
    });
  });

  it("formats small sizes without reading as zero", () => {
    assert.equal(formatGibibytes(87_680), "86 KiB");
    assert.equal(formatGibibytes(12 * 1024 ** 2), "12 MiB");
    assert.equal(formatGibibytes(1.5 * 1024 ** 3), "1.50 GiB");
  });
});

import assert from "node:assert/strict";

import { budgetBytesOf, estimateRunMemory, exactLayerBytesOf, formatGibibytes, mapBytesOf, planRunMemory } from "../../src/extension/model-memory";
import { DEFAULT_SETTINGS } from "../../src/extension/settings";
import { parseModelConfig } from "../../src/model/config";
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
const BUDGET = budgetBytesOf(DEFAULT_SETTINGS.memoryBudgetMB);

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

  it("formats small sizes without reading as zero", () => {
    assert.equal(formatGibibytes(87_680), "86 KiB");
    assert.equal(formatGibibytes(12 * 1024 ** 2), "12 MiB");
    assert.equal(formatGibibytes(1.5 * 1024 ** 3), "1.50 GiB");
  });
});

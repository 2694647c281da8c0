import assert from "node:assert/strict";

import { estimateRunMemory, formatGibibytes, ONNX_PROTOBUF_LIMIT_BYTES, PANEL_MEMORY_LIMIT_BYTES } from "../../src/extension/model-memory";
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

describe("extension: does a model fit the panel's memory", () => {
  it("counts the parameters as the model cards do (a tied head once)", () => {
    assert.equal(parameterCount(parseModelConfig(SMOLLM2_135M)), 134_515_008);
    assert.equal(parameterCount(parseModelConfig(QWEN2_5_0_5B)), 494_032_768);
    assert.equal(parameterCount(parseModelConfig(QWEN3_0_6B)), 596_049_920);
  });

  it("SmolLM2-135M fits: 0.5 GiB of float32 weights, about 1.5 GiB held", () => {
    const estimate = estimateRunMemory(parseModelConfig(SMOLLM2_135M));
    assert.equal(estimate.weightsBytesFloat32, 134_515_008 * 4);
    assert.equal(estimate.estimatedBytes, 3 * estimate.weightsBytesFloat32);
    assert.equal(estimate.fits, true);
    assert.equal(estimate.reason, "Fits: its float32 weights take 0.5 GiB; the panel needs about 1.5 GiB of its 4.0 GiB.");
  });

  it("Qwen2.5-0.5B does not fit: under 2 GiB of weights, but about 5.5 GiB held; says what to do", () => {
    const estimate = estimateRunMemory(parseModelConfig(QWEN2_5_0_5B));
    assert.ok(estimate.weightsBytesFloat32 < ONNX_PROTOBUF_LIMIT_BYTES);
    assert.ok(estimate.estimatedBytes > PANEL_MEMORY_LIMIT_BYTES);
    assert.equal(estimate.fits, false);
    assert.match(estimate.reason, /float32 weights take 1\.8 GiB, held about 3 times .*about 5\.5 GiB, more than the 4\.0 GiB a VS Code webview tolerates/);
    assert.match(estimate.reason, /Pick a smaller model .*larger models come with the layer-by-layer runtime/);
  });

  it("Qwen3-0.6B does not fit: its float32 weights alone pass the 2 GiB an ONNX protobuf holds", () => {
    const estimate = estimateRunMemory(parseModelConfig(QWEN3_0_6B));
    assert.ok(estimate.weightsBytesFloat32 >= ONNX_PROTOBUF_LIMIT_BYTES);
    assert.equal(estimate.fits, false);
    assert.match(estimate.reason, /float32 weights take 2\.2 GiB, and an ONNX model \(one protobuf message\) holds less than 2\.0 GiB/);
  });

  it("formats small sizes without reading as zero", () => {
    assert.equal(formatGibibytes(87_680), "86 KiB");
    assert.equal(formatGibibytes(12 * 1024 ** 2), "12 MiB");
    assert.equal(formatGibibytes(1.5 * 1024 ** 3), "1.5 GiB");
  });
});

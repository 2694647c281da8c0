import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseModelConfig, toHuggingFaceConfig } from "../../src/model/config";
import { FIXTURES } from "./helpers/fixtures";

const minimal = {
  hidden_size: 64,
  num_attention_heads: 8,
  num_hidden_layers: 2,
  intermediate_size: 128,
  vocab_size: 100,
  max_position_embeddings: 256,
  rms_norm_eps: 1e-5,
};

describe("model config (Hugging Face config.json)", () => {
  it("reads a config.json written by transformers (rope_parameters, GQA)", () => {
    const json = JSON.parse(readFileSync(join(FIXTURES, "llama", "tiny-gqa", "config.json"), "utf8"));
    const config = parseModelConfig(json);
    assert.deepEqual(
      { ...config },
      {
        hiddenSize: 32,
        numAttentionHeads: 4,
        numKeyValueHeads: 2,
        numHiddenLayers: 2,
        intermediateSize: 80,
        headDim: 8,
        family: "llama",
        normalization: "rms",
        positionEncoding: "rope",
        ropeTheta: 10000,
        ropeScaling: { type: "default" },
        gatedMlp: true,
        activation: "silu",
        queryKeyValueBias: false,
        outputBias: false,
        mlpBias: false,
        queryKeyNorm: false,
        slidingWindows: [null, null],
        normEpsilon: 1e-5,
        vocabSize: 97,
        maxPositionEmbeddings: 64,
        tieWordEmbeddings: false,
        bosTokenId: 1,
        eosTokenId: 2,
        padTokenId: 0,
      },
    );
  });

  it("fills Hugging Face's defaults: nkv = nh, head_dim = C / nh, rope_theta 10000, untied", () => {
    const config = parseModelConfig(minimal);
    assert.equal(config.numKeyValueHeads, 8);
    assert.equal(config.headDim, 8);
    assert.equal(config.ropeTheta, 10000);
    assert.equal(config.tieWordEmbeddings, false);
    assert.equal(parseModelConfig({ ...minimal, rope_theta: 500000 }).ropeTheta, 500000);
  });

  it("round-trips through toHuggingFaceConfig", () => {
    const config = parseModelConfig({ ...minimal, num_key_value_heads: 2, tie_word_embeddings: true, eos_token_id: [2, 3] });
    assert.equal(config.eosTokenId, 2);
    assert.deepEqual(parseModelConfig(toHuggingFaceConfig(config)), config);
  });

  it("names every missing field", () => {
    const { hidden_size: _hidden, vocab_size: _vocab, ...rest } = minimal;
    assert.throws(() => parseModelConfig(rest, "models/x/config.json"), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /models\/x\/config.json is missing "hidden_size", "vocab_size"/);
      return true;
    });
    assert.throws(() => parseModelConfig([1, 2]), /expected a JSON object/);
  });

  it("refuses invalid values with the field's name", () => {
    assert.throws(() => parseModelConfig({ ...minimal, num_key_value_heads: 3 }), /num_key_value_heads \(3\) must divide num_attention_heads \(8\)/);
    assert.throws(() => parseModelConfig({ ...minimal, hidden_size: "64" }), /"hidden_size" must be a positive integer, found "64"/);
    assert.throws(() => parseModelConfig({ ...minimal, hidden_size: 60 }), /hidden_size \(60\) is not divisible by num_attention_heads \(8\)/);
    assert.throws(() => parseModelConfig({ ...minimal, rms_norm_eps: 0 }), /"rms_norm_eps" must be a positive number/);
    assert.throws(() => parseModelConfig({ ...minimal, model_type: "bert" }), /model_type "bert" is not supported; Attention Lens runs "llama", "mistral", "qwen2", "qwen3", "gpt2" models/);
    assert.throws(() => parseModelConfig({ ...minimal, rope_scaling: { type: "linear" } }), /rope_scaling: "factor" must be a positive number/);
    assert.throws(() => parseModelConfig({ ...minimal, rope_parameters: { rope_type: "yarn" } }), /RoPE type "yarn" is not supported/);
    assert.throws(() => parseModelConfig({ ...minimal, tie_word_embeddings: "yes" }), /"tie_word_embeddings" must be true or false/);
  });
});

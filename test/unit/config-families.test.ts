import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ropeInverseFrequencies } from "../../src/attention/rotary-embedding";
import { ConfigError, parseModelConfig } from "../../src/model/config";
import { checkCheckpointTensors, expectedWeightShapes, parameterCount } from "../../src/model/weights";
import { FIXTURES, readFixture } from "./helpers/fixtures";

/** The config.json transformers saved for a family fixture (scripts/fixtures/make_family_fixtures.py). */
function familyConfig(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, "families", name, "config.json"), "utf8")) as Record<string, unknown>;
}

interface FamilyExpected {
  tensorNames: string[];
  tensors: { name: string; shape: number[] }[];
  layerWindows: (number | null)[];
  inverseFrequencies?: number[];
}

const FAMILIES = ["llama-bias-llama3rope", "llama-linear-rope", "mistral-sliding", "qwen2", "qwen3", "gpt2"];

describe("config.json of every family (saved by transformers)", () => {
  for (const name of FAMILIES) {
    it(`${name}: the tensors the config asks for are exactly those transformers saved, with their shapes`, () => {
      const config = parseModelConfig(familyConfig(name), `${name}/config.json`);
      const expected = readFixture<FamilyExpected>(`families/${name}/expected.json`);
      const saved = new Map(expected.tensors.map((tensor) => [tensor.name, tensor.shape]));
      assert.deepEqual(checkCheckpointTensors(config, saved), []);
      assert.deepEqual([...expectedWeightShapes(config, config.family === "gpt2" ? "transformer." : undefined).keys()].sort(), [...expected.tensorNames].sort());
      assert.deepEqual(config.slidingWindows, expected.layerWindows);
      const savedParameters = expected.tensors.reduce((sum, tensor) => sum + tensor.shape.reduce((a, b) => a * b, 1), 0);
      assert.equal(parameterCount(config), savedParameters);
    });
  }

  it("llama: attention_bias covers q, k, v and o; mlp_bias the MLP; head_dim is kept; llama3 RoPE", () => {
    const config = parseModelConfig(familyConfig("llama-bias-llama3rope"));
    assert.equal(config.family, "llama");
    assert.deepEqual([config.queryKeyValueBias, config.outputBias, config.mlpBias], [true, true, true]);
    assert.equal(config.headDim, 16);
    assert.equal(config.hiddenSize, 48);
    assert.equal(config.ropeScaling.type, "llama3");
  });

  it("RoPE frequencies (default, linear, llama3) equal transformers' inv_freq", () => {
    for (const name of ["llama-bias-llama3rope", "llama-linear-rope", "qwen3", "mistral-sliding"]) {
      const config = parseModelConfig(familyConfig(name));
      const expected = readFixture<FamilyExpected>(`families/${name}/expected.json`).inverseFrequencies!;
      const actual = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
      assert.equal(actual.length, expected.length);
      actual.forEach((value, index) => assert.ok(Math.abs(value - expected[index]) <= 1e-7 * Math.max(1, expected[index]), `${name} [${index}]: ${value} vs ${expected[index]}`));
    }
  });

  it("mistral: sliding_window on every layer; qwen2: only the layers from max_window_layers on", () => {
    assert.deepEqual(parseModelConfig(familyConfig("mistral-sliding")).slidingWindows, [4, 4]);
    assert.deepEqual(parseModelConfig(familyConfig("qwen2")).slidingWindows, [null, 4]);
    const { layer_types: _types, ...withoutLayerTypes } = familyConfig("qwen2");
    assert.deepEqual(parseModelConfig(withoutLayerTypes).slidingWindows, [null, 4]);
    assert.deepEqual(parseModelConfig({ ...withoutLayerTypes, use_sliding_window: false }).slidingWindows, [null, null]);
  });

  it("qwen2 has q/k/v biases and none on o_proj; qwen3 normalizes q and k", () => {
    const qwen2 = parseModelConfig(familyConfig("qwen2"));
    assert.deepEqual([qwen2.queryKeyValueBias, qwen2.outputBias, qwen2.queryKeyNorm, qwen2.tieWordEmbeddings], [true, false, false, true]);
    const qwen3 = parseModelConfig(familyConfig("qwen3"));
    assert.deepEqual([qwen3.queryKeyValueBias, qwen3.queryKeyNorm, qwen3.headDim], [false, true, 16]);
  });

  it("gpt2: its own field names, learned positions, LayerNorm, GELU, tied; never asked for Llama's fields", () => {
    const config = parseModelConfig(familyConfig("gpt2"));
    assert.deepEqual(
      [config.family, config.hiddenSize, config.numAttentionHeads, config.numKeyValueHeads, config.intermediateSize, config.maxPositionEmbeddings],
      ["gpt2", 32, 4, 4, 128, 64],
    );
    assert.deepEqual([config.positionEncoding, config.normalization, config.activation, config.gatedMlp, config.tieWordEmbeddings], ["learned", "layer", "gelu-tanh", false, true]);
    assert.throws(() => parseModelConfig({ model_type: "gpt2", vocab_size: 10 }, "g/config.json"), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, 'g/config.json is missing "n_embd", "n_head", "n_layer", "n_positions"; a gpt2 config.json needs them');
      return true;
    });
    assert.throws(() => parseModelConfig({ ...familyConfig("gpt2"), activation_function: "relu" }), /activation_function "relu" is not supported/);
  });

  it("GPT-2 tensors without the transformer. prefix (the original OpenAI conversion) and its mask buffers are accepted", () => {
    const config = parseModelConfig(familyConfig("gpt2"));
    const expected = readFixture<FamilyExpected>("families/gpt2/expected.json");
    const unprefixed = new Map(expected.tensors.map((tensor) => [tensor.name.replace(/^transformer\./, ""), tensor.shape]));
    unprefixed.set("h.0.attn.bias", [1, 1, 64, 64]);
    assert.deepEqual(checkCheckpointTensors(config, unprefixed), []);
  });

  it("strict: a missing tensor and an unused one are both listed", () => {
    const config = parseModelConfig(familyConfig("qwen2"));
    const saved = new Map(readFixture<FamilyExpected>("families/qwen2/expected.json").tensors.map((tensor) => [tensor.name, tensor.shape]));
    saved.delete("model.layers.1.self_attn.k_proj.bias");
    saved.set("model.layers.0.self_attn.o_proj.bias", [32]);
    const problems = checkCheckpointTensors(config, saved, "w.safetensors");
    assert.equal(problems.length, 2);
    assert.match(problems[0], /w.safetensors lacks 1 tensor\(s\) a qwen2 model of this config.json needs: model.layers.1.self_attn.k_proj.bias/);
    assert.match(problems[1], /holds 1 tensor\(s\) a qwen2 model of this config.json does not use: model.layers.0.self_attn.o_proj.bias/);
  });
});

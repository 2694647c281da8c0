import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { leftPad } from "../../src/attention/left-padding";
import { sliceAxis } from "../../src/attention/tensor-operations";
import { Tensor } from "../../src/attention/tensor";
import { parseModelConfig, toHuggingFaceConfig, type DecoderConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { writeSafetensors } from "../../src/model/safetensors-writer";
import { decoderWeightsToTensors, randomDecoderWeights } from "../../src/model/weights";
import { assertClose, FIXTURES, readFixture, tensorFromJson, type TensorJson } from "./helpers/fixtures";

interface StepFixture {
  inputIds: number[][];
  logits: TensorJson;
  attentions: TensorJson[];
}

interface LlamaFixture {
  prefill: StepFixture & { presentKeys: TensorJson[]; presentValues: TensorJson[] };
  decode: StepFixture[];
  batch: StepFixture & { attentionMask: number[][]; positionIds: number[][] };
}

/** Loads a checkpoint folder the way the extension will: config.json + model.safetensors. */
function loadCheckpoint(name: string): { model: DecoderModel; expected: LlamaFixture } {
  const folder = join(FIXTURES, "llama", name);
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${name}/config.json`);
  const file = readSafetensors(readFileSync(join(folder, "model.safetensors")), `${name}/model.safetensors`);
  return { model: DecoderModel.fromTensors(config, file.tensors), expected: readFixture<LlamaFixture>(`llama/${name}/expected.json`) };
}

/** Rows `from..to` of axis 2 of every (B, nh, T, S) map, for comparing real tokens only. */
function rows(tensor: Tensor, batch: number, from: number, to: number): Tensor {
  return sliceAxis(sliceAxis(tensor, 0, batch, batch + 1), 2, from, to);
}

for (const name of ["tiny-gqa", "tiny-mqa-tied"]) {
  describe(`Llama decoder vs Hugging Face transformers (${name})`, () => {
    const { model, expected } = loadCheckpoint(name);

    it("prefill: logits, every layer's attention weights and present keys/values", () => {
      const result = model.forward(expected.prefill.inputIds);
      assertClose(result.logits, tensorFromJson(expected.prefill.logits), 1e-4, "logits");
      result.attentions.forEach((weights, layer) =>
        assertClose(weights, tensorFromJson(expected.prefill.attentions[layer]), 1e-5, `attention, layer ${layer}`),
      );
      result.presentKeyValues.forEach(({ key, value }, layer) => {
        assertClose(key, tensorFromJson(expected.prefill.presentKeys[layer]), 1e-5, `keys, layer ${layer}`);
        assertClose(value, tensorFromJson(expected.prefill.presentValues[layer]), 1e-5, `values, layer ${layer}`);
      });
    });

    it("cached decoding: one token at a time after the prefill", () => {
      const cache = model.createCache();
      model.forward(expected.prefill.inputIds, { cache });
      for (const [index, step] of expected.decode.entries()) {
        const result = model.forward(step.inputIds, { cache });
        assertClose(result.logits, tensorFromJson(step.logits), 1e-4, `logits, step ${index}`);
        result.attentions.forEach((weights, layer) =>
          assertClose(weights, tensorFromJson(step.attentions[layer]), 1e-5, `attention, step ${index}, layer ${layer}`),
        );
      }
      assert.equal(cache.length, expected.prefill.inputIds[0].length + expected.decode.length);
    });

    it("left-padded batch: the real tokens match transformers with position ids that skip pads", () => {
      const { inputIds, attentionMask } = expected.batch;
      const result = model.forward(inputIds, { attentionMask });
      assert.deepEqual(result.positions, expected.batch.positionIds);
      const logits = tensorFromJson(expected.batch.logits);
      const length = inputIds[0].length;
      attentionMask.forEach((row, batch) => {
        const firstReal = row.indexOf(1);
        const real = (t: Tensor) => sliceAxis(sliceAxis(t, 0, batch, batch + 1), 1, firstReal, length);
        assertClose(real(result.logits), real(logits), 1e-4, `logits of sequence ${batch}`);
        result.attentions.forEach((weights, layer) =>
          assertClose(
            rows(weights, batch, firstReal, length),
            rows(tensorFromJson(expected.batch.attentions[layer]), batch, firstReal, length),
            1e-5,
            `attention, sequence ${batch}, layer ${layer}`,
          ),
        );
      });
    });
  });
}

describe("Llama decoder equivalences", () => {
  const config: DecoderConfig = parseModelConfig({
    hidden_size: 32,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    num_hidden_layers: 3,
    intermediate_size: 64,
    vocab_size: 50,
    max_position_embeddings: 32,
    rms_norm_eps: 1e-5,
  });
  const model = new DecoderModel(config, randomDecoderWeights(config, 3, 0.2, 0.1));
  const tokens = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7];

  it("decoding token by token with the cache equals the full forward (logits and weights, 1e-5)", () => {
    const full = model.forward([tokens]);
    const cache = model.createCache();
    model.forward([tokens.slice(0, 4)], { cache });
    for (let position = 4; position < tokens.length; position++) {
      const step = model.forward([[tokens[position]]], { cache });
      assertClose(step.logits, sliceAxis(full.logits, 1, position, position + 1), 1e-5, `logits at ${position}`);
      step.attentions.forEach((weights, layer) => {
        const fullRow = sliceAxis(sliceAxis(full.attentions[layer], 2, position, position + 1), 3, 0, position + 1);
        assertClose(weights, fullRow, 1e-5, `attention at ${position}, layer ${layer}`);
      });
    }
  });

  it("a left-padded batch gives, for the real tokens, what each sequence gives alone", () => {
    const sequences = [tokens, tokens.slice(3, 8), [42]];
    const { inputIds, attentionMask } = leftPad(sequences, 0);
    const together = model.forward(inputIds, { attentionMask });
    const length = inputIds[0].length;
    sequences.forEach((sequence, batch) => {
      const alone = model.forward([sequence]);
      const start = length - sequence.length;
      assertClose(sliceAxis(sliceAxis(together.logits, 0, batch, batch + 1), 1, start, length), alone.logits, 1e-5, `logits ${batch}`);
      together.attentions.forEach((weights, layer) => {
        const real = sliceAxis(rows(weights, batch, start, length), 3, start, length);
        assertClose(real, alone.attentions[layer], 1e-5, `attention ${batch}, layer ${layer}`);
      });
    });
    assert.ok(!together.logits.data.some(Number.isNaN), "pad positions give numbers, not NaN");
  });

  it("a left-padded batch decodes with the cache like each sequence alone", () => {
    const sequences = [tokens.slice(0, 6), tokens.slice(0, 3)];
    const { inputIds, attentionMask } = leftPad(sequences, 0);
    const cache = model.createCache();
    model.forward(inputIds, { attentionMask, cache });
    const step = model.forward([[11], [11]], { cache });
    sequences.forEach((sequence, batch) => {
      const alone = model.forward([[...sequence, 11]]);
      assertClose(sliceAxis(step.logits, 0, batch, batch + 1), sliceAxis(alone.logits, 1, sequence.length, sequence.length + 1), 1e-5, `sequence ${batch}`);
    });
  });

  it("tied embeddings use the embedding matrix as the output head", () => {
    const tied = parseModelConfig({ ...toHuggingFaceConfig(config), tie_word_embeddings: true });
    const weights = randomDecoderWeights(tied, 4);
    assert.equal(weights.lmHead, weights.embedTokens);
    assert.ok(!decoderWeightsToTensors(tied, weights).has("lm_head.weight"));
  });

  it("saves and loads its weights through safetensors unchanged", () => {
    const bytes = writeSafetensors(decoderWeightsToTensors(config, model.weights));
    const reloaded = DecoderModel.fromTensors(config, readSafetensors(bytes).tensors);
    assertClose(reloaded.forward([tokens]).logits, model.forward([tokens]).logits, 0, "logits");
  });

  it("bad input: token ids outside the vocabulary, too long, ragged, empty", () => {
    assert.throws(() => model.forward([[1, 50]]), /token id 50 at \[0\]\[1\] is outside the vocabulary \(0 to 49\)/);
    assert.throws(() => model.forward([[1, -1]]), /token id -1/);
    assert.throws(() => model.forward([[1.5]]), /token id 1.5/);
    assert.throws(() => model.forward([new Array(33).fill(1)]), /33 tokens long .* the model's context is 32/);
    assert.throws(() => model.forward([[1, 2], [3]]), /sequence 1 has 1 tokens but sequence 0 has 2; left-pad the batch/);
    assert.throws(() => model.forward([]), /at least one token/);
    assert.throws(() => model.forward([[1, 2]], { attentionMask: [[1, 2]] }), /only 0 \(pad\) and 1 \(real token\)/);
  });

  it("bad input with a cache: past the context, wrong batch; the cache is left as it was", () => {
    const cache = model.createCache();
    model.forward([new Array(30).fill(1)], { cache });
    assert.throws(() => model.forward([[1, 2, 3]], { cache }), /33 tokens long \(30 cached \+ 3 new\)/);
    assert.throws(() => model.forward([[1], [2]], { cache }), /the cache holds 1 sequences but 2 were given/);
    assert.equal(cache.length, 30);
    assert.equal(cache.layers[2].length, 30);
  });

  it("bad checkpoint: a missing or misshapen weight is named", () => {
    const tensors = decoderWeightsToTensors(config, model.weights);
    tensors.delete("model.layers.1.mlp.up_proj.weight");
    assert.throws(() => DecoderModel.fromTensors(config, tensors, "x.safetensors"), /x.safetensors lacks 1 tensor\(s\) a llama model of this config.json needs: model.layers.1.mlp.up_proj.weight/);
    tensors.set("model.layers.1.mlp.up_proj.weight", Tensor.zeros([64, 31]));
    assert.throws(() => DecoderModel.fromTensors(config, tensors), /model.layers.1.mlp.up_proj.weight is \(64, 31\) but config.json needs \(64, 32\)/);
  });
});

/**
 * The decoder graph on onnxruntime-web (wasm, in Node) against the TypeScript reference forward:
 * logits, every attention map and every present key/value, for MHA, GQA and MQA, for a prefill,
 * cached decoding steps and a left-padded batch; and the fused Attention-23 graph against the
 * primitive one.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { leftPad } from "../../src/attention/left-padding";
import { sliceAxis } from "../../src/attention/tensor-operations";
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { randomDecoderWeights } from "../../src/model/weights";
import { OnnxDecoder } from "../../src/runtime/onnx-decoder";
import { CachedDecoding } from "./helpers/cached-decoding";
import { assertClose, FIXTURES, readFixture, tensorFromJson, type TensorJson } from "./helpers/fixtures";

const TOLERANCE = 1e-4;
const wasm = { choice: "wasm" as const };

function configWith(numKeyValueHeads: number) {
  return parseModelConfig({
    hidden_size: 32,
    num_attention_heads: 4,
    num_key_value_heads: numKeyValueHeads,
    num_hidden_layers: 2,
    intermediate_size: 64,
    vocab_size: 60,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
  });
}

const prompt = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 31];
const continuation = [41, 2, 17];

for (const [numKeyValueHeads, label] of [
  [4, "MHA"],
  [2, "GQA"],
  [1, "MQA"],
] as const) {
  describe(`ONNX graph on onnxruntime-web (wasm) equals the TypeScript forward: ${label}`, function () {
    this.timeout(60000);
    const config = configWith(numKeyValueHeads);
    const reference = new DecoderModel(config, randomDecoderWeights(config, 7 + numKeyValueHeads, 0.2, 0.1));
    let decoder: OnnxDecoder;
    let cached: CachedDecoding; // the caller's cache over the stateless decoder, kept in the runtime

    before(async () => {
      decoder = await OnnxDecoder.create(config, reference.weights, wasm);
      cached = new CachedDecoding(decoder, { inRuntime: true });
      assert.equal(decoder.backend, "wasm");
    });
    after(async () => decoder?.dispose());
    beforeEach(() => cached.reset());

    it("prefill: logits, every attention map and every present key/value", async () => {
      const expected = reference.forward([prompt]);
      const actual = await cached.step([prompt], { fetchPresent: true });
      assertClose(actual.logits, expected.logits, TOLERANCE, "logits");
      assert.equal(actual.attentions.length, config.numHiddenLayers);
      actual.attentions.forEach((weights, layer) => assertClose(weights, expected.attentions[layer], TOLERANCE, `attention ${layer}`));
      actual.presentKeyValues.forEach(({ key, value }, layer) => {
        assertClose(key, expected.presentKeyValues[layer].key, TOLERANCE, `key ${layer}`);
        assertClose(value, expected.presentKeyValues[layer].value, TOLERANCE, `value ${layer}`);
      });
    });

    it("cached decoding: several one-token steps after the prefill", async () => {
      const cache = reference.createCache();
      reference.forward([prompt], { cache });
      await cached.step([prompt]);
      for (const token of continuation) {
        const expected = reference.forward([[token]], { cache });
        const actual = await cached.step([[token]], { fetchPresent: true });
        assertClose(actual.logits, expected.logits, TOLERANCE, `logits after ${token}`);
        actual.attentions.forEach((weights, layer) => assertClose(weights, expected.attentions[layer], TOLERANCE, `attention ${layer}`));
        actual.presentKeyValues.forEach(({ key }, layer) => assertClose(key, expected.presentKeyValues[layer].key, TOLERANCE, `key ${layer}`));
      }
      assert.equal(cached.length, prompt.length + continuation.length);
    });

    it("a left-padded batch, prefill and a decoding step (pad rows attend to nothing)", async () => {
      const { inputIds, attentionMask } = leftPad([prompt, prompt.slice(4), [9, 9]], 0);
      const cache = reference.createCache();
      const expected = reference.forward(inputIds, { attentionMask, cache });
      const actual = await cached.step(inputIds, { attentionMask });
      assert.deepEqual(actual.positions, expected.positions);
      assertClose(actual.logits, expected.logits, TOLERANCE, "logits");
      actual.attentions.forEach((weights, layer) => assertClose(weights, expected.attentions[layer], TOLERANCE, `attention ${layer}`));
      assert.ok(!actual.logits.data.some(Number.isNaN));
      const step = await cached.step([[5], [6], [7]]);
      const expectedStep = reference.forward([[5], [6], [7]], { cache });
      assertClose(step.logits, expectedStep.logits, TOLERANCE, "logits of the step");
      step.attentions.forEach((weights, layer) => assertClose(weights, expectedStep.attentions[layer], TOLERANCE, `step attention ${layer}`));
    });

    it("the fused Attention-23 graph equals the primitive graph (prefill and decoding)", async () => {
      const fusedDecoder = await OnnxDecoder.create(config, reference.weights, wasm, { attention: "fused" });
      const fused = new CachedDecoding(fusedDecoder, { inRuntime: true });
      try {
        const primitivePrefill = await cached.step([prompt], { fetchPresent: true });
        const fusedPrefill = await fused.step([prompt], { fetchPresent: true });
        assert.equal(fusedPrefill.attentions.length, 0, "the fused graph has no attention maps");
        assertClose(fusedPrefill.logits, primitivePrefill.logits, TOLERANCE, "prefill logits");
        fusedPrefill.presentKeyValues.forEach(({ value }, layer) => assertClose(value, primitivePrefill.presentKeyValues[layer].value, TOLERANCE, `value ${layer}`));
        for (const token of continuation) {
          const expected = await cached.step([[token]]);
          const actual = await fused.step([[token]]);
          assertClose(actual.logits, expected.logits, TOLERANCE, `logits after ${token}`);
        }
      } finally {
        fused.reset();
        await fusedDecoder.dispose();
      }
    });
  });
}

describe("ONNX graph on onnxruntime-web equals Hugging Face transformers (tiny-gqa checkpoint)", function () {
  this.timeout(60000);

  it("prefill logits and attention, then cached decoding", async () => {
    const folder = join(FIXTURES, "llama", "tiny-gqa");
    const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
    const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
    const expected = readFixture<{
      prefill: { inputIds: number[][]; logits: TensorJson; attentions: TensorJson[] };
      decode: { inputIds: number[][]; logits: TensorJson }[];
    }>("llama/tiny-gqa/expected.json");
    const decoder = await OnnxDecoder.create(config, model.weights, wasm);
    const cached = new CachedDecoding(decoder);
    try {
      const prefill = await cached.step(expected.prefill.inputIds);
      assertClose(prefill.logits, tensorFromJson(expected.prefill.logits), TOLERANCE, "logits");
      assertClose(prefill.attentions[1], tensorFromJson(expected.prefill.attentions[1]), TOLERANCE, "attention 1");
      for (const step of expected.decode) {
        const result = await cached.step(step.inputIds);
        assertClose(result.logits, tensorFromJson(step.logits), TOLERANCE, "decode logits");
      }
      const last = sliceAxis(tensorFromJson(expected.decode[1].logits), 1, 0, 1);
      assert.equal(last.shape[2], config.vocabSize);
    } finally {
      await decoder.dispose();
    }
  });

  it("bad input is refused before the runtime, and the cache is left as it was", async () => {
    const config = configWith(2);
    const decoder = await OnnxDecoder.create(config, randomDecoderWeights(config, 1), wasm);
    const cached = new CachedDecoding(decoder, { inRuntime: true });
    try {
      await cached.step([prompt]);
      await assert.rejects(cached.step([[60]]), /token id 60 at \[0\]\[0\] is outside the vocabulary \(0 to 59\)/);
      await assert.rejects(cached.step([new Array(60).fill(1)]), /71 tokens long \(11 cached \+ 60 new\)/);
      await assert.rejects(cached.step([[1], [2]]), /attention mask of the cached tokens|past key of layer 0/);
      assert.equal(cached.length, prompt.length);
      const step = await cached.step([[1]]);
      assert.equal(step.keyMask[0].length, prompt.length + 1);
    } finally {
      await decoder.dispose();
    }
  });
});

/**
 * Step-through cached decoding (src/runtime/decoding-session.ts) with the bundled MHA, GQA and MQA
 * models on onnxruntime-web (wasm, in Node):
 *
 *   - N cached steps give the same tokens and attention rows as N full recomputes (each a fresh run
 *     of all tokens, no cache), and, for the GQA model, as the TypeScript reference DecoderModel with
 *     its own KeyValueCache (an independent implementation);
 *   - the cache's bytes are 2 x layers x nkv x S x hs x 4, read off the real tensors;
 *   - back then forward repeats a step bit for bit (cache, attention rows, logits, token);
 *   - a full context stops with ContextFullError before anything runs;
 *   - sampling is reproducible with the same seed and differs with another;
 *   - the decoder's own cache is left alone, and OnnxDecoder.restore / compute agree with forward.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Tensor } from "../../src/attention/tensor";
import { parseModelConfig, type DecoderConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { TextTokenizer } from "../../src/model/tokenizer";
import { ContextFullError, DecodingSession, DecodingSessionError, type DecodingStep } from "../../src/runtime/decoding-session";
import { OnnxDecoder } from "../../src/runtime/onnx-decoder";

const ROOT = join(__dirname, "..", "..");
const MODELS = join(ROOT, "media", "models");
const variants = [
  ["attention-lens-mha", 8],
  ["attention-lens-gqa", 2],
  ["attention-lens-mqa", 1],
] as const;

const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODELS, "attention-lens-gqa", "tokenizer.json"), "utf8"));
const sampleSource = readFileSync(join(ROOT, "media", "sample", "attention.ts"), "utf8");
const prompt = tokenizer.encode("/**\n * Scaled dot-product attention: each query", { addBos: true }).ids;

function loadModel(id: string): { config: DecoderConfig; model: DecoderModel } {
  const folder = join(MODELS, id);
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${id}/config.json`);
  return { config, model: DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors) };
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "lengths differ");
  let worst = 0;
  for (let index = 0; index < a.length; index++) worst = Math.max(worst, Math.abs(a[index] - b[index]));
  return worst;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index] > values[best]) best = index;
  return best;
}

/** The last query row of (1, nh, T, S) weights as (nh, S) data. */
function lastRow(weights: Tensor): Float32Array {
  const [, heads, queries, keys] = weights.shape;
  const out = new Float32Array(heads * keys);
  for (let head = 0; head < heads; head++) {
    const from = (head * queries + queries - 1) * keys;
    out.set(weights.data.subarray(from, from + keys), head * keys);
  }
  return out;
}

/** A deep copy of what a step shows, for bitwise comparisons later. */
function snapshot(session: DecodingSession) {
  const step = session.current;
  return {
    token: step.token,
    cacheLength: step.cacheLength,
    logits: step.logits.slice(),
    attentions: step.attentions.map((row) => row.data.slice()),
    cache: session.cache.layers.map(({ key, value }) => ({ key: key.data.slice(), value: value.data.slice(), shape: [...key.shape] })),
  };
}

function assertBitwiseEqual(actual: ReturnType<typeof snapshot>, expected: ReturnType<typeof snapshot>, label: string): void {
  assert.equal(actual.token, expected.token, `${label}: token`);
  assert.equal(actual.cacheLength, expected.cacheLength, `${label}: cache length`);
  assert.deepEqual(actual.logits, expected.logits, `${label}: logits`);
  assert.deepEqual(actual.attentions, expected.attentions, `${label}: attention rows`);
  assert.deepEqual(actual.cache, expected.cache, `${label}: cached keys and values`);
}

const STEPS = 6;

for (const [id, numKeyValueHeads] of variants) {
  describe(`DecodingSession on ${id} (nkv = ${numKeyValueHeads}, onnxruntime-web wasm)`, function () {
    this.timeout(180_000);
    const { config, model } = loadModel(id);
    let decoder: OnnxDecoder;

    before(async () => {
      assert.equal(config.numKeyValueHeads, numKeyValueHeads);
      decoder = await OnnxDecoder.create(config, model.weights, { choice: "wasm" });
    });
    after(async () => decoder?.dispose());

    it(`${STEPS} cached steps give the same tokens and attention rows as ${STEPS} full recomputes`, async () => {
      const session = await DecodingSession.start(decoder, prompt);
      const steps: DecodingStep[] = [];
      for (let index = 0; index < STEPS; index++) steps.push(await session.step());

      // Independent loop: each token from a fresh run of everything so far, no cache at all.
      const ids = [...prompt];
      let previous = (await decoder.compute([ids])).logits;
      for (const step of steps) {
        const expectedToken = argmax(previous.data.subarray(previous.data.length - config.vocabSize));
        assert.equal(step.token, expectedToken, `token of step ${step.index}`);
        ids.push(expectedToken);
        const full = await decoder.compute([ids]);
        full.attentions.forEach((weights, layer) => {
          assert.deepEqual(step.attentions[layer].shape, [config.numAttentionHeads, ids.length]);
          const difference = maxDifference(step.attentions[layer].data, lastRow(weights));
          assert.ok(difference < 1e-5, `step ${step.index} layer ${layer}: attention rows differ by ${difference}`);
        });
        const logitsDifference = maxDifference(step.logits, full.logits.data.subarray(full.logits.data.length - config.vocabSize));
        assert.ok(logitsDifference < 1e-4, `step ${step.index}: logits differ by ${logitsDifference}`);
        previous = full.logits;

        // The session's own recompute check says the same.
        assert.ok(step.check, "the recompute check ran");
        assert.ok(step.check.logitsMaxDifference < 1e-4, `check logits ${step.check.logitsMaxDifference}`);
        assert.ok(step.check.attentionMaxDifference < 1e-5, `check attention ${step.check.attentionMaxDifference}`);
        assert.ok(step.milliseconds > 0 && step.check.milliseconds > 0);
      }
      assert.deepEqual(session.tokenIds, ids);
      await session.dispose();
    });

    it("the cache's bytes are 2 x layers x nkv x S x hs x 4, from the real tensors", async () => {
      const session = await DecodingSession.start(decoder, prompt, { verify: false });
      const formula = (length: number) => 2 * config.numHiddenLayers * config.numKeyValueHeads * length * config.headDim * 4;
      for (let index = 0; index <= 3; index++) {
        if (index > 0) await session.step();
        const cache = session.cache;
        const length = prompt.length + index;
        assert.equal(cache.length, length);
        assert.equal(cache.bytesPerElement, 4);
        assert.equal(cache.bytes, formula(length));
        assert.equal(session.current.cacheBytes, formula(length));
        assert.equal(cache.layers.length, config.numHiddenLayers);
        const realBytes = cache.layers.reduce((sum, { key, value }) => sum + key.data.byteLength + value.data.byteLength, 0);
        assert.equal(realBytes, formula(length));
        for (const { key, value } of cache.layers) {
          assert.deepEqual(key.shape, [config.numKeyValueHeads, length, config.headDim]);
          assert.deepEqual(value.shape, [config.numKeyValueHeads, length, config.headDim]);
        }
        assert.deepEqual(cache.appended, index === 0 ? { start: 0, end: prompt.length } : { start: length - 1, end: length });
      }
      await session.dispose();
    });

    it("back then forward is identical, bit for bit (sampling, so the token depends on the seeded draw)", async () => {
      const session = await DecodingSession.start(decoder, prompt, { sampling: { kind: "sample", temperature: 1, topK: 50, seed: 11 }, verify: false });
      const snapshots = [snapshot(session)];
      for (let index = 0; index < 4; index++) {
        await session.step();
        snapshots.push(snapshot(session));
      }
      await session.back();
      assertBitwiseEqual(snapshot(session), snapshots[3], "after one back");
      await session.back();
      await session.back();
      assertBitwiseEqual(snapshot(session), snapshots[1], "after three backs");
      await session.step();
      assertBitwiseEqual(snapshot(session), snapshots[2], "forward again, step 2");
      await session.step();
      await session.step();
      assertBitwiseEqual(snapshot(session), snapshots[4], "forward again, step 4");
      await session.reset();
      assertBitwiseEqual(snapshot(session), snapshots[0], "reset: the prefill");
      assert.equal(session.steps.length, 1);
      await session.back(); // nothing to undo at the prefill
      assertBitwiseEqual(snapshot(session), snapshots[0], "back at the prefill");
      await session.dispose();
    });
  });
}

describe("DecodingSession against the TypeScript reference (attention-lens-gqa)", function () {
  this.timeout(180_000);
  const { config, model } = loadModel("attention-lens-gqa");

  it("tokens, attention rows and cached keys/values equal DecoderModel with a KeyValueCache", async () => {
    const decoder = await OnnxDecoder.create(config, model.weights, { choice: "wasm" });
    try {
      const session = await DecodingSession.start(decoder, prompt, { verify: false });
      const cache = model.createCache();
      let reference = model.forward([prompt], { cache });
      for (let index = 0; index < 5; index++) {
        const step = await session.step();
        const logits = reference.logits.data.subarray(reference.logits.data.length - config.vocabSize);
        assert.equal(step.token, argmax(logits), `token ${index + 1}`);
        reference = model.forward([[step.token as number]], { cache });
        reference.attentions.forEach((weights, layer) => {
          const difference = maxDifference(step.attentions[layer].data, lastRow(weights));
          assert.ok(difference < 1e-4, `step ${index + 1} layer ${layer}: ${difference}`);
        });
        assert.ok(maxDifference(step.logits, reference.logits.data) < 1e-3, `logits of step ${index + 1}`);
      }
      session.cache.layers.forEach(({ key, value }, layer) => {
        assert.ok(maxDifference(key.data, reference.presentKeyValues[layer].key.data) < 1e-4, `keys of layer ${layer}`);
        assert.ok(maxDifference(value.data, reference.presentKeyValues[layer].value.data) < 1e-4, `values of layer ${layer}`);
      });
    } finally {
      await decoder.dispose();
    }
  });
});

describe("DecodingSession: limits, sampling, closing (attention-lens-mqa)", function () {
  this.timeout(180_000);
  const { config, model } = loadModel("attention-lens-mqa");
  let decoder: OnnxDecoder;
  before(async () => {
    decoder = await OnnxDecoder.create(config, model.weights, { choice: "wasm" });
  });
  after(async () => decoder?.dispose());

  const longIds = tokenizer.encode(sampleSource.repeat(4), { addBos: true }).ids;

  it("stops at the context length with ContextFullError, before running anything", async () => {
    assert.ok(longIds.length > config.maxPositionEmbeddings, "the sample text is long enough");
    const session = await DecodingSession.start(decoder, longIds.slice(0, config.maxPositionEmbeddings - 2), { verify: false });
    await session.step();
    const last = await session.step();
    assert.equal(session.length, 512);
    assert.equal(session.canStep, false);
    await assert.rejects(session.step(), (error: unknown) => error instanceof ContextFullError && /context is full.*512/.test(error.message));
    assert.equal(session.current, last, "nothing changed");
    assert.equal(session.length, 512);
    await session.back();
    assert.equal(session.canStep, true);
    assert.equal((await session.step()).token, last.token, "after stepping back the step runs again");
    await session.dispose();
  });

  it("refuses an empty prompt and a prompt longer than the context", async () => {
    await assert.rejects(DecodingSession.start(decoder, []), (error: unknown) => error instanceof DecodingSessionError && /prompt is empty/.test(error.message));
    await assert.rejects(
      DecodingSession.start(decoder, longIds.slice(0, 513)),
      (error: unknown) => error instanceof DecodingSessionError && /513 tokens but the model's context is 512/.test(error.message),
    );
  });

  it("sampling: the same seed gives the same tokens, another seed other tokens", async () => {
    const run = async (seed: number) => {
      const session = await DecodingSession.start(decoder, prompt, { sampling: { kind: "sample", temperature: 1.2, topK: 100, seed }, verify: false });
      for (let index = 0; index < 8; index++) await session.step();
      const ids = session.generatedIds;
      await session.dispose();
      return ids;
    };
    const first = await run(5);
    assert.deepEqual(await run(5), first);
    assert.notDeepEqual(await run(6), first);
  });

  it("refuses bad sampling settings when started or changed", async () => {
    await assert.rejects(DecodingSession.start(decoder, prompt, { sampling: { kind: "sample", temperature: 0, topK: 5, seed: 1 } }), /temperature must be/);
    const session = await DecodingSession.start(decoder, prompt, { verify: false });
    assert.throws(() => (session.sampling = { kind: "sample", temperature: 1, topK: 0, seed: 1 }), /top-k/);
    assert.deepEqual(session.sampling, { kind: "greedy" });
    await session.dispose();
  });

  it("a session closed while a step runs keeps nothing, and refuses later calls", async () => {
    const session = await DecodingSession.start(decoder, prompt);
    const pending = session.step();
    await session.dispose();
    await assert.rejects(pending, DecodingSessionError);
    await assert.rejects(session.step(), (error: unknown) => error instanceof DecodingSessionError && /closed/.test(error.message));
  });

  it("OnnxDecoder.compute: a past of library Tensors and the same past kept in the runtime give the same step, bit for bit", async () => {
    const prefill = await decoder.compute([prompt], { fetchPresent: true, keepPresent: true });
    const kept = prefill.present;
    assert.ok(kept && kept.length === prompt.length);
    const past = { keyValues: prefill.presentKeyValues, keyMask: [prompt.map(() => 1)] };
    const fromTensors = await decoder.compute([[42]], { past, fetchPresent: true });
    const fromRuntime = await decoder.compute([[42]], { past: kept, fetchPresent: true });
    assert.deepEqual(fromRuntime.logits.data, fromTensors.logits.data);
    assert.deepEqual(fromRuntime.attentions.map((weights) => weights.data), fromTensors.attentions.map((weights) => weights.data));
    assert.deepEqual(fromRuntime.presentKeyValues[0].key.data, fromTensors.presentKeyValues[0].key.data);
    // The kept cache is the caller's: still usable after a step ran from it (stepping back is keeping it), until disposed.
    const again = await decoder.compute([[42]], { past: kept });
    assert.deepEqual(again.logits.data, fromTensors.logits.data);
    kept.dispose();
    await assert.rejects(decoder.compute([[42]], { past: kept }), /disposed/);
    await assert.rejects(decoder.compute([[42]], { past: { keyValues: past.keyValues.slice(1), keyMask: past.keyMask } }), /holds 2 layers but the model has 3/);
  });
});

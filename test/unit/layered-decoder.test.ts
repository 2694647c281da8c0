/**
 * What the layer-by-layer decoder adds to the decoder graph (whose numbers onnx-families.test.ts
 * checks against transformers): logits of the last row only, progress after every layer, a run
 * stopped between layers by its signal (leaving the caller's cache as it was), maps handed over per
 * layer, and no state kept between calls.
 */

import assert from "node:assert/strict";
import { LayeredDecoder, RunCancelledError } from "../../src/runtime/layered-decoder";
import { CachedDecoding } from "./helpers/cached-decoding";
import { loadFamilyFixture, maxDifferenceOnRows } from "./helpers/family-fixtures";
import { tensorFromJson } from "./helpers/fixtures";

describe("LayeredDecoder: one layer graph fed layer by layer", function () {
  this.timeout(60000);
  const fixture = loadFamilyFixture("qwen2"); // a full and a sliding layer: two layer graphs
  const { config, expected } = fixture;
  const ids = expected.prefill.inputIds;
  let decoder: LayeredDecoder;

  before(async () => {
    decoder = await LayeredDecoder.create(config, fixture.weights, { choice: "wasm" });
  });
  after(async () => decoder?.dispose());

  it('logits: "last" gives each sequence\'s last row, "none" no rows; the maps are the same', async () => {
    const all = await decoder.compute(ids);
    const last = await decoder.compute(ids, { logits: "last" });
    const none = await decoder.compute(ids, { logits: "none" });
    const [batchSize, length, vocabulary] = all.logits.shape;
    assert.deepEqual(last.logits.shape, [batchSize, 1, vocabulary]);
    assert.deepEqual(none.logits.shape, [batchSize, 0, vocabulary]);
    const lastRow = all.logits.data.subarray((length - 1) * vocabulary, length * vocabulary);
    assert.deepEqual(Array.from(last.logits.data), Array.from(lastRow));
    assert.equal(maxDifferenceOnRows(last.attentions[1], all.attentions[1], 2), 0);
    assert.ok(maxDifferenceOnRows(all.logits, tensorFromJson(expected.prefill.logits), 1) < 1e-4);
  });

  it("the output head in slices of the vocabulary gives the same logits as in one piece", async () => {
    const sliced = await LayeredDecoder.create(config, fixture.weights, { choice: "wasm" }, { headSliceRows: 7 });
    try {
      const whole = await decoder.compute(ids);
      const inSlices = await sliced.compute(ids);
      assert.ok(config.vocabSize > 7 * 2, "several slices, the last one shorter");
      assert.deepEqual(inSlices.logits.shape, whole.logits.shape);
      assert.ok(maxDifferenceOnRows(inSlices.logits, whole.logits, 1) < 1e-6);
    } finally {
      await sliced.dispose();
    }
  });

  it("reports progress after every layer, and hands each layer's maps to onAttention instead of keeping them", async () => {
    const progress: string[] = [];
    const layers: number[] = [];
    const step = await decoder.compute(ids, {
      onLayer: (done, total) => progress.push(`${done}/${total}`),
      onAttention: (layer, weights) => {
        layers.push(layer);
        assert.deepEqual(weights.shape, [1, config.numAttentionHeads, ids[0].length, ids[0].length]);
      },
    });
    assert.deepEqual(progress, ["1/2", "2/2", "2/2"], "each layer, then the head");
    assert.deepEqual(layers, [0, 1]);
    assert.equal(step.attentions.length, 0);
  });

  it("a run whose signal is aborted stops at the next layer with RunCancelledError, and the caller's cache is untouched", async () => {
    const cached = new CachedDecoding(decoder);
    await cached.step(ids);
    const controller = new AbortController();
    await assert.rejects(
      cached.step([[5]], { signal: controller.signal, onLayer: (done) => done === 1 && controller.abort() }),
      (error: unknown) => error instanceof RunCancelledError && /before layer 2 of 2/.test(error.message),
    );
    assert.equal(cached.length, ids[0].length, "the cancelled step cached nothing");
    const step = await cached.step(expected.decode[0].inputIds);
    assert.ok(maxDifferenceOnRows(step.logits, tensorFromJson(expected.decode[0].logits), 1) < 1e-4, "the next step continues from the old cache");
  });

  it("layerAttention gives a layer's maps again from the hidden states that entered it, equal to the run's", async () => {
    const run = await decoder.compute(ids, { keepLayerInputs: true });
    assert.equal(run.layerInputs?.length, config.numHiddenLayers);
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      const again = await decoder.layerAttention(layer, run.layerInputs![layer], run.keyMask, run.positions);
      assert.deepEqual(again.shape, run.attentions[layer].shape);
      assert.equal(maxDifferenceOnRows(again, run.attentions[layer], 2), 0, `layer ${layer}`);
    }
    await assert.rejects(decoder.layerAttention(config.numHiddenLayers, run.layerInputs![0], run.keyMask, run.positions), /layer 2 does not exist/);
  });

  it("is stateless: the same call gives the same result whatever ran before it", async () => {
    const prefill = await decoder.compute(ids, { fetchPresent: true });
    const past = { keyValues: prefill.presentKeyValues, keyMask: prefill.keyMask };
    const first = await decoder.compute(expected.decode[0].inputIds, { past });
    await decoder.compute([[3, 4, 5]]);
    const again = await decoder.compute(expected.decode[0].inputIds, { past });
    assert.equal(maxDifferenceOnRows(first.logits, again.logits, 1), 0);
    assert.equal(maxDifferenceOnRows(first.attentions[0], again.attentions[0], 2), 0);
    assert.ok(maxDifferenceOnRows(first.logits, tensorFromJson(expected.decode[0].logits), 1) < 1e-4);
  });
});

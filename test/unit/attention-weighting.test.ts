/**
 * Attention rollout (src/attention/attention-rollout.ts) and value-weighted attention
 * (src/attention/value-weighted-attention.ts), and the panel's weightings built on them
 * (webview/attention/attention-weighting.ts): by hand on tiny cases, then against PyTorch
 * (scripts/fixtures/make_weighting_fixture.py: transformers, eager attention, hooks on v_proj and
 * o_proj) on the bundled GQA (8 query heads, 2 K/V heads) and MHA models, fed first by PyTorch's own
 * maps and values, then by the layer-by-layer runtime on onnxruntime-web (wasm), as the panel is.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { attentionRollout, AttentionRollout, chainMaps, meanOverHeads, residualAdjusted } from "../../src/attention/attention-rollout";
import { Tensor } from "../../src/attention/tensor";
import { matmul, sliceAxis } from "../../src/attention/tensor-operations";
import { outputProjectionGram, valueHeadOf, valueVectorNorms, valueWeightedAttention } from "../../src/attention/value-weighted-attention";
import { parseModelConfig } from "../../src/model/config";
import { readSafetensors } from "../../src/model/safetensors";
import { decoderWeightsFromTensors } from "../../src/model/weights";
import { LayeredDecoder } from "../../src/runtime/layered-decoder";
import { maxPoolDownsample } from "../../webview/heatmap/downsample";
import { maskFutureKeys } from "../../webview/heatmap/render";
import { AttentionMapsBuilder, headMap } from "../../webview/attention/attention-maps";
import { parseAttentionWeighting, rowShares, RunWeightings, weightingTitle } from "../../webview/attention/attention-weighting";
import { assertClose, FIXTURES, randomTensor } from "./helpers/fixtures";
import { float32Of } from "../../src/model/half-tensor";

const MODELS = join(__dirname, "..", "..", "media", "models");
const MODEL_IDS = ["attention-lens-gqa", "attention-lens-mha"];

/** A (rows, cols) tensor from nested rows. */
const matrix = (rows: number[][]): Tensor => new Tensor(Float32Array.from(rows.flat()), [rows.length, rows[0].length]);

/** A tensor's numbers, rounded to 6 places (float32 noise aside). */
const rounded = (tensor: Tensor): number[] => Array.from(tensor.data, (value) => Math.round(value * 1e6) / 1e6);

describe("attention rollout", () => {
  it("by hand, two tokens: Â = ½A + ½I, and two layers chain as Â · Â", () => {
    const weights = new Tensor(Float32Array.from([1, 0, 0.6, 0.4]), [1, 2, 2]); // (nh = 1, T = 2, T)
    const [first, second] = attentionRollout([weights, weights]);
    assert.deepEqual(rounded(first), [1, 0, 0.3, 0.7]);
    assert.deepEqual(rounded(second), [1, 0, 0.51, 0.49]); // [[1, 0], [0.3 + 0.7 · 0.3, 0.7 · 0.7]]
  });

  it("averages the heads first, and keeps rows summing to 1 and the future at 0", () => {
    // Two heads of 3 tokens: one looks at the first token, one at the token itself.
    const sink = [1, 0, 0, 1, 0, 0, 1, 0, 0];
    const self = [1, 0, 0, 0, 1, 0, 0, 0, 1];
    const weights = new Tensor(Float32Array.from([...sink, ...self]), [2, 3, 3]);
    assert.deepEqual(rounded(meanOverHeads(weights)), [1, 0, 0, 0.5, 0.5, 0, 0.5, 0, 0.5]);
    const rollout = new AttentionRollout();
    let last = rollout.add(weights);
    assert.deepEqual(rounded(last), [1, 0, 0, 0.25, 0.75, 0, 0.25, 0, 0.75]);
    last = rollout.add(weights);
    assert.equal(rollout.layers, 2);
    for (let row = 0; row < 3; row++) {
      const values = Array.from(last.data.subarray(row * 3, row * 3 + 3));
      assert.ok(Math.abs(values.reduce((sum, value) => sum + value, 0) - 1) < 1e-6, `row ${row}: ${values}`);
      values.forEach((value, key) => key > row && assert.equal(value, 0, `row ${row} key ${key} is in the future`));
    }
    // Row 2 by hand: Â[2] = [0.25, 0, 0.75]; Â[2] · Â = 0.25 · [1, 0, 0] + 0.75 · [0.25, 0, 0.75].
    assert.deepEqual(rounded(last).slice(6), [0.4375, 0, 0.5625]);
  });

  it("renormalises rows that do not sum to 1 (maps kept at 8 bits), and a fully masked row becomes the identity's", () => {
    const adjusted = residualAdjusted(matrix([[0, 0], [0.5, 0.3]]));
    assert.deepEqual(rounded(adjusted), [1, 0, 0.25 / 0.9, 0.65 / 0.9].map((value) => Math.round(value * 1e6) / 1e6));
    assert.throws(() => residualAdjusted(matrix([[1, 0, 0]])), /not square/);
    assert.throws(() => new AttentionRollout().add(new Tensor(new Float32Array(6), [1, 2, 3])), /square/);
  });

  it("chainMaps equals the library's matmul, for causal and for full matrices", () => {
    const size = 7;
    const full = randomTensor([size, size], 3);
    const other = randomTensor([size, size], 4);
    const causal = (tensor: Tensor) => Tensor.fromFunction([size, size], ([row, col]) => (col <= row ? Math.abs(tensor.data[row * size + col]) : 0));
    assertClose(chainMaps(full, other), matmul(full, other), 1e-5, "full");
    assertClose(chainMaps(causal(full), causal(other)), matmul(causal(full), causal(other)), 1e-5, "causal");
  });
});

describe("value-weighted attention", () => {
  it("by hand, two tokens: a · ‖W_O v‖ with W_O the identity", () => {
    const values = new Tensor(Float32Array.from([3, 4, 0, 1]), [1, 2, 2]); // (nkv = 1, T = 2, hs = 2): v0 = (3, 4), v1 = (0, 1)
    const outputWeight = matrix([[1, 0], [0, 1]]); // (C = 2, nh · hs = 2)
    const norms = valueVectorNorms(values, outputWeight, 1);
    assert.deepEqual(rounded(norms), [5, 1]);
    const weights = new Tensor(Float32Array.from([1, 0, 0.5, 0.5]), [1, 2, 2]);
    assert.deepEqual(rounded(valueWeightedAttention(weights, norms)), [5, 0, 2.5, 0.5]);
  });

  it("a sink token with a big weight and a zero value vector fades to 0", () => {
    // Token 0 (the sink) takes 0.9 of every row but brings nothing; token 1 gets 0.1 and brings a unit vector.
    const values = new Tensor(Float32Array.from([0, 0, 0.6, 0.8, 1, 0]), [1, 3, 2]);
    const weights = new Tensor(Float32Array.from([1, 0, 0, 0.9, 0.1, 0, 0.9, 0.05, 0.05]), [1, 3, 3]);
    const weighted = valueWeightedAttention(weights, valueVectorNorms(values, matrix([[1, 0], [0, 1], [0, 0]]), 1));
    assert.deepEqual(rounded(weighted), [0, 0, 0, 0, 0.1, 0, 0, 0.05, 0.05]);
    // As the panel colours it (each row's shares): the sink 0, the real keys all of it.
    assert.deepEqual(Array.from(rowShares(weighted.data, 3), (value) => Math.round(value * 1e6) / 1e6), [0, 0, 0, 0, 1, 0, 0, 0.5, 0.5]);
  });

  it("grouped-query attention: heads of a group read the same value through their own block of o_proj", () => {
    // nh = 4, nkv = 2, hs = 1, C = 1: o_proj's weight (1, 4) = [1, 2, 3, 4]; values V0 = [1, -2], V1 = [5, 0.5].
    assert.deepEqual([0, 1, 2, 3].map((head) => valueHeadOf(head, 4, 2)), [0, 0, 1, 1]); // [V0, V0, V1, V1]
    const values = new Tensor(Float32Array.from([1, -2, 5, 0.5]), [2, 2, 1]);
    const norms = valueVectorNorms(values, matrix([[1, 2, 3, 4]]), 4);
    assert.deepEqual(rounded(norms), [1, 2, 2, 4, 15, 1.5, 20, 2]);
    assert.throws(() => valueVectorNorms(values, matrix([[1, 2, 3]]), 3), /3 query heads cannot share 2/);
    assert.throws(() => valueVectorNorms(values, matrix([[1, 2, 3, 4, 5, 6]]), 4), /expected \(C, 4\)/);
  });

  it("the Gram matrix gives what computing W_O^h v directly gives", () => {
    const [heads, keyValueHeads, tokens, headDim, width] = [6, 2, 5, 4, 9];
    const values = randomTensor([keyValueHeads, tokens, headDim], 11);
    const outputWeight = randomTensor([width, heads * headDim], 12);
    const gram = outputProjectionGram(outputWeight, heads);
    assert.deepEqual(gram.shape, [heads, headDim, headDim]);
    const norms = valueVectorNorms(values, outputWeight, heads, gram);
    for (let head = 0; head < heads; head++) {
      const block = sliceAxis(outputWeight, 1, head * headDim, (head + 1) * headDim); // W_O^h (C, hs)
      for (let token = 0; token < tokens; token++) {
        const v = sliceAxis(sliceAxis(values, 0, valueHeadOf(head, heads, keyValueHeads), valueHeadOf(head, heads, keyValueHeads) + 1), 1, token, token + 1).reshape([headDim, 1]);
        const projected = matmul(block, v); // (C, 1)
        const direct = Math.sqrt(projected.data.reduce((sum, value) => sum + value * value, 0));
        assert.ok(Math.abs(norms.data[head * tokens + token] - direct) < 1e-4 * Math.max(1, direct), `head ${head} token ${token}: ${norms.data[head * tokens + token]} vs ${direct}`);
      }
    }
  });
});

describe("the panel's weightings (webview/attention/attention-weighting.ts)", () => {
  it("titles say the weighting and, for rollout, the layers; a saved weighting is checked", () => {
    assert.equal(weightingTitle("attention", { layer: 1, head: 3 }, 8), "Layer 1 · head 3");
    assert.equal(weightingTitle("value-weighted", { layer: 1, head: "mean" }, 8), "Layer 1 · mean of 8 heads · value-weighted ‖a·vW_O‖");
    assert.equal(weightingTitle("rollout", { layer: 2, head: 5 }, 8), "Rollout through layers 0..2 · all heads averaged");
    assert.equal(weightingTitle("rollout", { layer: 0, head: 5 }, 8), "Rollout through layer 0 · all heads averaged");
    assert.equal(parseAttentionWeighting("rollout"), "rollout");
    assert.equal(parseAttentionWeighting("softmax"), undefined);
  });
});

/** A fixture tensor by name. */
function fixtureTensor(file: ReturnType<typeof readSafetensors>, name: string): Tensor {
  const tensor = file.tensors.get(name);
  assert.ok(tensor, `the fixture has no "${name}"; run npm run fixtures`);
  return tensor;
}

/** Layer `layer` of an (L, ...) tensor, (...). */
const layerOf = (tensor: Tensor, layer: number): Tensor => sliceAxis(tensor, 0, layer, layer + 1).reshape(tensor.shape.slice(1));

for (const id of MODEL_IDS) {
  describe(`${id}: rollout and value-weighted attention against PyTorch`, function () {
    this.timeout(60_000);
    const fixturePath = join(FIXTURES, "weighting", `${id}.safetensors`);
    const folder = join(MODELS, id);
    let fixture: ReturnType<typeof readSafetensors>;
    let ids: number[];

    before(function () {
      if (!existsSync(fixturePath) || !existsSync(join(folder, "model.safetensors"))) this.skip();
      fixture = readSafetensors(readFileSync(fixturePath));
      ids = JSON.parse(fixture.metadata.input_ids) as number[];
    });

    it("fed PyTorch's own maps and values, the TypeScript gives PyTorch's rollout, norms and value-weighted maps", () => {
      const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
      const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
      const attentions = fixtureTensor(fixture, "attentions"); // (L, nh, T, T)
      const values = fixtureTensor(fixture, "values"); // (L, nkv, T, hs)
      const layers = config.numHiddenLayers;
      const rollout = attentionRollout(Array.from({ length: layers }, (_, layer) => layerOf(attentions, layer)));
      for (let layer = 0; layer < layers; layer++) {
        assertClose(rollout[layer], layerOf(fixtureTensor(fixture, "rollout"), layer), 1e-5, `layer ${layer} rollout`);
        const norms = valueVectorNorms(layerOf(values, layer), float32Of(weights.layers[layer].attention.output), config.numAttentionHeads);
        assertClose(norms, layerOf(fixtureTensor(fixture, "value_norms"), layer), 1e-4, `layer ${layer} ‖W_O^h v_j‖`);
        assertClose(valueWeightedAttention(layerOf(attentions, layer), norms), layerOf(fixtureTensor(fixture, "value_weighted"), layer), 1e-4, `layer ${layer} value-weighted`);
      }
    });

    it("fed the layer-by-layer runtime's maps and values (onnxruntime-web, wasm), as the panel is: within 1e-4, through RunWeightings too", async () => {
      const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${id}/config.json`);
      const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
      const decoder = await LayeredDecoder.create(config, weights, { choice: "wasm" });
      const layerWeights: Tensor[] = [];
      const layerValues: Tensor[] = [];
      const builder = new AttentionMapsBuilder(config.numKeyValueHeads);
      try {
        await decoder.compute([ids], {
          logits: "none",
          onAttention: (layer, map) => {
            layerWeights.push(map.reshape(map.shape.slice(1))); // (nh, T, T)
            builder.add(layer, map);
          },
          onValues: (_layer, values) => layerValues.push(values.reshape(values.shape.slice(1))), // (nkv, T, hs)
        });
      } finally {
        await decoder.dispose();
      }
      const layers = config.numHiddenLayers;
      const tokens = ids.length;
      assert.equal(layerValues.length, layers);
      assert.deepEqual(layerValues[0].shape, [config.numKeyValueHeads, tokens, config.headDim]);
      const rollout = attentionRollout(layerWeights);
      let worst = 0;
      for (let layer = 0; layer < layers; layer++) {
        assertClose(layerValues[layer], layerOf(fixtureTensor(fixture, "values"), layer), 1e-4, `layer ${layer} values`);
        assertClose(rollout[layer], layerOf(fixtureTensor(fixture, "rollout"), layer), 1e-4, `layer ${layer} rollout`);
        const norms = valueVectorNorms(layerValues[layer], float32Of(decoder.weights.layers[layer].attention.output), config.numAttentionHeads);
        const weighted = valueWeightedAttention(layerWeights[layer], norms);
        const expected = layerOf(fixtureTensor(fixture, "value_weighted"), layer);
        assertClose(weighted, expected, 1e-4, `layer ${layer} value-weighted`);
        weighted.data.forEach((value, index) => (worst = Math.max(worst, Math.abs(value - expected.data[index]))));
      }

      // The panel's view of the same run: shares of the raw values, the layer's mean, rollout, thumbnails.
      const maps = builder.finish();
      const weightings = new RunWeightings({
        values: layerValues.map((values) => values.data),
        outputWeights: decoder.weights.layers.map((layer) => layer.attention.output),
        keyValueHeads: config.numKeyValueHeads,
        headDim: config.headDim,
      });
      assert.ok(weightings.hasValues);
      const head = 5;
      const expected = layerOf(layerOf(fixtureTensor(fixture, "value_weighted"), 1), head); // (T, T)
      assertClose(new Tensor(weightings.valueWeighted(maps, { layer: 1, head }), [tokens, tokens]), expected, 1e-4, "RunWeightings raw");
      const shown = weightings.shownMap(maps, "value-weighted", { layer: 1, head });
      assertClose(new Tensor(shown, [tokens, tokens]), new Tensor(rowShares(expected.data, tokens), [tokens, tokens]), 1e-4, "RunWeightings shares");
      for (let row = 0; row < tokens; row++) {
        const sum = shown.subarray(row * tokens, (row + 1) * tokens).reduce((total, value) => total + value, 0);
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${row} of the shares sums to ${sum}`);
      }
      // The layer's mean: the mean of the heads' raw values, then shares.
      const meanRaw = new Float32Array(tokens * tokens);
      for (let h = 0; h < config.numAttentionHeads; h++) layerOf(layerOf(fixtureTensor(fixture, "value_weighted"), 2), h).data.forEach((value, index) => (meanRaw[index] += value / config.numAttentionHeads));
      assertClose(new Tensor(weightings.shownMap(maps, "value-weighted", { layer: 2, head: "mean" }), [tokens, tokens]), new Tensor(rowShares(meanRaw, tokens), [tokens, tokens]), 1e-4, "RunWeightings mean");
      // Rollout: whatever head is selected, the layer's map.
      assertClose(new Tensor(weightings.shownMap(maps, "rollout", { layer: 2, head: 3 }), [tokens, tokens]), layerOf(fixtureTensor(fixture, "rollout"), 2), 1e-4, "RunWeightings rollout");
      const pooled = weightings.thumbnail(maps, "rollout", { layer: 2, head: 0 }, 8);
      const byHand = maxPoolDownsample(maskFutureKeys(layerOf(fixtureTensor(fixture, "rollout"), 2).data, tokens, tokens), tokens, tokens, 8);
      assert.deepEqual([pooled.rows, pooled.cols], [byHand.rows, byHand.cols]);
      pooled.data.forEach((value, index) => assert.ok(Number.isNaN(value) ? Number.isNaN(byHand.data[index]) : Math.abs(value - byHand.data[index]) < 1e-4, `pooled cell ${index}`));
      // What the weighting changes on a real model: the head that leans most on <|bos|>, its mean weight there and its value-weighted share.
      const onFirst = (map: Float32Array) => Array.from({ length: tokens - 1 }, (_, row) => map[(row + 1) * tokens]).reduce((sum, value) => sum + value, 0) / (tokens - 1);
      const heads = Array.from({ length: layers * config.numAttentionHeads }, (_, index) => ({ layer: Math.floor(index / config.numAttentionHeads), head: index % config.numAttentionHeads }));
      const sink = heads.reduce((best, candidate) => (onFirst(headMap(maps, candidate.layer, candidate.head)) > onFirst(headMap(maps, best.layer, best.head)) ? candidate : best));
      const sinkWeight = onFirst(headMap(maps, sink.layer, sink.head));
      const sinkShare = onFirst(weightings.shownMap(maps, "value-weighted", sink));
      console.log(
        `      (${id}: max |runtime - PyTorch| of the value-weighted maps ${worst.toExponential(2)}; ` +
          `L${sink.layer} H${sink.head} puts ${sinkWeight.toFixed(3)} on <|bos|>, value-weighted ${sinkShare.toFixed(3)})`,
      );
    });

    it("maps kept at 8 bits: the rollout is kept at 8 bits too and stays within 0.01 of PyTorch's", () => {
      const attentions = fixtureTensor(fixture, "attentions");
      const layers = attentions.shape[0];
      const tokens = attentions.shape[2];
      const builder = new AttentionMapsBuilder(attentions.shape[1] / fixtureTensor(fixture, "values").shape[1], "uint8");
      for (let layer = 0; layer < layers; layer++) builder.add(layer, layerOf(attentions, layer).reshape([1, ...attentions.shape.slice(1)]));
      const maps = builder.finish();
      const rollout = new RunWeightings(undefined).rollout(maps);
      assert.equal(rollout.precision, "uint8");
      assert.deepEqual([rollout.layers, rollout.heads, rollout.tokens], [layers, 1, tokens]);
      assertClose(new Tensor(headMap(rollout, layers - 1, 0), [tokens, tokens]), layerOf(fixtureTensor(fixture, "rollout"), layers - 1), 0.01, "8-bit rollout");
    });
  });
}

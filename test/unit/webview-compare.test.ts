/**
 * Compare mode's pure parts: |A - B| maps, the per-layer summary, entropy, KV-cache bytes, the
 * default model B, and sorting and filtering heads by their metrics; on hand-computed cases, and on
 * the bundled MHA and GQA models run on onnxruntime-web (wasm, in Node) against the TypeScript
 * reference forward (DecoderModel), computed independently here in float64.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseModelConfig } from "../../src/model/config";
import type { ModelHeadMetrics } from "../../src/model/head-metrics";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { TextTokenizer } from "../../src/model/tokenizer";
import type { ModelDescriptor } from "../../src/protocol";
import { OnnxDecoder } from "../../src/runtime/onnx-decoder";
import { attentionMapsFromLayers, layerMaps, type AttentionMaps } from "../../webview/attention/attention-maps";
import {
  checkAlignable,
  differenceMaps,
  headEntropies,
  keyValueBytesByFormula,
  keyValueBytesOfTensors,
  keyValueMemory,
  layerSummaries,
  meanOverVisibleCells,
  meanRowEntropy,
  rowEntropy,
} from "../../webview/compare/comparison";
import { defaultModelB } from "../../webview/compare/default-model-b";
import { differenceColor, differencePosition, MAGMA_STOPS, renderDifferenceIntoImageData } from "../../webview/compare/difference-colors";
import { headKey, orderHeads, passesThreshold, passingHeads } from "../../webview/components/head-metric-order";

/** maps of one layer from explicit (nh, T, T) numbers. */
function mapsOf(heads: number[][][], keyValueHeads = heads.length): AttentionMaps {
  const tokens = heads[0].length;
  return attentionMapsFromLayers([{ shape: [1, heads.length, tokens, tokens], data: Float32Array.from(heads.flat(2)) }], keyValueHeads);
}

describe("compare: difference maps and the per-layer summary, by hand", () => {
  // Two heads, three tokens, causal rows.
  const a = mapsOf([
    [
      [1, 0, 0],
      [0.5, 0.5, 0],
      [0.2, 0.3, 0.5],
    ],
    [
      [1, 0, 0],
      [1, 0, 0],
      [1, 0, 0],
    ],
  ]);
  const b = mapsOf(
    [
      [
        [1, 0, 0],
        [0.25, 0.75, 0],
        [0.2, 0.3, 0.5],
      ],
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
    ],
    1,
  );

  it("|A - B| cell by cell, aligned by layer and head", () => {
    const difference = differenceMaps(a, b);
    assert.deepEqual(Array.from(layerMaps(difference, 0).subarray(0, 9)), [0, 0, 0, 0.25, 0.25, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(layerMaps(difference, 0).subarray(9)), [0, 0, 0, 1, 1, 0, 1, 0, 1]);
    assert.equal(difference.tokens, 3);
  });

  it("the mean counts only the T (T + 1) / 2 cells a query may see", () => {
    const difference = differenceMaps(a, b);
    assert.equal(meanOverVisibleCells(layerMaps(difference, 0).subarray(0, 9), 3), 0.5 / 6);
    assert.equal(meanOverVisibleCells(layerMaps(difference, 0).subarray(9), 3), 4 / 6);
    const [summary] = layerSummaries(a, b);
    assert.ok(Math.abs(summary.meanDifference - (0.5 / 6 + 4 / 6) / 2) < 1e-7);
    assert.equal(summary.maxDifference, 1);
  });

  it("entropy: -sum w ln w in nats, rows 1 .. T-1, 0 for a one-hot row", () => {
    assert.equal(rowEntropy([1, 0, 0]), 0);
    assert.ok(Math.abs(rowEntropy([0.5, 0.5]) - Math.LN2) < 1e-12);
    const head0 = layerMaps(a, 0).subarray(0, 9);
    const expected = (Math.LN2 - (0.2 * Math.log(0.2) + 0.3 * Math.log(0.3) + 0.5 * Math.log(0.5))) / 2;
    assert.ok(Math.abs(meanRowEntropy(head0, 3) - expected) < 1e-6);
    assert.deepEqual(headEntropies(b)[0].map((value) => Math.abs(value) < 1e-12), [false, true]);
    const [summary] = layerSummaries(a, b);
    assert.ok(Math.abs(summary.entropyA - expected / 2) < 1e-6, "A: head 1 looks at one token");
    assert.equal(meanRowEntropy(new Float32Array([1]), 1), 0);
  });

  it("refuses maps that cannot be aligned, saying why", () => {
    const short = mapsOf([[[1, 0], [0.5, 0.5]]]);
    assert.throws(() => differenceMaps(a, short), /model A attended over 3 tokens and model B over 2/);
    const oneHead = mapsOf([[[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]]);
    assert.throws(() => checkAlignable(a, oneHead, "attention-lens-mha", "x"), /attention-lens-mha has 1 layers × 2 query heads and x 1 × 1/);
  });
});

describe("compare: KV-cache bytes", () => {
  const tensor = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((product, size) => product * size, 1)) });

  it("counts the tensors' numbers x 4 bytes, which equals 2 x L x nkv x T x hs x 4", () => {
    const present = [0, 1, 2].map(() => ({ key: tensor([1, 2, 5, 16]), value: tensor([1, 2, 5, 16]) }));
    assert.equal(keyValueBytesOfTensors(present), 3 * 2 * 2 * 5 * 16 * 4);
    const memory = keyValueMemory(present);
    assert.deepEqual(memory.shape, { layers: 3, keyValueHeads: 2, tokens: 5, headDim: 16, bytesPerNumber: 4 });
    assert.equal(memory.bytes, keyValueBytesByFormula(memory.shape));
    assert.equal(memory.bytes, 3840);
    assert.equal(memory.bytesPerToken, 768);
  });

  it("says which layer's tensor has the wrong shape", () => {
    const present = [{ key: tensor([1, 2, 5, 16]), value: tensor([1, 2, 5, 16]) }, { key: tensor([1, 2, 5, 16]), value: tensor([1, 1, 5, 16]) }];
    assert.throws(() => keyValueMemory(present), /present value of layer 1 has shape \(1, 1, 5, 16\); expected \(1, 2, 5, 16\)/);
    assert.throws(() => keyValueMemory([]), /no present keys and values/);
  });
});

describe("compare: the difference colour scale", () => {
  it("runs from magma's first stop at 0 to its last at the largest difference", () => {
    assert.deepEqual(differenceColor(0, 0.4), [...MAGMA_STOPS[0]]);
    assert.deepEqual(differenceColor(0.4, 0.4), [...MAGMA_STOPS[MAGMA_STOPS.length - 1]]);
    assert.equal(differencePosition(0.1, 0.4), 0.25);
    assert.equal(differencePosition(0.3, 0), 0, "all equal: no difference anywhere");
  });

  it("draws NaN (a masked key) transparent and checks sizes", () => {
    const target = new Uint8ClampedArray(8);
    renderDifferenceIntoImageData([Number.NaN, 0.2], 1, 2, 0.2, target);
    assert.deepEqual(Array.from(target), [0, 0, 0, 0, ...MAGMA_STOPS[MAGMA_STOPS.length - 1], 255]);
    assert.throws(() => renderDifferenceIntoImageData([0], 1, 2, 1, target), /1 values for a 1 x 2 map/);
  });
});

describe("compare: sorting and filtering heads by their metrics", () => {
  const head = (previousToken: number, induction: number, sinkMass: number, entropy: number) => ({ previousToken, induction, sinkMass, entropy });
  const metrics: ModelHeadMetrics = [
    [head(0.1, 0.0, 0.9, 0.5), head(0.8, 0.1, 0.0, 2.0)],
    [head(0.3, 0.7, 0.1, 1.5), head(0.8, 0.4, 0.2, 0.2)],
  ];

  it("layer order is the model's own", () => {
    assert.deepEqual(orderHeads(2, 2, "layer", metrics).map(({ layer, head }) => [layer, head]), [[0, 0], [0, 1], [1, 0], [1, 1]]);
  });

  it("a metric order puts the highest first (ties in layer order), entropy the lowest first", () => {
    assert.deepEqual(orderHeads(2, 2, "previousToken", metrics).map(({ layer, head }) => headKey(layer, head)), ["0:1", "1:1", "1:0", "0:0"]);
    assert.deepEqual(orderHeads(2, 2, "induction", metrics).map((entry) => entry.score), [0.7, 0.4, 0.1, 0.0]);
    assert.deepEqual(orderHeads(2, 2, "entropy", metrics).map(({ layer, head }) => headKey(layer, head)), ["1:1", "0:0", "1:0", "0:1"]);
  });

  it("without metrics a metric order is layer order; metrics of another shape are refused", () => {
    assert.deepEqual(orderHeads(1, 2, "induction").map(({ head }) => head), [0, 1]);
    assert.throws(() => orderHeads(3, 2, "induction", metrics), /cover layers of \[2, 2\] heads; the model has 3 layers of 2 heads/);
  });

  it("the filter keeps score >= threshold (entropy: <=)", () => {
    assert.deepEqual([...passingHeads("induction", 0.4, metrics)], ["1:0", "1:1"]);
    assert.deepEqual([...passingHeads("sinkMass", 0.9, metrics)], ["0:0"]);
    assert.deepEqual([...passingHeads("entropy", 0.5, metrics)], ["0:0", "1:1"]);
    assert.equal(passesThreshold(metrics[0][1], "previousToken", 0.8), true);
    assert.equal(passingHeads("induction", 0.1).size, 0);
  });
});

describe("compare: the bundled MHA and GQA models on the same tokens", function () {
  this.timeout(120_000);
  const MODELS = join(__dirname, "..", "..", "media", "models");
  const load = (id: string) => {
    const folder = join(MODELS, id);
    const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${id}/config.json`);
    return { config, model: DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors) };
  };
  const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODELS, "attention-lens-mha", "tokenizer.json"), "utf8"));
  const ids = tokenizer.encode(readFileSync(join(__dirname, "..", "..", "media", "sample", "attention.ts"), "utf8").slice(0, 400), { addBos: true }).ids;
  const mha = load("attention-lens-mha");
  const gqa = load("attention-lens-gqa");
  let decoders: OnnxDecoder[] = [];

  after(async () => {
    for (const decoder of decoders) await decoder.dispose();
  });

  it("the ONNX runs' |A - B| and summary equal a float64 recomputation from the TypeScript forward", async () => {
    decoders = [await OnnxDecoder.create(mha.config, mha.model.weights, { choice: "wasm" }), await OnnxDecoder.create(gqa.config, gqa.model.weights, { choice: "wasm" })];
    const [stepA, stepB] = [await decoders[0].compute([ids], { fetchPresent: true }), await decoders[1].compute([ids], { fetchPresent: true })];
    const mapsA = attentionMapsFromLayers(stepA.attentions, mha.config.numKeyValueHeads);
    const mapsB = attentionMapsFromLayers(stepB.attentions, gqa.config.numKeyValueHeads);
    const summaries = layerSummaries(mapsA, mapsB);

    const referenceA = mha.model.forward([ids]).attentions;
    const referenceB = gqa.model.forward([ids]).attentions;
    const T = ids.length;
    const heads = mha.config.numAttentionHeads;
    summaries.forEach((summary, layer) => {
      let sum = 0;
      let count = 0;
      let entropyA = 0;
      for (let head = 0; head < heads; head++) {
        for (let query = 0; query < T; query++) {
          let rowEntropyA = 0;
          for (let key = 0; key <= query; key++) {
            const index = (head * T + query) * T + key; // (1, nh, T, T)
            const wa = referenceA[layer].data[index];
            sum += Math.abs(wa - referenceB[layer].data[index]);
            count++;
            if (wa > 0) rowEntropyA -= wa * Math.log(wa);
          }
          if (query > 0) entropyA += rowEntropyA;
        }
      }
      const expectedMean = sum / count;
      assert.ok(Math.abs(summary.meanDifference - expectedMean) < 1e-4, `layer ${layer}: mean |A - B| ${summary.meanDifference} vs ${expectedMean}`);
      assert.ok(summary.meanDifference > 1e-3, `layer ${layer}: MHA and GQA attend differently`);
      assert.ok(Math.abs(summary.entropyA - entropyA / (heads * (T - 1))) < 1e-3, `layer ${layer}: entropy of A`);
    });

    const memoryA = keyValueMemory(stepA.presentKeyValues);
    const memoryB = keyValueMemory(stepB.presentKeyValues);
    const { numHiddenLayers: L, headDim } = mha.config;
    assert.equal(memoryA.bytes, 2 * L * 8 * T * headDim * 4);
    assert.equal(memoryB.bytes, 2 * L * 2 * T * headDim * 4);
    assert.equal(memoryB.bytes / memoryA.bytes, 0.25, "GQA keeps 2 of 8 K/V heads");
    assert.equal(memoryA.bytesPerToken, 2 * L * 8 * headDim * 4);
  });
});

describe("compare: the default model B", () => {
  const descriptor = (id: string, numKeyValueHeads: number): ModelDescriptor => ({
    id,
    label: id,
    configUri: "",
    weightsUri: "",
    numLayers: 3,
    numHeads: 8,
    numKeyValueHeads,
    maxTokens: 512,
  });
  const mha = descriptor("attention-lens-mha", 8);
  const gqa = descriptor("attention-lens-gqa", 2);
  const mqa = descriptor("attention-lens-mqa", 1);

  it("is MHA for GQA or MQA, GQA for MHA, and nothing without a second model", () => {
    assert.equal(defaultModelB(gqa, [mha, gqa, mqa])?.id, "attention-lens-mha");
    assert.equal(defaultModelB(mqa, [mha, gqa, mqa])?.id, "attention-lens-mha");
    assert.equal(defaultModelB(mha, [mha, gqa, mqa])?.id, "attention-lens-gqa");
    assert.equal(defaultModelB(mha, [mha, mqa])?.id, "attention-lens-mqa");
    assert.equal(defaultModelB(gqa, [gqa])?.id, undefined);
  });
});

/**
 * The stages view's numbers: one (layer, head, query) row of the real bundled model's stage trace,
 * the formulas with those numbers substituted, dropout re-run on the trace, the sqrt(hs)
 * demonstration and the "show me the code" anchors. Every number is checked against the library's
 * trace and against a float64 recomputation from the traced q, k and v written out here.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DropoutRateError, dropoutMask } from "../../src/attention/dropout";
import { padBatch } from "../../src/attention/padded-batch";
import type { AttentionStages } from "../../src/attention/scaled-dot-product-attention";
import { entropy, scalingDemonstration } from "../../src/attention/scaling-demonstration";
import { findAnchorLine, SOURCE_ANCHOR_NAMES, SOURCE_ANCHORS } from "../../src/attention/source-anchors";
import { formatNumber, stageFormulas } from "../../src/attention/stage-formulas";
import { retraceWithDropout, STAGE_NAMES, traceQuery } from "../../src/attention/stage-trace";
import { Tensor } from "../../src/attention/tensor";
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { inspectStages, traceModelStages } from "../../src/model/stage-inspection";
import { TextTokenizer } from "../../src/model/tokenizer";

const ROOT = join(__dirname, "..", "..");
const MODEL = join(ROOT, "media", "models", "attention-lens-gqa");
const config = parseModelConfig(JSON.parse(readFileSync(join(MODEL, "config.json"), "utf8")));
const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(MODEL, "model.safetensors"))).tensors);
const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODEL, "tokenizer.json"), "utf8"));

const ids = tokenizer.encode("const total = items.reduce((sum, item) => sum + item.price, 0);", { addBos: true }).ids;
const stages = traceModelStages(model, [ids]);

function dot(a: readonly number[], b: readonly number[]): number {
  return a.reduce((sum, value, index) => sum + value * b[index], 0);
}

/** Row (b, h, i, :) of a (B, nh, T, X) tensor. */
function row(tensor: Tensor, batch: number, head: number, index: number): number[] {
  const [, heads, rows, width] = tensor.shape;
  const start = ((batch * heads + head) * rows + index) * width;
  return Array.from(tensor.data.subarray(start, start + width));
}

function assertRowClose(actual: readonly number[], expected: readonly number[], tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  actual.forEach((value, index) => {
    const difference = value === expected[index] ? 0 : Math.abs(value - expected[index]);
    assert.ok(difference <= tolerance, `${label}[${index}]: ${value} vs ${expected[index]}`);
  });
}

describe("attention stages of the real model, one query at a time", function () {
  this.timeout(60_000);

  it("traceQuery copies every stage's row out of the library's trace, for every layer and head", () => {
    for (const [layer, layerStages] of stages.entries()) {
      for (let head = 0; head < config.numAttentionHeads; head++) {
        for (const query of [0, 5, ids.length - 1]) {
          const trace = traceQuery(layerStages, { batch: 0, head, query });
          for (const stage of STAGE_NAMES) {
            assert.deepEqual(trace[stage], row(layerStages[stage], 0, head, query), `layer ${layer} head ${head} query ${query} ${stage}`);
          }
          assert.deepEqual(trace.queryVector, row(layerStages.query, 0, head, query));
        }
      }
    }
  });

  it("each stage equals a float64 recomputation from the traced q, k and v", () => {
    const trace = traceQuery(stages[1], { batch: 0, head: 5, query: 9 });
    const raw = trace.keyVectors.map((key) => dot(trace.queryVector, key));
    assertRowClose(trace.rawScores, raw, 1e-4, "raw scores");
    const scaled = raw.map((score) => score / Math.sqrt(config.headDim));
    assertRowClose(trace.scaledScores, scaled, 1e-5, "scaled scores");
    const mask = raw.map((_, key) => (key <= 9 ? 0 : -Infinity));
    assert.deepEqual(trace.mask, mask, "causal mask of query 9");
    assertRowClose(trace.maskedScores, scaled.map((score, key) => score + mask[key]), 1e-5, "masked scores");
    const maximum = Math.max(...scaled.slice(0, 10));
    const exponentials = scaled.map((score, key) => (key <= 9 ? Math.exp(score - maximum) : 0));
    const sum = exponentials.reduce((total, value) => total + value, 0);
    const weights = exponentials.map((value) => value / sum);
    assertRowClose(trace.weights, weights, 1e-6, "softmax weights");
    assert.deepEqual(trace.weightsAfterDropout, trace.weights, "no dropout at inference");
    const context = trace.queryVector.map((_, feature) => trace.valueVectors.reduce((total, value, key) => total + weights[key] * value[feature], 0));
    assertRowClose(trace.context, context, 1e-5, "context");
  });

  it("softmax rows sum to 1 where not fully masked and are 0 where fully masked (left-padded batch)", () => {
    const sequences = ["a = 1", "function add(a, b) { return a + b; }", "x"].map((text) => tokenizer.encode(text, { addBos: true }).ids);
    const batch = padBatch(sequences, tokenizer.padTokenId!);
    const batchStages = traceModelStages(model, batch.inputIds, batch.tokenMask);
    let fullyMaskedRows = 0;
    for (const layerStages of batchStages) {
      for (let sequence = 0; sequence < sequences.length; sequence++) {
        for (let head = 0; head < config.numAttentionHeads; head++) {
          for (let query = 0; query < batch.inputIds[0].length; query++) {
            const trace = traceQuery(layerStages, { batch: sequence, head, query });
            const total = trace.weights.reduce((sum, weight) => sum + weight, 0);
            if (trace.fullyMasked) {
              fullyMaskedRows++;
              assert.ok(trace.weights.every((weight) => weight === 0), `fully masked row ${sequence}/${query} is all zeros`);
              assert.ok(trace.context.every((value) => value === 0), "and so is its context");
            } else {
              assert.ok(Math.abs(total - 1) < 1e-5, `row ${sequence}/${head}/${query} sums to ${total}`);
            }
            assert.equal(trace.fullyMasked, batch.fullyMaskedQueries[sequence].includes(query));
          }
        }
      }
    }
    assert.ok(fullyMaskedRows > 0, "the left pads give fully masked rows");
  });

  it("the substituted formulas end in the library's number, and their terms add up to it", () => {
    const trace = traceQuery(stages[2], { batch: 0, head: 1, query: 7 });
    for (const key of [0, 3, 7, 8, ids.length - 1]) {
      const formulas = stageFormulas(trace, { key, feature: 2 });
      assert.deepEqual(formulas.map((formula) => formula.stage), [...STAGE_NAMES]);
      const expected = [trace.rawScores[key], trace.scaledScores[key], trace.maskedScores[key], trace.weights[key], trace.weightsAfterDropout[key], trace.context[2]];
      formulas.forEach((formula, index) => {
        assert.equal(formula.result, expected[index], `${formula.stage} result`);
        assert.ok(formula.substituted.endsWith(`= ${formatNumber(expected[index])}`), `${formula.stage}: ${formula.substituted}`);
      });
      assert.ok(Math.abs(dot(trace.queryVector, trace.keyVectors[key]) - trace.rawScores[key]) < 1e-4);
      assert.match(formulas[0].substituted, /\(13 more terms\)/);
      assert.match(formulas[2].note!, key <= 7 ? /is visible/ : /causal mask hides the future/);
    }
    assert.equal(formatNumber(-Infinity), "-inf");
    assert.equal(formatNumber(0.000123456), "0.0001235");
    assert.equal(formatNumber(3.14159), "3.142");
    assert.throws(() => stageFormulas(trace, { key: ids.length }), /key \d+ does not exist; this row has \d+ keys/);
    assert.throws(() => stageFormulas(trace, { key: 0, feature: 16 }), /feature 16 does not exist; the head has 16/);
  });

  it("a pad key's formula says the padding mask hid it, a fully masked row says it attends nothing", () => {
    const batch = padBatch([[0, 5, 6, 7], [0, 9]], tokenizer.padTokenId!);
    const batchStages = traceModelStages(model, batch.inputIds, batch.tokenMask);
    const padQuery = traceQuery(batchStages[0], { batch: 1, head: 0, query: 0 });
    assert.ok(padQuery.fullyMasked);
    assert.match(stageFormulas(padQuery, { key: 0, keyIsPad: true })[3].substituted, /every key of this row is masked/);
    const realQuery = traceQuery(batchStages[0], { batch: 1, head: 0, query: 3 });
    assert.match(stageFormulas(realQuery, { key: 1, keyIsPad: true })[2].note!, /key 1 is a pad token/);
    assert.equal(realQuery.weights[1], 0);
  });

  it("dropout re-runs the library on the traced Q, K, V: same weights, then the seeded dropout mask", () => {
    const rate = 0.25;
    const seed = 11;
    const dropped = retraceWithDropout(stages[0], { rate, seed });
    for (const stage of ["rawScores", "scaledScores", "maskedScores", "weights"] as const) {
      assert.deepEqual(dropped[stage].data, stages[0][stage].data, stage);
    }
    const mask = dropoutMask(stages[0].weights.shape, rate, seed);
    let zeros = 0;
    for (let i = 0; i < mask.size; i++) {
      assert.equal(dropped.weightsAfterDropout.data[i], Math.fround(stages[0].weights.data[i] * mask.data[i]));
      if (mask.data[i] === 0) zeros++;
    }
    assert.ok(Math.abs(zeros / mask.size - rate) < 0.02, `about ${rate} of the weights dropped (${zeros / mask.size})`);
    const inspection = inspectStages(config, stages, { layer: 0, head: 2, query: 6, dropout: { rate, seed } });
    assert.deepEqual(inspection.trace.weightsAfterDropout, row(dropped.weightsAfterDropout, 0, 2, 6));
    const formula = stageFormulas(inspection.trace, { key: 0, dropoutRate: rate })[4];
    assert.match(formula.symbolic, inspection.trace.weightsAfterDropout[0] === 0 ? /dropped/ : /1 \/ \(1 - p\)/);
    assert.match(formula.note!, /training only/);
  });

  it("refuses a dropout rate outside [0, 1), a bad seed and a layer, head or query that does not exist", () => {
    for (const rate of [1, 1.5, -0.1, Number.NaN]) {
      assert.throws(
        () => inspectStages(config, stages, { layer: 0, head: 0, query: 0, dropout: { rate, seed: 0 } }),
        (error: Error) => error instanceof DropoutRateError && /dropout rate must be at least 0 and below 1/.test(error.message),
        `rate ${rate}`,
      );
    }
    assert.throws(() => inspectStages(config, stages, { layer: 0, head: 0, query: 0, dropout: { rate: 0.1, seed: 1.5 } }), /dropout seed must be a whole number/);
    assert.throws(() => inspectStages(config, stages, { layer: 3, head: 0, query: 0 }), /layer 3 does not exist; the model has 3 \(0 to 2\)/);
    assert.throws(() => inspectStages(config, stages, { layer: 0, head: 8, query: 0 }), /head 8 does not exist; the model has 8 query heads/);
    assert.throws(() => inspectStages(config, stages, { layer: 0, head: 0, query: ids.length }), /query token \d+ does not exist/);
    const inspection = inspectStages(config, stages, { layer: 2, head: 5, query: 3 });
    assert.equal(inspection.keyValueHead, 1, "GQA: heads 4-7 read key/value head 1");
    assert.equal(inspection.dropout, undefined);
  });
});

describe("the sqrt(hs) demonstration", function () {
  this.timeout(60_000);

  it("on the real model: scaling divides the spread by sqrt(hs) and raises the softmax entropy", () => {
    for (const [layer, layerStages] of stages.entries()) {
      for (let head = 0; head < config.numAttentionHeads; head++) {
        const demonstration = scalingDemonstration(layerStages, { batch: 0, head, query: 12 });
        assert.equal(demonstration.scaleDivisor, 4);
        const ratio = demonstration.unscaled.standardDeviation / demonstration.scaled.standardDeviation;
        assert.ok(Math.abs(ratio - 4) < 1e-4, `layer ${layer} head ${head}: spread ratio ${ratio}`);
        assert.ok(demonstration.scaled.meanEntropy >= demonstration.unscaled.meanEntropy - 1e-9, `layer ${layer} head ${head}: entropy`);
        assert.ok(demonstration.scaled.meanEntropy <= demonstration.meanMaximumEntropy + 1e-9);
        assert.equal(demonstration.rows, ids.length);
        assert.equal(demonstration.pairs, (ids.length * (ids.length + 1)) / 2, "the causal triangle");
        // With the scaling, the row is the model's own softmax weights.
        assertRowClose(demonstration.scaled.selectedRowWeights, row(layerStages.weights, 0, head, 12), 1e-6, "scaled row = weights");
      }
    }
  });

  it("on a hand-computed case", () => {
    // One head, hs = 4, two queries, two keys; q . k = [[8, 0], [4, 4]].
    const query = Tensor.fromNested([[[[2, 2, 2, 2], [1, 1, 1, 1]]]]);
    const key = Tensor.fromNested([[[[1, 1, 1, 1], [1, -1, 1, -1]]]]);
    const rawScores = Tensor.fromNested([[[[8, 0], [4, 4]]]]);
    const maskedScores = Tensor.fromNested([[[[4, -Infinity], [2, 2]]]]);
    const fake = { query, key, rawScores, maskedScores, weights: maskedScores } as unknown as AttentionStages;
    const demonstration = scalingDemonstration(fake, { batch: 0, head: 0, query: 1 });
    assert.equal(demonstration.pairs, 3);
    assert.equal(demonstration.rows, 2);
    // unscaled scores 8, 4, 4: mean 16/3; scaled 4, 2, 2.
    assert.ok(Math.abs(demonstration.unscaled.mean - 16 / 3) < 1e-12);
    assert.ok(Math.abs(demonstration.unscaled.standardDeviation - Math.sqrt(32 / 9)) < 1e-12);
    assert.ok(Math.abs(demonstration.scaled.standardDeviation - Math.sqrt(32 / 9) / 2) < 1e-12);
    // Row 0 has one visible key (entropy 0), row 1 two equal ones (entropy ln 2), with or without scaling.
    assert.ok(Math.abs(demonstration.scaled.meanEntropy - Math.log(2) / 2) < 1e-12);
    assert.deepEqual(demonstration.scaled.selectedRowWeights, [0.5, 0.5]);
    assert.equal(entropy([0.5, 0.5]), Math.log(2));
    assert.equal(entropy([1, 0]), 0);
  });
});

describe("show me the code: source anchors", () => {
  it("every marker is on exactly one line of its file in src/attention", () => {
    for (const name of SOURCE_ANCHOR_NAMES) {
      const anchor = SOURCE_ANCHORS[name];
      const text = readFileSync(join(ROOT, "src", "attention", anchor.file), "utf8");
      const line = findAnchorLine(text, anchor);
      assert.ok(text.split("\n")[line - 1].includes(anchor.marker), name);
    }
  });

  it("every stage has an anchor in scaled-dot-product-attention.ts, in the order they are computed", () => {
    const text = readFileSync(join(ROOT, "src", "attention", "scaled-dot-product-attention.ts"), "utf8");
    const lines = STAGE_NAMES.map((stage) => findAnchorLine(text, SOURCE_ANCHORS[stage]));
    assert.deepEqual([...lines].sort((a, b) => a - b), lines);
  });

  it("a missing or repeated marker is an error that says what to fix", () => {
    const anchor = { file: "masks.ts", marker: "const nothing", description: "" };
    assert.throws(() => findAnchorLine("a\nb", anchor), /no longer contains "const nothing"; update SOURCE_ANCHORS/);
    assert.throws(() => findAnchorLine("const nothing\nconst nothing", anchor), /is on 2 lines of src\/attention\/masks.ts \(1, 2\)/);
    assert.equal(findAnchorLine("x\r\nconst nothing = 1\r\n", anchor), 2);
  });
});

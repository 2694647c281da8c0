/**
 * The batch view's numbers: lines tokenized one by one and left-padded, the padding, causal and
 * combined masks, checked by hand on a small case and against the masks the real model used (the
 * TypeScript forward's trace, and the ONNX graph on onnxruntime-web given the same token mask); pad
 * rows and columns get zero weight; right padding, for contrast, reads the next token from a pad.
 * And every bad batch gets a message that names the line.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { leftPad } from "../../src/attention/left-padding";
import { causalMask } from "../../src/attention/masks";
import { BatchError, padBatch, rightPad } from "../../src/attention/padded-batch";
import { maxAbsoluteDifference } from "../../src/attention/tensor-operations";
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { compareNextTokenReads } from "../../src/model/padding-comparison";
import { readSafetensors } from "../../src/model/safetensors";
import { traceModelStages } from "../../src/model/stage-inspection";
import { MAX_BATCH_LINES, textBatch } from "../../src/model/text-batch";
import { TextTokenizer } from "../../src/model/tokenizer";
import { OnnxDecoder } from "../../src/runtime/onnx-decoder";

const MODEL = join(__dirname, "..", "..", "media", "models", "attention-lens-mqa");
const config = parseModelConfig(JSON.parse(readFileSync(join(MODEL, "config.json"), "utf8")));
const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(MODEL, "model.safetensors"))).tensors);
const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODEL, "tokenizer.json"), "utf8"));
const inf = -Infinity;

const LINES = ["The cat sat on the mat.", "A dog barked.", "let total = 0;"];

describe("padded batches and their masks", function () {
  this.timeout(120_000);

  it("left padding, by hand: ids, token mask, positions and every mask", () => {
    const batch = padBatch([[5, 6, 7], [8]], 2);
    assert.deepEqual(batch.inputIds, [[5, 6, 7], [2, 2, 8]]);
    assert.deepEqual(batch.tokenMask, [[1, 1, 1], [0, 0, 1]]);
    assert.deepEqual(batch.positions, [[0, 1, 2], [0, 0, 0]]);
    assert.deepEqual(batch.causalMask.toNested(), [[0, inf, inf], [0, 0, inf], [0, 0, 0]]);
    assert.deepEqual(batch.paddingMask.toNested(), [[[[0, 0, 0]]], [[[inf, inf, 0]]]]);
    assert.deepEqual(batch.combinedMask.toNested(), [
      [[[0, inf, inf], [0, 0, inf], [0, 0, 0]]],
      [[[inf, inf, inf], [inf, inf, inf], [inf, inf, 0]]],
    ]);
    assert.deepEqual(batch.fullyMaskedQueries, [[], [0, 1]]);
    assert.equal(batch.readSlot, 2);
    assert.deepEqual(batch.lastRealSlots, [2, 2]);
    assert.deepEqual(batch.readsLastRealToken, [true, true]);
    assert.deepEqual({ inputIds: batch.inputIds, attentionMask: batch.tokenMask }, leftPad([[5, 6, 7], [8]], 2), "the library's leftPad");
  });

  it("right padding, by hand: the shorter row's last slot is a pad", () => {
    const batch = padBatch([[5, 6, 7], [8]], 2, { side: "right" });
    assert.deepEqual(batch.inputIds, [[5, 6, 7], [8, 2, 2]]);
    assert.deepEqual(batch.tokenMask, [[1, 1, 1], [1, 0, 0]]);
    assert.deepEqual((batch.combinedMask.toNested() as number[][][][])[1], [[[0, inf, inf], [0, inf, inf], [0, inf, inf]]]);
    assert.deepEqual(batch.fullyMaskedQueries, [[], []], "a right pad query still sees the real tokens before it");
    assert.deepEqual(batch.lastRealSlots, [2, 0]);
    assert.deepEqual(batch.readsLastRealToken, [true, false]);
    assert.deepEqual(rightPad([[1], [1, 2]], 0), { inputIds: [[1, 0], [1, 2]], attentionMask: [[1, 0], [1, 1]] });
  });

  it("the masks are the ones the real model used, and pad rows and columns get zero weight", () => {
    const { batch } = textBatch(tokenizer, LINES, { maxTokens: config.maxPositionEmbeddings });
    const length = batch.inputIds[0].length;
    const stages = traceModelStages(model, batch.inputIds, batch.tokenMask);
    for (const [layer, layerStages] of stages.entries()) {
      assert.deepEqual(layerStages.mask!.shape, [LINES.length, 1, length, length], `layer ${layer}: mask shape`);
      assert.deepEqual(Array.from(layerStages.mask!.data), Array.from(batch.combinedMask.data), `layer ${layer}: the model's mask`);
      const [batchSize, heads] = layerStages.weights.shape;
      for (let row = 0; row < batchSize; row++) {
        for (let head = 0; head < heads; head++) {
          for (let query = 0; query < length; query++) {
            for (let key = 0; key < length; key++) {
              const weight = layerStages.weights.at(row, head, query, key);
              if (batch.tokenMask[row][key] === 0 || batch.tokenMask[row][query] === 0) {
                assert.equal(weight, 0, `layer ${layer} row ${row} head ${head}: pad query ${query} / key ${key}`);
              }
              if (key > query) assert.equal(weight, 0, "causal");
            }
          }
        }
      }
    }
    // The causal part is the library's causal mask; the padding part is the model's key mask.
    assert.deepEqual(Array.from(batch.causalMask.data), Array.from(causalMask(length, length).data));
    const forward = model.forward(batch.inputIds, { attentionMask: batch.tokenMask });
    assert.deepEqual(forward.keyMask, batch.tokenMask);
    assert.deepEqual(forward.positions, batch.positions);
  });

  it("the ONNX graph on onnxruntime-web, given the batch's token mask, gives the same weights (zero at pads)", async () => {
    const { batch } = textBatch(tokenizer, LINES, { maxTokens: config.maxPositionEmbeddings });
    const reference = model.forward(batch.inputIds, { attentionMask: batch.tokenMask });
    const decoder = await OnnxDecoder.create(config, model.weights, { choice: "wasm" });
    try {
      const result = await decoder.compute(batch.inputIds, { attentionMask: batch.tokenMask });
      assert.deepEqual(result.keyMask, batch.tokenMask);
      result.attentions.forEach((weights, layer) => {
        const difference = maxAbsoluteDifference(weights, reference.attentions[layer]);
        assert.ok(difference < 1e-4, `layer ${layer}: ${difference}`);
        for (let row = 0; row < LINES.length; row++) {
          batch.tokenMask[row].forEach((real, key) => {
            if (real === 1) return;
            for (let head = 0; head < config.numAttentionHeads; head++) {
              for (let query = 0; query < batch.inputIds[0].length; query++) assert.equal(weights.at(row, head, query, key), 0);
            }
          });
        }
      });
    } finally {
      await decoder.dispose();
    }
  });

  it("left padding reads every row's next token as if it ran alone; right padding reads pads", () => {
    const sequences = LINES.map((line) => tokenizer.encode(line, { addBos: true }).ids);
    const comparison = compareNextTokenReads(model, sequences, tokenizer.padTokenId!);
    for (const read of comparison.left.reads) {
      assert.equal(read.readsPad, false);
      assert.equal(read.lastRealSlot, read.readSlot);
      assert.equal(read.predictedTokenId, read.expectedTokenId, `row ${read.row}`);
      assert.ok(read.maxLogitDifference < 1e-4, `row ${read.row}: ${read.maxLogitDifference}`);
    }
    const longest = Math.max(...sequences.map((sequence) => sequence.length));
    for (const read of comparison.right.reads) {
      const short = sequences[read.row].length < longest;
      assert.equal(read.readsPad, short, `row ${read.row}`);
      if (short) assert.ok(read.maxLogitDifference > 0.5, `row ${read.row} reads a pad: logits differ by ${read.maxLogitDifference}`);
      else assert.ok(read.maxLogitDifference < 1e-4);
    }
    assert.ok(comparison.right.reads.some((read) => read.predictedTokenId !== read.expectedTokenId), "some right-padded row predicts another token");
  });

  it("textBatch keeps each line's tokens, <|bos|> first, and pads on the left", () => {
    const result = textBatch(tokenizer, LINES, { maxTokens: 512 });
    result.encoded.forEach((encoded, index) => {
      assert.equal(encoded.ids[0], tokenizer.bosTokenId);
      assert.deepEqual(encoded.ids, tokenizer.encode(LINES[index], { addBos: true }).ids);
      const row = result.batch.inputIds[index];
      assert.deepEqual(row.slice(row.length - encoded.ids.length), encoded.ids);
      assert.ok(row.slice(0, row.length - encoded.ids.length).every((id) => id === tokenizer.padTokenId));
    });
  });

  describe("bad input gets a message naming the line", () => {
    it("an empty line among others", () => {
      assert.throws(
        () => textBatch(tokenizer, ["first line", "", "third"], { maxTokens: 512, firstLineNumber: 10 }),
        (error: Error) => error instanceof BatchError && /^line 11 is empty: every line becomes one sequence of the batch/.test(error.message),
      );
      assert.throws(() => textBatch(tokenizer, ["a", "   \t"], { maxTokens: 512 }), /line 2 is empty/);
      assert.throws(() => padBatch([[1, 2], []], 0), /sequence 2 of 2 is empty: every sequence of a batch needs at least one token/);
      assert.throws(() => padBatch([], 0), /the batch is empty/);
    });

    it("a line longer than the context", () => {
      const long = "word ".repeat(600);
      assert.throws(
        () => textBatch(tokenizer, ["short", long], { maxTokens: config.maxPositionEmbeddings }),
        /^BatchError: line 2 has \d+ tokens \(with <\|bos\|>\) but the model's context holds 512: shorten the line or split it$/,
      );
      assert.throws(() => padBatch([[1, 2, 3]], 0, { maxLength: 2 }), /sequence 1 of 1 has 3 tokens but the context holds 2/);
    });

    it("too many lines, or none", () => {
      const lines = Array.from({ length: MAX_BATCH_LINES + 1 }, (_, index) => `line ${index}`);
      assert.throws(() => textBatch(tokenizer, lines, { maxTokens: 512 }), new RegExp(`${MAX_BATCH_LINES + 1} lines selected but a batch here holds at most ${MAX_BATCH_LINES}`));
      assert.throws(() => textBatch(tokenizer, [], { maxTokens: 512 }), /no lines to batch/);
    });
  });
});

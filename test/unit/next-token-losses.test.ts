/**
 * How well the model knows a text: each token's next-token loss and the model's guesses, computed
 * slice by slice of the vocabulary (src/runtime/next-token-losses.ts), checked by hand on a small
 * case and against transformers' own cross entropy on every bundled model
 * (scripts/fixtures/make_model_parity_fixture.py), run layer by layer on onnxruntime-web (wasm).
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { parseModelConfig } from "../../src/model/config";
import { decoderWeightsFromTensors } from "../../src/model/weights";
import { readSafetensors } from "../../src/model/safetensors";
import { LayeredDecoder } from "../../src/runtime/layered-decoder";
import { NextTokenLosses } from "../../src/runtime/next-token-losses";
import { FIXTURES } from "./helpers/fixtures";

const MODELS = join(__dirname, "..", "..", "media", "models");
const bundled = readdirSync(MODELS).filter((name) => existsSync(join(MODELS, name, "config.json"))).sort();

describe("next-token losses", () => {
  it("equal log-sum-exp minus the target's logit, by hand, whether the vocabulary comes whole or in slices", () => {
    // 3 positions (the last has no next token), vocabulary 4; targets: tokens 1 and 2 of [0, 2, 3].
    const logits = Float32Array.from([1, 2, 0, -1, /* row 1 */ 0.5, 0.5, 3, 0, /* row 2 */ 9, 9, 9, 9]);
    const byHand = (row: number, target: number) => Math.log([0, 1, 2, 3].reduce((sum, column) => sum + Math.exp(logits[row * 4 + column]), 0)) - logits[row * 4 + target];
    const whole = new NextTokenLosses([2, 3], 4, 2);
    whole.addSlice(logits, 3, 4, 0);
    const report = whole.finish();
    assert.ok(Math.abs(report.losses[0] - byHand(0, 2)) < 1e-6 && Math.abs(report.losses[1] - byHand(1, 3)) < 1e-6, `${report.losses}`);
    assert.ok(Math.abs(report.meanLoss - (byHand(0, 2) + byHand(1, 3)) / 2) < 1e-6);
    assert.ok(Math.abs(report.perplexity - Math.exp(report.meanLoss)) < 1e-9);
    assert.deepEqual(report.guesses.map((row) => row.map((guess) => guess.id)), [[1, 0], [2, 0]]);
    assert.ok(Math.abs(report.guesses[0][0].probability - Math.exp(2 - byHand(0, 2) - logits[2])) < 1e-6);

    const sliced = new NextTokenLosses([2, 3], 4, 2);
    const slice = (start: number, width: number) => Float32Array.from({ length: 3 * width }, (_, index) => logits[Math.floor(index / width) * 4 + start + (index % width)]);
    sliced.addSlice(slice(2, 2), 3, 2, 2); // the later columns first: the order does not matter
    sliced.addSlice(slice(0, 2), 3, 2, 0);
    const again = sliced.finish();
    assert.deepEqual(Array.from(again.losses).map((loss) => loss.toFixed(6)), Array.from(report.losses).map((loss) => loss.toFixed(6)));
    assert.deepEqual(again.guesses.map((row) => row.map((guess) => guess.id)), [[1, 0], [2, 0]]);
  });

  it("refuses targets outside the vocabulary and a report before every column came", () => {
    assert.throws(() => new NextTokenLosses([4], 4), /target 4 is not a token id below 4/);
    const partial = new NextTokenLosses([1], 4);
    partial.addSlice(new Float32Array(4), 2, 2, 0);
    assert.throws(() => partial.finish(), /2 of 4 vocabulary columns/);
  });

  it("scored as a step of its own from a run's last hidden states (the panel: maps first, losses after), they are the same", async function () {
    this.timeout(60_000);
    const folder = join(MODELS, "attention-lens-gqa");
    const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), "config.json");
    const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
    const fixture = readSafetensors(readFileSync(join(FIXTURES, "models", "attention-lens-gqa.safetensors")));
    const ids = JSON.parse(fixture.metadata.input_ids) as number[];
    const decoder = await LayeredDecoder.create(config, weights, { choice: "wasm" });
    try {
      const together = (await decoder.compute([ids], { logits: "none", nextToken: { top: 5 } })).nextToken!;
      const step = await decoder.compute([ids], { logits: "none", keepFinalHidden: true });
      assert.equal(step.nextToken, undefined, "not scored during the run");
      assert.deepEqual(step.finalHidden!.shape, [1, ids.length, config.hiddenSize]);
      const after = await decoder.scoreNextTokens(step.finalHidden!, [ids], 5);
      assert.deepEqual(Array.from(after.losses), Array.from(together.losses));
      assert.deepEqual(after.guesses, together.guesses);
      assert.equal(after.meanLoss, together.meanLoss);
    } finally {
      await decoder.dispose();
    }
  });

  for (const id of bundled) {
    it(`${id}: the layer-by-layer runtime's losses equal transformers' cross entropy (slices of 1000 vocabulary rows)`, async () => {
      const folder = join(MODELS, id);
      const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${id}/config.json`);
      const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
      const fixture = readSafetensors(readFileSync(join(FIXTURES, "models", `${id}.safetensors`)));
      const ids = JSON.parse(fixture.metadata.input_ids) as number[];
      const expected = fixture.tensors.get("token_losses")!;
      const logits = fixture.tensors.get("logits")!;
      const decoder = await LayeredDecoder.create(config, weights, { choice: "wasm" }, { headSliceRows: 1000 });
      try {
        const step = await decoder.compute([ids], { logits: "none", nextToken: { top: 3 } });
        const report = step.nextToken!;
        assert.equal(report.losses.length, ids.length - 1);
        let worst = 0;
        report.losses.forEach((loss, index) => (worst = Math.max(worst, Math.abs(loss - expected.data[index]))));
        assert.ok(worst < 1e-4, `max |runtime - transformers| = ${worst}`);
        assert.ok(Math.abs(report.meanLoss - Number(fixture.metadata.loss)) < 1e-4, `${report.meanLoss} vs transformers' ${fixture.metadata.loss}`);
        const vocabulary = config.vocabSize;
        report.guesses.forEach((guesses, row) => {
          const rowLogits = logits.data.subarray(row * vocabulary, (row + 1) * vocabulary);
          const best = rowLogits.indexOf(Math.max(...rowLogits));
          assert.equal(guesses[0].id, best, `position ${row}: the top guess is transformers' largest logit`);
          assert.ok(guesses[0].probability >= guesses[1].probability && guesses[1].probability >= guesses[2].probability);
        });
        console.log(`      (${id}: ${report.meanLoss.toFixed(4)} nats per token, perplexity ${report.perplexity.toFixed(2)}; max difference ${worst.toExponential(2)})`);
      } finally {
        await decoder.dispose();
      }
    });
  }
});

/**
 * Choosing the next token (src/model/sampling.ts): greedy against hand-computed softmaxes, the
 * temperature and top-k cut, draws that depend on (seed, step) only, draws spread evenly, sampled
 * frequencies that follow the probabilities, and clear errors for settings that cannot be used.
 */

import assert from "node:assert/strict";
import {
  checkSamplingSettings,
  chooseToken,
  drawForStep,
  SamplingSettingsError,
  type SamplingSettings,
} from "../../src/model/sampling";
import { seededRandom } from "../../src/attention/seeded-random";

const sample = (temperature: number, topK: number, seed: number): SamplingSettings => ({ kind: "sample", temperature, topK, seed });

describe("sampling: greedy", () => {
  it("picks the highest logit and gives the softmax of the top candidates (hand-computed)", () => {
    // logits ln 1, ln 2, ln 3, ln 4 -> probabilities 1/10, 2/10, 3/10, 4/10
    const logits = Float32Array.from([1, 2, 3, 4].map(Math.log));
    const choice = chooseToken(logits, { kind: "greedy" }, 1, 3);
    assert.equal(choice.id, 3);
    assert.equal(choice.draw, undefined);
    assert.deepEqual(choice.candidates.map((candidate) => candidate.id), [3, 2, 1]);
    [0.4, 0.3, 0.2].forEach((expected, rank) => assert.ok(Math.abs(choice.candidates[rank].probability - expected) < 1e-6));
    assert.ok(Math.abs(choice.probability - 0.4) < 1e-6);
  });

  it("breaks a tie by the smaller id", () => {
    assert.equal(chooseToken(Float32Array.from([0, 5, 1, 5]), { kind: "greedy" }, 1).id, 1);
  });

  it("refuses NaN logits and an empty vocabulary", () => {
    assert.throws(() => chooseToken(Float32Array.from([0, Number.NaN]), { kind: "greedy" }, 1), /NaN/);
    assert.throws(() => chooseToken(new Float32Array(0), { kind: "greedy" }, 1), /no logits/);
  });
});

describe("sampling: temperature and top-k", () => {
  it("top-k = 1 is greedy, whatever the seed and temperature", () => {
    const logits = Float32Array.from([0.3, 2.5, -1, 2.4]);
    for (let seed = 0; seed < 20; seed++) assert.equal(chooseToken(logits, sample(5, 1, seed), seed + 1).id, 1);
  });

  it("divides the logits by the temperature and renormalises over the k highest (hand-computed)", () => {
    // logits 0, 2, 4, 1; temperature 2, top-2 keeps ids 2 and 1: softmax([2, 1]) = [e/(e+1), 1/(e+1)]
    const choice = chooseToken(Float32Array.from([0, 2, 4, 1]), sample(2, 2, 9), 3);
    const high = Math.E / (Math.E + 1);
    assert.deepEqual(choice.candidates.map((candidate) => candidate.id), [2, 1]);
    assert.ok(Math.abs(choice.candidates[0].probability - high) < 1e-9);
    assert.ok(Math.abs(choice.candidates[1].probability - (1 - high)) < 1e-9);
    // The draw decides: below e/(e+1) the first, else the second.
    const draw = drawForStep(9, 3);
    assert.equal(choice.draw, draw);
    assert.equal(choice.id, draw < high ? 2 : 1);
  });

  it("a top-k larger than the vocabulary keeps the whole vocabulary", () => {
    assert.deepEqual(checkSamplingSettings(sample(1, 1000, 0), 10), sample(1, 10, 0));
  });

  it("sampled frequencies follow the probabilities (20000 steps, within 0.015)", () => {
    const probabilities = [0.1, 0.2, 0.3, 0.4];
    const logits = Float32Array.from(probabilities.map(Math.log));
    const counts = [0, 0, 0, 0];
    const steps = 20000;
    for (let step = 1; step <= steps; step++) counts[chooseToken(logits, sample(1, 4, 12345), step).id]++;
    counts.forEach((count, id) => assert.ok(Math.abs(count / steps - probabilities[id]) < 0.015, `id ${id}: ${count / steps} vs ${probabilities[id]}`));
  });

  it("a high temperature flattens, a low one sharpens", () => {
    const logits = Float32Array.from([0, 1, 2]);
    const hot = chooseToken(logits, sample(100, 3, 1), 1).candidates[0].probability;
    const cold = chooseToken(logits, sample(0.05, 3, 1), 1).candidates[0].probability;
    assert.ok(hot < 0.35 && hot > 1 / 3, `hot ${hot}`);
    assert.ok(cold > 0.999, `cold ${cold}`);
  });
});

describe("sampling: seeded draws", () => {
  it("the draw of step n depends only on (seed, n): the same in any order, different for other seeds or steps", () => {
    const forward = [1, 2, 3, 4, 5].map((step) => drawForStep(42, step));
    const backward = [5, 4, 3, 2, 1].map((step) => drawForStep(42, step)).reverse();
    assert.deepEqual(forward, backward);
    assert.notDeepEqual(forward, [1, 2, 3, 4, 5].map((step) => drawForStep(43, step)));
    assert.equal(new Set(forward).size, forward.length);
  });

  it("the seeded generator's draws lie in [0, 1) and fill ten bins evenly (100000 draws, within 5%)", () => {
    const next = seededRandom(2024);
    const bins = new Array<number>(10).fill(0);
    for (let index = 0; index < 100000; index++) {
      const value = next();
      assert.ok(value >= 0 && value < 1);
      bins[Math.floor(value * 10)]++;
    }
    for (const count of bins) assert.ok(Math.abs(count - 10000) < 500, `bin ${count}`);
  });

  it("per-step draws of neighbouring seeds are unrelated (mean and spread of a uniform)", () => {
    const draws = Array.from({ length: 5000 }, (_, seed) => drawForStep(seed, 1));
    const mean = draws.reduce((sum, value) => sum + value, 0) / draws.length;
    const variance = draws.reduce((sum, value) => sum + (value - mean) ** 2, 0) / draws.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1 / 12) < 0.01, `variance ${variance}`);
  });
});

describe("sampling: settings a person can get wrong", () => {
  const cases: [SamplingSettings, RegExp][] = [
    [sample(0, 5, 1), /temperature must be a number greater than 0/],
    [sample(-1, 5, 1), /temperature/],
    [sample(Number.NaN, 5, 1), /temperature/],
    [sample(Number.POSITIVE_INFINITY, 5, 1), /temperature/],
    [sample(1, 0, 1), /top-k must be a whole number of at least 1/],
    [sample(1, 2.5, 1), /top-k/],
    [sample(1, 5, -1), /seed must be a whole number from 0 to 4294967295/],
    [sample(1, 5, 1.5), /seed/],
    [sample(1, 5, 2 ** 32), /seed/],
    [{ kind: "beam" } as unknown as SamplingSettings, /unknown sampling kind "beam"/],
  ];
  for (const [settings, message] of cases) {
    const label = Object.entries(settings).map(([name, value]) => `${name} ${String(value)}`).join(", ");
    it(`refuses ${label}`, () => {
      assert.throws(() => checkSamplingSettings(settings), (error: unknown) => error instanceof SamplingSettingsError && message.test(error.message));
      assert.throws(() => chooseToken(Float32Array.from([0, 1]), settings, 1), SamplingSettingsError);
    });
  }

  it("accepts greedy and valid sampling settings", () => {
    assert.deepEqual(checkSamplingSettings({ kind: "greedy" }), { kind: "greedy" });
    assert.deepEqual(checkSamplingSettings(sample(0.7, 40, 0)), sample(0.7, 40, 0));
  });
});

/**
 * Choosing the next token from the logits of the last position: greedy, or sampling with a
 * temperature and top-k from a seeded generator.
 *
 *   greedy:   next = argmax(logits)                      (ties: the smallest id)
 *   sampling: p = softmax(logits / temperature) over the k highest logits, renormalised;
 *             next = the token where a uniform draw u in [0, 1) falls in the cumulative p
 *
 * The draw of generated token n depends only on (seed, n), never on how many draws came before:
 * stepping back from token n and forward again repeats token n exactly, and the same seed gives the
 * same text on any machine (the generator is mulberry32, 32-bit integer arithmetic).
 *
 * Besides the chosen id, `chooseToken` returns the top candidates with the probabilities they were
 * chosen from, for display.
 *
 * Shape legend: V vocabulary.
 */

import { seededRandom } from "../attention/seeded-random";

/** Greedy decoding, or sampling with a temperature, a top-k cut and a seed. */
export type SamplingSettings =
  | { kind: "greedy" }
  | { kind: "sample"; temperature: number; topK: number; seed: number };

/** Thrown for sampling settings that cannot be used; the message says which and what to use. */
export class SamplingSettingsError extends Error {
  override name = "SamplingSettingsError";
}

/** One candidate for the next token and its probability under the distribution it was drawn from. */
export interface TokenCandidate {
  id: number;
  probability: number;
}

export interface TokenChoice {
  /** The chosen token id. */
  id: number;
  /** Its probability under the distribution it was drawn from. */
  probability: number;
  /** The most probable candidates, most probable first (the chosen one among them unless drawn from the tail of top-k). */
  candidates: TokenCandidate[];
  /** The uniform draw in [0, 1) that picked it, for sampling; undefined for greedy. */
  draw?: number;
}

/** Largest seed: seeds are unsigned 32-bit integers. */
export const MAX_SEED = 0xffffffff;

/**
 * Checks sampling settings (possibly typed by a person) and returns them normalised: temperature a
 * finite number > 0, top-k an integer >= 1 (cut to the vocabulary size when given), seed an integer
 * from 0 to 2^32 - 1.
 */
export function checkSamplingSettings(settings: SamplingSettings, vocabularySize?: number): SamplingSettings {
  if (settings.kind === "greedy") return { kind: "greedy" };
  if (settings.kind !== "sample") {
    throw new SamplingSettingsError(`unknown sampling kind "${String((settings as { kind: unknown }).kind)}": use "greedy" or "sample"`);
  }
  const { temperature, topK, seed } = settings;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature <= 0) {
    throw new SamplingSettingsError(
      `temperature must be a number greater than 0 (1 samples from the model's own distribution, lower is more deterministic), got ${String(temperature)}; for always the most likely token choose greedy`,
    );
  }
  if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1) {
    throw new SamplingSettingsError(`top-k must be a whole number of at least 1 (how many of the most likely tokens may be drawn), got ${String(topK)}`);
  }
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new SamplingSettingsError(`the seed must be a whole number from 0 to ${MAX_SEED}, got ${String(seed)}`);
  }
  return { kind: "sample", temperature, topK: vocabularySize === undefined ? topK : Math.min(topK, vocabularySize), seed };
}

/**
 * The uniform draw in [0, 1) for generated token `step` (1, 2, ...) under `seed`: a function of
 * (seed, step) only. The step is mixed into the seed (golden-ratio multiply, then a first draw
 * thrown away) so that neighbouring seeds and steps give unrelated draws.
 */
export function drawForStep(seed: number, step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`drawForStep: the step must be a whole number >= 0, got ${step}`);
  const mixedSeed = (seed ^ Math.imul(step + 1, 0x9e3779b9)) >>> 0;
  const generator = seededRandom(mixedSeed);
  generator();
  return generator();
}

/** Token ids ordered by logit, highest first (ties: the smaller id first). */
function idsByLogit(logits: Float32Array): number[] {
  const ids = Array.from({ length: logits.length }, (_, id) => id);
  return ids.sort((a, b) => logits[b] - logits[a] || a - b);
}

/**
 * softmax(logits[ids] / temperature), computed in float64 with the maximum subtracted; the ids are
 * sorted highest first, so ids[0] holds the maximum.
 */
function softmaxOver(logits: Float32Array, ids: readonly number[], temperature: number): number[] {
  const maximum = logits[ids[0]] / temperature;
  const exponentials = ids.map((id) => Math.exp(logits[id] / temperature - maximum));
  const total = exponentials.reduce((sum, value) => sum + value, 0);
  return exponentials.map((value) => value / total);
}

/**
 * Picks the next token from the logits of the last position, (V), for generated token `step`
 * (1, 2, ...; sampling's draw depends on it and on the seed only). `candidateCount` is how many of
 * the most probable tokens to return for display.
 */
export function chooseToken(logits: Float32Array, settings: SamplingSettings, step: number, candidateCount = 5): TokenChoice {
  if (logits.length === 0) throw new RangeError("chooseToken: no logits to choose from");
  for (const value of logits) {
    if (Number.isNaN(value)) throw new RangeError("chooseToken: the logits hold NaN; the model output is broken");
  }
  const checked = checkSamplingSettings(settings, logits.length);
  const ordered = idsByLogit(logits);

  if (checked.kind === "greedy") {
    // Display probabilities: the model's own distribution (temperature 1) over the whole vocabulary.
    const probabilities = softmaxOver(logits, ordered, 1);
    const candidates = ordered.slice(0, candidateCount).map((id, rank) => ({ id, probability: probabilities[rank] }));
    return { id: ordered[0], probability: probabilities[0], candidates };
  }

  const kept = ordered.slice(0, checked.topK); // the k highest logits
  const probabilities = softmaxOver(logits, kept, checked.temperature); // renormalised over top-k
  const draw = drawForStep(checked.seed, step);
  let rank = kept.length - 1; // rounding can leave the cumulative sum just below 1: the last one then
  let cumulative = 0;
  for (let index = 0; index < kept.length; index++) {
    cumulative += probabilities[index];
    if (draw < cumulative) {
      rank = index;
      break;
    }
  }
  const candidates = kept.slice(0, candidateCount).map((id, index) => ({ id, probability: probabilities[index] }));
  return { id: kept[rank], probability: probabilities[rank], candidates, draw };
}

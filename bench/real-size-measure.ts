/**
 * The measurement both halves of the real-size benchmark make on a loaded decoder, in Node
 * (real-size-run.ts) and in Chromium (browser/real-size-page.ts): after a short warm-up, for each T
 * a prefill of ids[:T] (every attention map computed and handed over layer by layer, then dropped,
 * as the panel keeps only what its budget allows; logits of the last row), the median of three
 * cached steps of ids[T] after that prefill's cache, and, when asked, the same T + 1 tokens
 * recomputed whole.
 */

import type { LayeredDecoder } from "../src/runtime/layered-decoder";

export interface LengthTimes {
  tokens: number;
  prefillMilliseconds: number;
  stepMilliseconds: number;
  recomputeMilliseconds?: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function measureLengths(decoder: LayeredDecoder, ids: readonly number[], lengths: readonly number[], recompute: boolean): Promise<LengthTimes[]> {
  const dropMaps = () => {};
  await decoder.compute([ids.slice(0, 8)], { logits: "last", onAttention: dropMaps }); // one-time set-up of the sessions
  const results: LengthTimes[] = [];
  for (const tokens of lengths) {
    let started = performance.now();
    const prefill = await decoder.compute([ids.slice(0, tokens)], { logits: "last", onAttention: dropMaps, fetchPresent: true });
    const prefillMilliseconds = performance.now() - started;
    const past = { keyValues: prefill.presentKeyValues, keyMask: prefill.keyMask };
    const steps: number[] = [];
    for (let repeat = 0; repeat < 3; repeat++) {
      started = performance.now();
      await decoder.compute([[ids[tokens]]], { past, logits: "last", onAttention: dropMaps });
      steps.push(performance.now() - started);
    }
    const result: LengthTimes = { tokens, prefillMilliseconds, stepMilliseconds: median(steps) };
    if (recompute) {
      started = performance.now();
      await decoder.compute([ids.slice(0, tokens + 1)], { logits: "last", onAttention: dropMaps });
      result.recomputeMilliseconds = performance.now() - started;
    }
    results.push(result);
  }
  return results;
}

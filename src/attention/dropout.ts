/**
 * Dropout on attention weights, as used while training: each weight is zeroed with probability
 * `rate`, and the survivors are multiplied by 1 / (1 - rate) ("inverted" dropout) so the expected
 * value of every weight is unchanged and nothing needs rescaling at inference time.
 *
 * It is seeded, so the same seed drops the same weights: a visualisation can show "after dropout"
 * and a test can reproduce it. At inference (training = false) dropout is the identity.
 */

import { seededRandom } from "./seeded-random";
import { Tensor } from "./tensor";

export class DropoutRateError extends RangeError {
  override name = "DropoutRateError";
}

/** A dropout rate must lie in [0, 1): 1 would drop everything and divide by zero. */
export function checkDropoutRate(rate: number): void {
  if (!(rate >= 0 && rate < 1)) {
    throw new DropoutRateError(`dropout rate must be at least 0 and below 1, got ${rate}`);
  }
}

/** The multiplier per element: 0 (dropped) or 1 / (1 - rate) (kept). Same shape as asked. */
export function dropoutMask(shape: readonly number[], rate: number, seed: number): Tensor {
  checkDropoutRate(rate);
  const random = seededRandom(seed);
  const keptScale = 1 / (1 - rate);
  const mask = Tensor.zeros(shape);
  for (let i = 0; i < mask.size; i++) mask.data[i] = random() < rate ? 0 : keptScale;
  return mask;
}

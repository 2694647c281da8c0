/**
 * RMSNorm (root mean square layer normalisation), used by Llama before attention and before the MLP:
 *
 *   y = x / sqrt(mean(x^2) + eps) * weight
 *
 * Unlike LayerNorm it does not subtract the mean and has no bias: it only rescales each token's
 * vector to unit root-mean-square, then applies a learned per-feature gain.
 *
 * Shape: x (..., C), weight (C) -> (..., C).
 */

import { assertShape, Tensor } from "../attention/tensor";

export function rmsNorm(x: Tensor, weight: Tensor, epsilon: number): Tensor {
  const width = x.shape[x.rank - 1];
  assertShape(weight, [width], "rmsNorm weight");
  const out = new Float32Array(x.size);
  for (let base = 0; base < x.size; base += width) {
    let sumOfSquares = 0;
    for (let i = 0; i < width; i++) sumOfSquares += x.data[base + i] * x.data[base + i];
    const inverseRms = 1 / Math.sqrt(sumOfSquares / width + epsilon);
    for (let i = 0; i < width; i++) out[base + i] = weight.data[i] * Math.fround(x.data[base + i] * inverseRms);
  }
  return new Tensor(out, x.shape);
}

/**
 * RMSNorm (root mean square layer normalisation):
 *
 *   y = x / sqrt(mean(x^2) + eps) * weight
 *
 * Unlike LayerNorm it does not subtract the mean and has no bias: it only rescales each vector to
 * unit root-mean-square, then applies a learned per-feature gain. It lives in the attention library
 * because attention itself uses it: Qwen3 normalises every query and key head over its hs features
 * before RoPE (`q_norm`, `k_norm`; see `normalizeQueryKey` in self-attention.ts). The decoder uses
 * it as well, before attention and before the MLP (src/model/normalization.ts).
 *
 * Shape: x (..., D), weight (D) -> (..., D); D is C for the decoder's norms and hs for q/k norm.
 */

import { assertShape, Tensor } from "./tensor";

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

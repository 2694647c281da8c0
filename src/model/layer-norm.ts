/**
 * LayerNorm with a bias, as GPT-2 uses it before attention, before the MLP and at the end (ln_1,
 * ln_2, ln_f):
 *
 *   y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias
 *
 * The variance is the biased one (divided by C, not C - 1), as in torch.nn.LayerNorm. Compared with
 * RMSNorm (src/attention/rms-norm.ts) it also centres each vector and adds a learned shift.
 *
 * Shape: x (..., C), weight (C), bias (C) -> (..., C).
 */

import { assertShape, Tensor } from "../attention/tensor";

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, epsilon: number): Tensor {
  const width = x.shape[x.rank - 1];
  assertShape(weight, [width], "layerNorm weight", ["C"]);
  assertShape(bias, [width], "layerNorm bias", ["C"]);
  const out = new Float32Array(x.size);
  for (let base = 0; base < x.size; base += width) {
    let sum = 0;
    for (let i = 0; i < width; i++) sum += x.data[base + i];
    const mean = sum / width;
    let sumOfSquares = 0;
    for (let i = 0; i < width; i++) sumOfSquares += (x.data[base + i] - mean) ** 2;
    const inverseDeviation = 1 / Math.sqrt(sumOfSquares / width + epsilon);
    for (let i = 0; i < width; i++) out[base + i] = (x.data[base + i] - mean) * inverseDeviation * weight.data[i] + bias.data[i];
  }
  return new Tensor(out, x.shape);
}

/**
 * The SwiGLU feed-forward block of Llama, applied to every token on its own after attention:
 *
 *   mlp(x) = W_down (silu(W_gate x) * W_up x),    silu(z) = z * sigmoid(z)
 *
 * The gate decides, feature by feature, how much of the "up" projection passes.
 *
 * Shape: x (..., C) -> (..., I) -> (..., C), where I is the intermediate size.
 */

import { linear } from "../attention/tensor-operations";
import { Tensor } from "../attention/tensor";
import type { MlpWeights } from "./weights";

export function silu(z: number): number {
  return z / (1 + Math.exp(-z));
}

export function swigluMlp(x: Tensor, weights: MlpWeights): Tensor {
  const gate = linear(x, weights.gate!); // (..., C) -> (..., I)
  const up = linear(x, weights.up); // (..., C) -> (..., I)
  const gated = new Float32Array(gate.size);
  for (let i = 0; i < gated.length; i++) gated[i] = silu(gate.data[i]) * up.data[i];
  return linear(new Tensor(gated, gate.shape), weights.down); // (..., I) -> (..., C)
}

/**
 * The SwiGLU feed-forward block of Llama, Mistral and Qwen, applied to every token on its own after
 * attention:
 *
 *   mlp(x) = W_down (silu(W_gate x + b_gate) * (W_up x + b_up)) + b_down,    silu(z) = z * sigmoid(z)
 *
 * The gate decides, feature by feature, how much of the "up" projection passes. The biases are
 * optional (Llama's mlp_bias); most checkpoints have none.
 *
 * Shape: x (..., C) -> (..., I) -> (..., C), where I is the intermediate size.
 */

import { linear } from "../attention/tensor-operations";
import { Tensor } from "../attention/tensor";
import { silu } from "./activations";
import { WeightsError, type Float32MlpWeights } from "./weights";

export function swigluMlp(x: Tensor, weights: Float32MlpWeights): Tensor {
  if (!weights.gate) throw new WeightsError("swigluMlp: the MLP weights have no gate (gate_proj); a SwiGLU MLP needs W_gate, W_up and W_down");
  const gate = linear(x, weights.gate, weights.gateBias); // (..., C) -> (..., I)
  const up = linear(x, weights.up, weights.upBias); // (..., C) -> (..., I)
  const gated = new Float32Array(gate.size); // (..., I)
  for (let i = 0; i < gated.length; i++) gated[i] = silu(gate.data[i]) * up.data[i];
  return linear(new Tensor(gated, gate.shape), weights.down, weights.downBias); // (..., I) -> (..., C)
}

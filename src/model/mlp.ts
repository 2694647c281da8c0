/**
 * The decoder's feed-forward block (MLP), chosen by the config, applied to every token on its own:
 *
 *   gated (config.gatedMlp, SwiGLU: Llama, Mistral, Qwen)   see swiglu-mlp.ts
 *     mlp(x) = W_down (silu(W_gate x + b_gate) * (W_up x + b_up)) + b_down
 *
 *   plain (GPT-2's c_fc and c_proj)
 *     mlp(x) = W_down act(W_up x + b_up) + b_down,      act = config.activation (gelu-tanh or gelu)
 *
 * Shape: x (..., C) -> (..., I) -> (..., C), where I is the intermediate size.
 */

import { linear, map } from "../attention/tensor-operations";
import type { Tensor } from "../attention/tensor";
import { activationFunction } from "./activations";
import type { DecoderConfig } from "./config";
import { swigluMlp } from "./swiglu-mlp";
import { WeightsError, type Float32MlpWeights } from "./weights";

export function mlp(config: Pick<DecoderConfig, "gatedMlp" | "activation">, x: Tensor, weights: Float32MlpWeights): Tensor {
  if (config.gatedMlp) {
    if (config.activation !== "silu") {
      throw new RangeError(`mlp: a gated MLP here is SwiGLU, with silu; the config asks for ${config.activation}`);
    }
    return swigluMlp(x, weights); // (..., C) -> (..., C)
  }
  return plainMlp(x, weights, activationFunction(config.activation)); // (..., C) -> (..., C)
}

/** Two linear layers with a nonlinearity between them: W_down act(W_up x + b_up) + b_down. */
export function plainMlp(x: Tensor, weights: Float32MlpWeights, activation: (z: number) => number): Tensor {
  if (weights.gate) throw new WeightsError("plainMlp: the MLP weights hold a gate (gate_proj), but the config says the MLP is not gated; check the config's family");
  const hidden = map(linear(x, weights.up, weights.upBias), activation); // (..., C) -> (..., I)
  return linear(hidden, weights.down, weights.downBias); // (..., I) -> (..., C)
}

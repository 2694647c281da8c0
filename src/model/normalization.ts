/**
 * The decoder's norm, chosen by the config: RMSNorm (Llama, Mistral, Qwen2, Qwen3: a gain only) or
 * LayerNorm with a bias (GPT-2). The same choice serves the norm before attention, the norm before
 * the MLP and the final norm, each with its own gain (and bias), and `config.normEpsilon`.
 *
 * Shape: x (..., C), gain (C), bias (C) -> (..., C).
 */

import { rmsNorm } from "../attention/rms-norm";
import type { Tensor } from "../attention/tensor";
import type { DecoderConfig } from "./config";
import { layerNorm } from "./layer-norm";
import { WeightsError } from "./weights";

/** Normalises every token's vector as the family does; `where` names the norm in errors. */
export function normalize(
  config: Pick<DecoderConfig, "normalization" | "normEpsilon">,
  x: Tensor,
  gain: Tensor,
  bias: Tensor | undefined,
  where: string,
): Tensor {
  switch (config.normalization) {
    case "rms":
      if (bias) throw new WeightsError(`${where}: RMSNorm has no bias, but the weights hold one; the config says "rms" normalization, check that it belongs to these weights`);
      return rmsNorm(x, gain, config.normEpsilon); // (..., C)
    case "layer":
      if (!bias) throw new WeightsError(`${where}: LayerNorm needs a bias and the weights have none; load GPT-2 weights with their ln_*.bias tensors`);
      return layerNorm(x, gain, bias, config.normEpsilon); // (..., C)
    default: {
      const unknown: never = config.normalization;
      throw new WeightsError(`${where}: unknown normalization ${JSON.stringify(unknown)}; expected "rms" or "layer"`);
    }
  }
}

/**
 * The normalisations of the decoder graph, over the last axis:
 *
 *   RMSNorm    x / sqrt(mean(x^2) + eps) * weight                  Llama, Mistral, Qwen (and Qwen3's
 *                                                                  q_norm / k_norm over each head's hs)
 *   LayerNorm  (x - mean(x)) / sqrt(var(x) + eps) * weight + bias  GPT-2
 *
 * RMSNorm is written with primitive operators, as transformers' LlamaRMSNorm computes it. LayerNorm
 * is the ONNX `LayerNormalization` operator (opset 17+, computed in float32), which onnxruntime-web
 * runs on wasm and WebGPU and which matches torch.nn.LayerNorm to float32 rounding.
 *
 * Shape legend: any leading axes (B, T) or (B, h, T), then the normalised axis: C or hs.
 */

import type { Tensor } from "../../attention/tensor";
import type { DecoderConfig } from "../config";
import type { GraphBuilder } from "./graph-builder";

/** RMSNorm: x / sqrt(mean(x^2) + eps) * weight, over the last axis. */
export function buildRmsNorm(graph: GraphBuilder, x: string, weight: Tensor, epsilon: number, name: string): string {
  const meanSquare = graph.op("ReduceMean", [graph.op("Mul", [x, x], { name: `${name}/square` }), graph.int64s([-1])], {
    name: `${name}/mean_square`,
    attributes: { keepdims: 1 },
  }); // (..., C) -> (..., 1)
  const inverseRms = graph.op(
    "Reciprocal",
    [graph.op("Sqrt", [graph.op("Add", [meanSquare, graph.floats([epsilon])], { name: `${name}/plus_eps` })], { name: `${name}/rms` })],
    { name: `${name}/inverse_rms` },
  ); // (..., 1)
  const scaled = graph.op("Mul", [x, inverseRms], { name: `${name}/normalized` }); // (..., C)
  return graph.op("Mul", [graph.weight(`${name}.weight`, weight), scaled], { name: `${name}/gain` }); // (C) * (..., C) -> (..., C)
}

/** LayerNorm: (x - mean) / sqrt(var + eps) * weight + bias, over the last axis (biased variance, as PyTorch). */
export function buildLayerNorm(graph: GraphBuilder, x: string, weight: Tensor, bias: Tensor | undefined, epsilon: number, name: string): string {
  const inputs = [x, graph.weight(`${name}.weight`, weight)];
  if (bias) inputs.push(graph.weight(`${name}.bias`, bias));
  return graph.op("LayerNormalization", inputs, {
    name,
    attributes: { axis: -1, epsilon: { float: epsilon }, stash_type: 1 },
  }); // (..., C) -> (..., C)
}

/** The family's norm (config.normalization) with this gain and, for LayerNorm, this bias. */
export function buildNorm(graph: GraphBuilder, config: DecoderConfig, x: string, weight: Tensor, bias: Tensor | undefined, name: string): string {
  switch (config.normalization) {
    case "rms":
      return buildRmsNorm(graph, x, weight, config.normEpsilon, name); // (..., C)
    case "layer":
      return buildLayerNorm(graph, x, weight, bias, config.normEpsilon, name); // (..., C)
    default: {
      const unknown: never = config.normalization;
      throw new Error(`${name}: normalization ${JSON.stringify(unknown)} has no ONNX graph; expected "rms" or "layer"`);
    }
  }
}

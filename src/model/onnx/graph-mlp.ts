/**
 * The MLP of one decoder layer in the ONNX graph, in the two forms of the families:
 *
 *   gated (SwiGLU)   down(act(gate x + b_g) * (up x + b_u)) + b_d    Llama, Mistral, Qwen (act = SiLU)
 *   plain            down(act(up x + b_u)) + b_d                     GPT-2 (c_fc, GELU, c_proj)
 *
 * Biases only where the family has them (Llama's mlp_bias, GPT-2). The activations, written with
 * primitive operators that onnxruntime-web runs on wasm and WebGPU (Sigmoid, Tanh, Erf, Mul, Add):
 *
 *   silu        x * sigmoid(x)
 *   gelu-tanh   0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))   transformers' gelu_new
 *   gelu        0.5 x (1 + erf(x / sqrt(2)))                         exact GELU
 *
 * Shape legend: B batch, T new tokens, C model width, I MLP width.
 */

import type { DecoderConfig, MlpActivation } from "../config";
import type { MlpWeights } from "../weights";
import type { GraphBuilder } from "./graph-builder";
import { buildLinear } from "./graph-linear";

/** (B, T, C) normalised hidden states -> (B, T, C) MLP output, before the residual add. */
export function buildMlp(graph: GraphBuilder, config: DecoderConfig, x: string, weights: MlpWeights, name: string): string {
  const up = buildLinear(graph, x, weights.up, weights.upBias, `${name}.up_proj`); // (B, T, C) -> (B, T, I)
  let hidden: string; // (B, T, I)
  if (config.gatedMlp) {
    if (!weights.gate) {
      throw new Error(`${name}: the config asks for a gated MLP (SwiGLU) but the weights have no gate_proj; load the weights with the config they belong to`);
    }
    const gate = buildLinear(graph, x, weights.gate, weights.gateBias, `${name}.gate_proj`); // (B, T, C) -> (B, T, I)
    hidden = graph.op("Mul", [buildActivation(graph, gate, config.activation, `${name}/act`), up], { name: `${name}/gated` }); // (B, T, I)
  } else {
    hidden = buildActivation(graph, up, config.activation, `${name}/act`); // (B, T, I)
  }
  return buildLinear(graph, hidden, weights.down, weights.downBias, `${name}.down_proj`); // (B, T, I) -> (B, T, C)
}

/** The MLP's nonlinearity, elementwise: (B, T, I) -> (B, T, I). */
export function buildActivation(graph: GraphBuilder, x: string, activation: MlpActivation, name: string): string {
  switch (activation) {
    case "silu":
      return graph.op("Mul", [x, graph.op("Sigmoid", [x], { name: `${name}/sigmoid` })], { name: `${name}/silu` }); // x * sigmoid(x)
    case "gelu-tanh": {
      const cube = graph.op("Mul", [x, graph.op("Mul", [x, x], { name: `${name}/square` })], { name: `${name}/cube` }); // x^3
      const inner = graph.op("Add", [x, graph.op("Mul", [cube, graph.floats([0.044715])], { name: `${name}/cube_scaled` })], { name: `${name}/inner` }); // x + 0.044715 x^3
      const tanh = graph.op("Tanh", [graph.op("Mul", [inner, graph.floats([Math.sqrt(2 / Math.PI)])], { name: `${name}/tanh_input` })], { name: `${name}/tanh` }); // tanh(sqrt(2/pi) (...))
      return buildHalfXTimesOnePlus(graph, x, tanh, name); // 0.5 x (1 + tanh(...))
    }
    case "gelu": {
      const erf = graph.op("Erf", [graph.op("Mul", [x, graph.floats([Math.SQRT1_2])], { name: `${name}/erf_input` })], { name: `${name}/erf` }); // erf(x / sqrt(2))
      return buildHalfXTimesOnePlus(graph, x, erf, name); // 0.5 x (1 + erf(...))
    }
    default: {
      const unknown: never = activation;
      throw new Error(`${name}: activation ${JSON.stringify(unknown)} has no ONNX graph; expected "silu", "gelu-tanh" or "gelu"`);
    }
  }
}

/** 0.5 x (1 + y), the common tail of both GELUs. */
function buildHalfXTimesOnePlus(graph: GraphBuilder, x: string, y: string, name: string): string {
  const onePlus = graph.op("Add", [y, graph.floats([1])], { name: `${name}/one_plus` }); // 1 + y
  const halfX = graph.op("Mul", [x, graph.floats([0.5])], { name: `${name}/half_x` }); // 0.5 x
  return graph.op("Mul", [halfX, onePlus], { name: `${name}/gelu` }); // 0.5 x (1 + y)
}

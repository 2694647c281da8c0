/**
 * A linear layer in the ONNX graph, as PyTorch's nn.Linear computes it: y = x W^T + b.
 *
 * The checkpoint stores W as (out, in); the initializer holds W^T, (in, out), so one MatMul applies
 * it to activations of any rank. The bias, when the family has one, is one Add after the MatMul.
 *
 * Initializers are named after the Hugging Face parameter: "<name>.weight^T" and "<name>.bias".
 *
 * A graph whose weights are inputs (`GraphBuilder.weightsAsInputs`, one graph for every layer) takes
 * W as stored, (out, in), named "<name>.weight", and transposes it in the graph; onnxruntime fuses
 * that Transpose into the MatMul (a GEMM with B transposed), so no copy of W is made per run.
 */

import type { Tensor } from "../../attention/tensor";
import { transposeLastTwo } from "../../attention/tensor-operations";
import { float32Of, type WeightTensor } from "../half-tensor";
import type { GraphBuilder } from "./graph-builder";

/** (..., in) -> (..., out): x W^T, plus the bias when given. */
export function buildLinear(graph: GraphBuilder, x: string, weight: WeightTensor, bias: Tensor | undefined, name: string): string {
  const transposed = graph.weightsAsInputs
    ? graph.op("Transpose", [graph.weight(`${name}.weight`, weight)], { name: `${name}/weight_transposed`, attributes: { perm: [1, 0] } }) // (out, in) -> (in, out)
    : graph.weight(`${name}.weight^T`, transposeLastTwo(float32Of(weight))); // (in, out)
  const product = graph.op("MatMul", [x, transposed], { name }); // (..., in) x (in, out) -> (..., out)
  if (!bias) return product;
  if (bias.shape.length !== 1 || bias.shape[0] !== weight.shape[0]) {
    throw new RangeError(`${name}: the bias is (${bias.shape.join(", ")}) but the weight (${weight.shape.join(", ")}) needs (${weight.shape[0]}); the weights do not fit this layer`);
  }
  return graph.op("Add", [product, graph.weight(`${name}.bias`, bias)], { name: `${name}/bias` }); // (..., out) + (out) -> (..., out)
}

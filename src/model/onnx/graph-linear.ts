/**
 * A linear layer in the ONNX graph, as PyTorch's nn.Linear computes it: y = x W^T + b.
 *
 * The checkpoint stores W as (out, in); the initializer holds W^T, (in, out), so one MatMul applies
 * it to activations of any rank. The bias, when the family has one, is one Add after the MatMul.
 *
 * Initializers are named after the Hugging Face parameter: "<name>.weight^T" and "<name>.bias".
 */

import type { Tensor } from "../../attention/tensor";
import { transposeLastTwo } from "../../attention/tensor-operations";
import type { GraphBuilder } from "./graph-builder";

/** (..., in) -> (..., out): x W^T, plus the bias when given. */
export function buildLinear(graph: GraphBuilder, x: string, weight: Tensor, bias: Tensor | undefined, name: string): string {
  const product = graph.op("MatMul", [x, graph.weight(`${name}.weight^T`, transposeLastTwo(weight))], { name }); // (..., in) x (in, out) -> (..., out)
  if (!bias) return product;
  if (bias.shape.length !== 1 || bias.shape[0] !== weight.shape[0]) {
    throw new RangeError(`${name}: the bias is (${bias.shape.join(", ")}) but the weight (${weight.shape.join(", ")}) needs (${weight.shape[0]}); the weights do not fit this layer`);
  }
  return graph.op("Add", [product, graph.weight(`${name}.bias`, bias)], { name: `${name}/bias` }); // (..., out) + (out) -> (..., out)
}

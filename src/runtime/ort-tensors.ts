/**
 * Between the attention library's `Tensor` and onnxruntime's: weights fed as runtime inputs over
 * their own arrays, a cache fed as a copy, and outputs read back, shared or copied.
 */

import * as ort from "onnxruntime-web";

import { Tensor } from "../attention/tensor";

/** Runtime inputs over the tensors' own arrays: onnxruntime copies them into the backend at each run. */
export function feedsOf(weights: readonly { name: string; tensor: Tensor }[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const { name, tensor } of weights) feeds[name] = new ort.Tensor("float32", tensor.data, [...tensor.shape]);
  return feeds;
}

/** A library Tensor as an onnxruntime tensor over a COPY of its data (a run may not keep ours). */
export function fromTensor(tensor: Tensor): ort.Tensor {
  return new ort.Tensor("float32", tensor.data.slice(), [...tensor.shape]);
}

/**
 * An onnxruntime output (on the CPU or the GPU) as a library Tensor. "share" hands over the output's
 * own array (for an output nothing else uses); "copy" for one the decoder keeps (a present).
 */
export async function toTensor(tensor: ort.Tensor, use: "share" | "copy" = "share"): Promise<Tensor> {
  const data = (await tensor.getData()) as Float32Array;
  return new Tensor(use === "share" && tensor.location === "cpu" ? data : new Float32Array(data), tensor.dims);
}

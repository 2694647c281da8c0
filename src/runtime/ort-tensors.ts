/**
 * Between the attention library's `Tensor` and onnxruntime's: weights fed as runtime inputs over
 * their own arrays, a cache fed as a copy, and outputs read back, shared or copied.
 */

import * as ort from "onnxruntime-web";

import { Tensor } from "../attention/tensor";
import { HalfTensor, type WeightTensor } from "../model/half-tensor";

/**
 * Runtime inputs over the tensors' own arrays: onnxruntime copies them into the backend at each run.
 * A float16 weight is fed as float16 (its bits, half the bytes of float32; the graph casts it), or,
 * where the graph takes it as float32 (`fedAs`), decoded into a new array for this run.
 */
export function feedsOf(weights: readonly { name: string; tensor: WeightTensor; fedAs?: "float16" | "float32" }[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const { name, tensor, fedAs } of weights) feeds[name] = weightFeed(tensor, fedAs);
  return feeds;
}

/** Whether feeding these weights decodes float16 ones (then the feeds are made per run, not kept). */
export function feedsDecode(weights: readonly { tensor: WeightTensor; fedAs?: "float16" | "float32" }[]): boolean {
  return weights.some(({ tensor, fedAs }) => tensor instanceof HalfTensor && fedAs === "float32");
}

/** One weight as a runtime input: over its own array, or decoded when a float16 weight is fed as float32. */
export function weightFeed(tensor: WeightTensor, fedAs: "float16" | "float32" = tensor instanceof HalfTensor ? "float16" : "float32"): ort.Tensor {
  if (!(tensor instanceof HalfTensor)) return new ort.Tensor("float32", tensor.data, [...tensor.shape]);
  return fedAs === "float16" ? new ort.Tensor("float16", tensor.bits, [...tensor.shape]) : new ort.Tensor("float32", tensor.toFloat32().data, [...tensor.shape]);
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

/**
 * Where the layer-by-layer decoder (layered-decoder.ts) keeps a model's weights, by their size:
 *
 *   "initializers"  each layer's graph holds its own weights: a second copy inside onnxruntime,
 *                   which the runtime can pre-pack for its matrix products (about 2x faster for
 *                   the bundled models); chosen up to RESIDENT_WEIGHTS_LIMIT_BYTES
 *   "inputs"        one layer graph is fed each layer's weights at every run: memory holds them
 *                   once (a 0.5B model's 2 GB held twice would not fit wasm's 4 GiB)
 *
 * Its own file, without onnxruntime, so the extension host can plan memory with the same rule.
 */

import { sizeOfShape } from "../attention/tensor";
import { heldBytesOf, storageOf, type WeightTensor } from "../model/half-tensor";
import type { DecoderWeights } from "../model/weights";

/** Float32 weights up to this size are held by the layer graphs themselves. */
export const RESIDENT_WEIGHTS_LIMIT_BYTES = 256 * 2 ** 20;

export type WeightPlacement = "initializers" | "inputs";

/** Where the decoder keeps `float32Bytes` of weights. */
export function weightPlacement(float32Bytes: number): WeightPlacement {
  return float32Bytes <= RESIDENT_WEIGHTS_LIMIT_BYTES ? "initializers" : "inputs";
}

/**
 * With weights fed as inputs, the output head runs on slices of this many vocabulary rows of the
 * (V, C) head matrix (views, not copies), so a run never feeds more than one slice at once: a tied
 * 151936 x 896 head would be 545 MB in one piece, 59 MB in slices of 16384.
 */
export const HEAD_SLICE_ROWS = 16384;

/** Every weight tensor of the model, each once (a tied head, the same tensor twice, counted once). */
function distinctWeights(weights: DecoderWeights): WeightTensor[] {
  const seen = new Set<Float32Array | Uint16Array>();
  const distinct: WeightTensor[] = [];
  const add = (tensor: WeightTensor | undefined) => {
    if (!tensor || seen.has(storageOf(tensor))) return;
    seen.add(storageOf(tensor));
    distinct.push(tensor);
  };
  for (const tensor of [weights.embedTokens, weights.positionEmbeddings, weights.finalNorm, weights.finalNormBias, weights.lmHead]) add(tensor);
  for (const layer of weights.layers) {
    for (const tensor of [layer.inputNorm, layer.inputNormBias, layer.postAttentionNorm, layer.postAttentionNormBias, ...Object.values(layer.attention), ...Object.values(layer.mlp)]) add(tensor);
  }
  return distinct;
}

/** The weights' bytes as float32 (4 per value, whatever they are held as): what graphs holding them take. */
export function float32WeightBytes(weights: DecoderWeights): number {
  return distinctWeights(weights).reduce((bytes, tensor) => bytes + 4 * sizeOfShape(tensor.shape), 0);
}

/** The bytes the weights take as held: 2 per value of a float16 matrix, 4 per float32 value. */
export function heldWeightBytes(weights: DecoderWeights): number {
  return distinctWeights(weights).reduce((bytes, tensor) => bytes + heldBytesOf(tensor), 0);
}

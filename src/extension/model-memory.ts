/**
 * Does a run fit the panel? The memory the panel's page plans for one model on T tokens, from
 * config.json alone, added up BEFORE anything loads, against `attentionLens.memoryBudgetMB`:
 *
 *   weights      W = parameters x 4 bytes: the checkpoint's tensors, read as float32 (a tied output
 *                head counted once), held once by the page
 *   runtime      onnxruntime's share (src/runtime/weight-placement.ts): W again when the layer
 *                graphs hold their weights (models up to 256 MiB), else what one run feeds at a
 *                time: the larger of one layer's weights and one slice of the output head
 *                (HEAD_SLICE_ROWS rows), twice (the input's copy and its transposed view)
 *   KV cache     2 x L x nkv x T x hs x 4 bytes (the present keys and values of every layer)
 *   activations  one layer's working set: about 5 attention-sized tensors (scores to weights)
 *                nh x T x T x 4, and 3 MLP-sized ones T x I x 4; or, when larger, the output head's
 *                logits of one vocabulary slice for every position (the next-token losses), twice
 *                (the runtime's output and its copy): 2 x T x min(V, HEAD_SLICE_ROWS) x 4
 *   maps         L x nh x T x T cells, kept at the finest precision that fits (MapPrecision):
 *                4 bytes (float32), 2 (float16), or 1 plus a 4-byte scale per row (uint8); with
 *                coarser maps, the layer on screen exact beside them (exactLayerBytesOf)
 *
 *   model (T = 1024)   W          runtime    maps                     total      (default budget 3 GiB)
 *   SmolLM2-135M       0.50 GiB   72 MiB     1.05 GiB float32         1.86 GiB   fits
 *   Qwen2.5-0.5B       1.84 GiB   0.11 GiB   0.47 GiB 8-bit + exact   2.77 GiB   fits (768 tokens: float32)
 *   Qwen3-0.6B         2.22 GiB   0.13 GiB   0.61 GiB 8-bit + exact   3.52 GiB   refused: about 717 tokens fit
 *
 * Pure: no `vscode` import, no file access.
 */

import type { DecoderConfig } from "../model/config";
import { expectedWeightShapes, parameterCount } from "../model/weights";
import type { MapPrecision } from "../protocol";
import { HEAD_SLICE_ROWS, weightPlacement } from "../runtime/weight-placement";

const MEBIBYTE = 1024 ** 2;
const GIBIBYTE = 1024 ** 3;

/** A run that does not fit the memory budget; the message has the numbers and what to do. */
export class RunMemoryError extends Error {
  override name = "RunMemoryError";
}

/** Map precisions from the finest to the coarsest: the plan takes the first that fits. */
export const MAP_PRECISIONS: readonly MapPrecision[] = ["float32", "float16", "uint8"];

/** The tokens at which Select Model says whether a model fits (a short selection). */
export const LISTING_TOKENS = 128;

/** What a run needs, part by part, and whether it fits the budget. */
export interface RunMemoryPlan {
  tokens: number;
  weightsBytes: number;
  runtimeBytes: number;
  cacheBytes: number;
  activationBytes: number;
  /** The maps at `mapPrecision` (at 8 bits when nothing fits). */
  mapBytes: number;
  budgetBytes: number;
  /** The finest precision that fits the budget; undefined when not even 8 bits per cell fits. */
  mapPrecision: MapPrecision | undefined;
  /** Everything added up, maps at `mapPrecision` (or 8 bits). */
  totalBytes: number;
  fits: boolean;
  /** One sentence with the numbers: what fits, or why not and what to do. */
  reason: string;
}

/** What Select Model shows for a model: the plan at LISTING_TOKENS. */
export interface RunMemoryEstimate {
  /** The weights as float32: parameters x 4 bytes. */
  weightsBytesFloat32: number;
  /** The run's total at LISTING_TOKENS. */
  estimatedBytes: number;
  fits: boolean;
  reason: string;
}

/** Bytes of the maps of `tokens` tokens at `precision`. */
export function mapBytesOf(config: DecoderConfig, tokens: number, precision: MapPrecision): number {
  const rows = config.numHiddenLayers * config.numAttentionHeads * tokens;
  switch (precision) {
    case "float32":
      return rows * tokens * 4;
    case "float16":
      return rows * tokens * 2;
    case "uint8":
      return rows * tokens + rows * 4;
    default: {
      const unknown: never = precision;
      throw new Error(`unknown map precision ${String(unknown)}`);
    }
  }
}

/** The most float32 bytes one run feeds at a time: one layer's weights, or one slice of the output head. */
function largestFedBytes(config: DecoderConfig): number {
  let layer = 0;
  for (const [name, shape] of expectedWeightShapes(config)) {
    if (/\.(h|layers)\.0\./.test(name)) layer += shape.reduce((product, size) => product * size, 1) * 4;
  }
  const headSlice = Math.min(config.vocabSize, HEAD_SLICE_ROWS) * config.hiddenSize * 4;
  return Math.max(layer, headSlice);
}

/**
 * With maps coarser than float32, the layer on screen is kept exact: computed again from the hidden
 * states that entered it, which the run keeps (L x T x C floats), and held as float32 (nh x T x T).
 */
export function exactLayerBytesOf(config: DecoderConfig, tokens: number): number {
  return config.numAttentionHeads * tokens * tokens * 4 + config.numHiddenLayers * tokens * config.hiddenSize * 4;
}

/** The maps at `precision`, and the exact layer beside coarser ones. */
function keptMapBytes(config: DecoderConfig, tokens: number, precision: MapPrecision): number {
  return mapBytesOf(config, tokens, precision) + (precision === "float32" ? 0 : exactLayerBytesOf(config, tokens));
}

/** Everything but the maps (see the top of this file). */
function partsBesideMaps(config: DecoderConfig, tokens: number) {
  const weightsBytes = parameterCount(config) * 4;
  const runtimeBytes = weightPlacement(weightsBytes) === "initializers" ? weightsBytes : 2 * largestFedBytes(config);
  const { numHiddenLayers: layers, numAttentionHeads: heads, numKeyValueHeads: keyValueHeads, headDim, intermediateSize } = config;
  const cacheBytes = 2 * layers * keyValueHeads * tokens * headDim * 4;
  const layerWorkingSet = 5 * heads * tokens * tokens * 4 + 3 * tokens * Math.max(intermediateSize, config.hiddenSize) * 4;
  const headSliceLogits = 2 * tokens * Math.min(config.vocabSize, HEAD_SLICE_ROWS) * 4;
  const activationBytes = Math.max(layerWorkingSet, headSliceLogits);
  return { weightsBytes, runtimeBytes, cacheBytes, activationBytes, fixedBytes: weightsBytes + runtimeBytes + cacheBytes + activationBytes };
}

/** The memory of a run of `config` on `tokens` tokens within `budgetBytes`. */
export function planRunMemory(config: DecoderConfig, tokens: number, budgetBytes: number): RunMemoryPlan {
  const { weightsBytes, runtimeBytes, cacheBytes, activationBytes, fixedBytes } = partsBesideMaps(config, tokens);
  const mapPrecision = MAP_PRECISIONS.find((precision) => fixedBytes + keptMapBytes(config, tokens, precision) <= budgetBytes);
  const mapBytes = keptMapBytes(config, tokens, mapPrecision ?? "uint8");
  const totalBytes = fixedBytes + mapBytes;
  const parts =
    `weights ${formatGibibytes(weightsBytes)}, runtime ${formatGibibytes(runtimeBytes)}, KV cache ${formatGibibytes(cacheBytes)}, ` +
    `activations ${formatGibibytes(activationBytes)}, maps ${formatGibibytes(mapBytes)} (${mapPrecision ?? "uint8"})`;
  const budget = `the budget of ${formatGibibytes(budgetBytes)} (attentionLens.memoryBudgetMB)`;
  let reason: string;
  if (mapPrecision) {
    reason = `Fits: ${tokens} tokens need about ${formatGibibytes(totalBytes)} (${parts}) of ${budget}.`;
  } else {
    const fitting = largestFittingTokens(config, budgetBytes, tokens);
    const advice =
      fitting >= 2
        ? `Select less text (up to about ${fitting} tokens fit), lower attentionLens.maxTokens, or raise attentionLens.memoryBudgetMB if this machine has the memory.`
        : `Not even 2 tokens fit beside the model's weights and the runtime's share: pick a smaller model, or raise attentionLens.memoryBudgetMB if this machine has the memory.`;
    reason = `Too large for the panel: ${tokens} tokens need about ${formatGibibytes(totalBytes)} (${parts}), more than ${budget}. ${advice}`;
  }
  return { tokens, weightsBytes, runtimeBytes, cacheBytes, activationBytes, mapBytes, budgetBytes, mapPrecision, totalBytes, fits: mapPrecision !== undefined, reason };
}

/** The most tokens (below `above`) whose run fits the budget with 8-bit maps; 0 when none does. */
function largestFittingTokens(config: DecoderConfig, budgetBytes: number, above: number): number {
  let low = 0;
  let high = above;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (planFits(config, middle, budgetBytes)) low = middle;
    else high = middle;
  }
  return low;
}

function planFits(config: DecoderConfig, tokens: number, budgetBytes: number): boolean {
  return partsBesideMaps(config, tokens).fixedBytes + keptMapBytes(config, tokens, "uint8") <= budgetBytes;
}

/** Whether a model fits the panel at all: its plan for a short selection (LISTING_TOKENS). */
export function estimateRunMemory(config: DecoderConfig, budgetBytes: number): RunMemoryEstimate {
  const plan = planRunMemory(config, Math.min(LISTING_TOKENS, config.maxPositionEmbeddings), budgetBytes);
  return { weightsBytesFloat32: plan.weightsBytes, estimatedBytes: plan.totalBytes, fits: plan.fits, reason: plan.reason };
}

/** The budget setting (MiB) in bytes. */
export function budgetBytesOf(memoryBudgetMB: number): number {
  return memoryBudgetMB * MEBIBYTE;
}

/** "1.5 GiB"; below 0.1 GiB "12 MiB" or "257 KiB", so a small model does not read as 0.0 GiB. */
export function formatGibibytes(bytes: number): string {
  if (bytes >= 0.1 * GIBIBYTE) return `${(bytes / GIBIBYTE).toFixed(2)} GiB`;
  if (bytes >= MEBIBYTE) return `${Math.round(bytes / MEBIBYTE)} MiB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}

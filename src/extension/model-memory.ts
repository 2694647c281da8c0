/**
 * Does a run fit the panel? The memory the panel's page plans for one model on T tokens, from
 * config.json alone, added up BEFORE anything loads, against `attentionLens.memoryBudgetMB`:
 *
 *   weights      W = the checkpoint's tensors as the page holds them, once (a tied output head
 *                counted once): 4 bytes per parameter, or 2 per value of a bf16/f16 matrix, which
 *                stays 16-bit (src/model/half-tensor.ts; `heldWeightBytes` from the files'
 *                headers, else parameters x 4)
 *   runtime      onnxruntime's share (src/runtime/weight-placement.ts): the float32 weights again
 *                when the layer graphs hold them (models up to 256 MiB as float32), else what one
 *                run feeds at a time: the larger of one layer's weights and one slice of the output
 *                head (HEAD_SLICE_ROWS rows), as the input's copy (4 or 2 bytes a value) plus its
 *                float32 working copy (the transposed view, or the Cast of a float16 input)
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
 * Compare mode (webview/compare/compare-session.svelte.ts) holds model B too. A's plan stays as
 * above (the Attention tab runs A on every request and keeps its maps, whichever tab is on screen),
 * and beside it:
 *
 *   B's weights      B's parameters x 4 bytes; for A converted (`<A>::kv<g>-<method>`,
 *                    src/converted-model.ts) only its grouped key and value projections,
 *                    2 x L x (g x hs x C, + g x hs where it has biases) x 4: it shares every other
 *                    tensor with A
 *   B's runtime      B's own share, by the same rule: B's layer graphs hold (or are fed) B's weights
 *   B's KV cache     2 x L x nkv(B) x T x hs x 4 bytes
 *   activations      the larger of A's and B's, not their sum: the page runs A, then B, one at a
 *                    time (its one run queue)
 *   compare maps     the compare tab's own run of A, B's maps and |A - B|, each L x nh x T x T
 *                    cells at the request's one map precision (no exact layer)
 *
 * The map precision is the finest that fits both models together (planComparisonMemory).
 *
 * Pure: no `vscode` import, no file access.
 */

import type { DecoderConfig } from "../model/config";
import { expectedWeightShapes, parameterCount } from "../model/weights";
import type { MapPrecision, ModelBMemoryFit } from "../protocol";
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
  /** The weights as the page holds them (see the top of this file). */
  weightsBytes: number;
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

/**
 * A model as the plan sees it: its config alone (every weight counted as float32), or with the
 * bytes its weights take once loaded (`heldWeightBytes`: a 16-bit checkpoint's matrices stay 16-bit).
 */
export type PlannedModel = DecoderConfig | { config: DecoderConfig; heldWeightBytes?: number };

function plannedParts(model: PlannedModel): { config: DecoderConfig; heldWeightBytes: number | undefined } {
  return "config" in model ? { config: model.config, heldWeightBytes: model.heldWeightBytes } : { config: model, heldWeightBytes: undefined };
}

/**
 * The most values one run feeds at a time: one layer's weights, or one slice of the output head.
 * Each takes `bytesPerValue` as fed (4, or 2 as float16) plus 4 as the runtime's float32 working copy.
 */
function largestFedBytes(config: DecoderConfig, bytesPerValue: number): number {
  let layer = 0;
  for (const [name, shape] of expectedWeightShapes(config)) {
    if (/\.(h|layers)\.0\./.test(name)) layer += shape.reduce((product, size) => product * size, 1);
  }
  const headSlice = Math.min(config.vocabSize, HEAD_SLICE_ROWS) * config.hiddenSize;
  return Math.max(layer, headSlice) * (bytesPerValue + 4);
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
function partsBesideMaps(model: PlannedModel, tokens: number) {
  const { config, heldWeightBytes } = plannedParts(model);
  const float32Bytes = parameterCount(config) * 4;
  const weightsBytes = heldWeightBytes ?? float32Bytes;
  // Weights held at well under 4 bytes a value are 16-bit matrices, fed as float16.
  const bytesPerFedValue = weightsBytes < 0.75 * float32Bytes ? 2 : 4;
  const runtimeBytes = weightPlacement(float32Bytes) === "initializers" ? float32Bytes : largestFedBytes(config, bytesPerFedValue);
  const { numHiddenLayers: layers, numAttentionHeads: heads, numKeyValueHeads: keyValueHeads, headDim, intermediateSize } = config;
  const cacheBytes = 2 * layers * keyValueHeads * tokens * headDim * 4;
  const layerWorkingSet = 5 * heads * tokens * tokens * 4 + 3 * tokens * Math.max(intermediateSize, config.hiddenSize) * 4;
  const headSliceLogits = 2 * tokens * Math.min(config.vocabSize, HEAD_SLICE_ROWS) * 4;
  const activationBytes = Math.max(layerWorkingSet, headSliceLogits);
  return { weightsBytes, runtimeBytes, cacheBytes, activationBytes, fixedBytes: weightsBytes + runtimeBytes + cacheBytes + activationBytes };
}

/** The memory of a run of `model` on `tokens` tokens within `budgetBytes`. */
export function planRunMemory(model: PlannedModel, tokens: number, budgetBytes: number): RunMemoryPlan {
  const { config } = plannedParts(model);
  const { weightsBytes, runtimeBytes, cacheBytes, activationBytes, fixedBytes } = partsBesideMaps(model, tokens);
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
    const fitting = largestFittingTokens((fewer) => planFits(model, fewer, budgetBytes), tokens);
    const advice =
      fitting >= 2
        ? `Select less text (up to about ${fitting} tokens fit), lower attentionLens.maxTokens, or raise attentionLens.memoryBudgetMB if this machine has the memory.`
        : `Not even 2 tokens fit beside the model's weights and the runtime's share: pick a smaller model, or raise attentionLens.memoryBudgetMB if this machine has the memory.`;
    reason = `Too large for the panel: ${tokens} tokens need about ${formatGibibytes(totalBytes)} (${parts}), more than ${budget}. ${advice}`;
  }
  return { tokens, weightsBytes, runtimeBytes, cacheBytes, activationBytes, mapBytes, budgetBytes, mapPrecision, totalBytes, fits: mapPrecision !== undefined, reason };
}

/** The most tokens (below `above`) at which `fitsAt` holds (a run with 8-bit maps fits); 0 when none does. */
function largestFittingTokens(fitsAt: (tokens: number) => boolean, above: number): number {
  let low = 0;
  let high = above;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (fitsAt(middle)) low = middle;
    else high = middle;
  }
  return low;
}

function planFits(model: PlannedModel, tokens: number, budgetBytes: number): boolean {
  return partsBesideMaps(model, tokens).fixedBytes + keptMapBytes(plannedParts(model).config, tokens, "uint8") <= budgetBytes;
}

// -------------------------------------------------------------------------------------------
// Compare mode: model A and model B together

/** Model B of a comparison, as its plan needs it. */
export interface ComparedModelB {
  config: DecoderConfig;
  /** The bytes B's weights take once loaded, as `PlannedModel` has it (for a converted B: A's, whose storage it shares). */
  heldWeightBytes?: number;
  /**
   * B is model A with its key/value heads grouped (`<A>::kv<g>-<method>`, src/converted-model.ts):
   * `config` is A's with nkv = g, and B shares every tensor with A but the key/value projections.
   */
  convertedFromA: boolean;
}

/** One model's parts in a comparison's plan. */
export type RunMemoryParts = Pick<RunMemoryPlan, "weightsBytes" | "runtimeBytes" | "cacheBytes" | "activationBytes" | "mapBytes">;

/** What a comparison needs, model by model, and whether A and B fit the budget together. */
export interface ComparisonMemoryPlan {
  tokens: number;
  /** A's run as planRunMemory counts it: its maps the Attention tab's (the exact layer beside coarser ones). */
  a: RunMemoryParts;
  /**
   * B's parts: its weights (a converted B: its key/value projections alone), runtime, KV cache and
   * activations; its maps the compare tab's: A's again, B's and |A - B|.
   */
  b: RunMemoryParts;
  /** The activations counted: the larger of A's and B's, which run one after the other. */
  activationBytes: number;
  budgetBytes: number;
  /** The finest precision at which both fit; undefined when none does (with `fixedPrecision`: when it does not). */
  mapPrecision: MapPrecision | undefined;
  /** Everything added up, activations once, maps at `mapPrecision` (else the coarsest tried). */
  totalBytes: number;
  fits: boolean;
  /** One sentence with both models' parts and the budget: what fits, or why not and what to do. */
  reason: string;
}

/**
 * Float32 bytes of the key and value projections with their biases, 2 x L x (nkv x hs x C + nkv x hs)
 * x 4: all that a converted model holds of its own (src/model/key-value-conversion.ts).
 */
export function keyValueProjectionBytes(config: DecoderConfig): number {
  const rows = config.numKeyValueHeads * config.headDim; // k_proj and v_proj are (nkv x hs, C) each
  const biasRows = config.queryKeyValueBias ? rows : 0;
  return 2 * config.numHiddenLayers * (rows * config.hiddenSize + biasRows) * 4;
}

/** The compare tab's maps at `precision`: its own run of A, B's maps, and |A - B| (A's shape). */
export function compareMapBytesOf(configA: DecoderConfig, configB: DecoderConfig, tokens: number, precision: MapPrecision): number {
  return 2 * mapBytesOf(configA, tokens, precision) + mapBytesOf(configB, tokens, precision);
}

/** Both models' parts beside the maps, B's weights and the activations as a comparison counts them. */
function comparisonPartsBesideMaps(modelA: PlannedModel, modelB: ComparedModelB, tokens: number) {
  const { fixedBytes: _fixedA, ...a } = partsBesideMaps(modelA, tokens);
  const { fixedBytes: _fixedB, ...b } = partsBesideMaps(modelB, tokens);
  // A converted B reads A's tensors and groups only the key/value projections: those are its new memory.
  // Its runtime share is its own all the same: B's layer graphs hold (or are fed) B's weights.
  const weightsB = modelB.convertedFromA ? keyValueProjectionBytes(modelB.config) : b.weightsBytes;
  // The page runs A, then B, one at a time (its one run queue): one working set at a time.
  const activationBytes = Math.max(a.activationBytes, b.activationBytes);
  const fixedBytes = a.weightsBytes + a.runtimeBytes + a.cacheBytes + weightsB + b.runtimeBytes + b.cacheBytes + activationBytes;
  return { a, b: { ...b, weightsBytes: weightsB }, activationBytes, fixedBytes };
}

/** Every map of a comparison at `precision`: the Attention tab's of A (and its exact layer), and the compare tab's. */
function comparisonMapBytes(configA: DecoderConfig, configB: DecoderConfig, tokens: number, precision: MapPrecision): number {
  return keptMapBytes(configA, tokens, precision) + compareMapBytesOf(configA, configB, tokens, precision);
}

/**
 * The memory of comparing model A (`configA`) with model B on `tokens` tokens within `budgetBytes`:
 * A's plan and B's parts beside it (see the top of this file), at the finest map precision that fits
 * both. `fixedPrecision`: the maps are kept at this precision already (the request's, when the
 * person picks B in the panel), so only it is tried.
 */
export function planComparisonMemory(
  modelA: PlannedModel,
  modelB: ComparedModelB,
  tokens: number,
  budgetBytes: number,
  fixedPrecision?: MapPrecision,
): ComparisonMemoryPlan {
  const configA = plannedParts(modelA).config;
  const { a, b, activationBytes, fixedBytes } = comparisonPartsBesideMaps(modelA, modelB, tokens);
  const fitsAt = (precision: MapPrecision) => fixedBytes + comparisonMapBytes(configA, modelB.config, tokens, precision) <= budgetBytes;
  const tried = fixedPrecision ? [fixedPrecision] : MAP_PRECISIONS;
  const mapPrecision = tried.find(fitsAt);
  const shownPrecision = mapPrecision ?? tried[tried.length - 1];
  const partsA: RunMemoryParts = { ...a, mapBytes: keptMapBytes(configA, tokens, shownPrecision) };
  const partsB: RunMemoryParts = { ...b, mapBytes: compareMapBytesOf(configA, modelB.config, tokens, shownPrecision) };
  const totalBytes = fixedBytes + partsA.mapBytes + partsB.mapBytes;
  const parts =
    `A: weights ${formatGibibytes(partsA.weightsBytes)}, runtime ${formatGibibytes(partsA.runtimeBytes)}, KV cache ${formatGibibytes(partsA.cacheBytes)}, ` +
    `activations ${formatGibibytes(partsA.activationBytes)}, maps ${formatGibibytes(partsA.mapBytes)} (${shownPrecision}); ` +
    `B: weights ${formatGibibytes(partsB.weightsBytes)}${modelB.convertedFromA ? " (its key/value projections; the rest is A's)" : ""}, ` +
    `runtime ${formatGibibytes(partsB.runtimeBytes)}, KV cache ${formatGibibytes(partsB.cacheBytes)}, ` +
    `activations ${formatGibibytes(partsB.activationBytes)} (B runs after A: only the larger counts), ` +
    `maps ${formatGibibytes(partsB.mapBytes)} (A's again, B's and |A - B|)`;
  const budget = `the budget of ${formatGibibytes(budgetBytes)} (attentionLens.memoryBudgetMB)`;
  let reason: string;
  if (mapPrecision) {
    reason = `Fits with model B: ${tokens} tokens through both models need about ${formatGibibytes(totalBytes)} (${parts}) of ${budget}.`;
  } else {
    const coarser = fixedPrecision ? MAP_PRECISIONS.find(fitsAt) : undefined;
    const fitting = largestFittingTokens((fewer) => comparisonFits(modelA, modelB, fewer, budgetBytes), tokens);
    let advice: string;
    if (coarser) {
      advice = `With every map at ${coarser} the pair fits: run "Compare Models" (or "Convert to GQA..." for a conversion of A) with this model B, which plans the maps for both models.`;
    } else if (fitting >= 2) {
      advice = `Select less text (up to about ${fitting} tokens fit for both), lower attentionLens.maxTokens, pick a smaller model B, or raise attentionLens.memoryBudgetMB if this machine has the memory.`;
    } else {
      advice = `Not even 2 tokens fit beside both models' weights and the runtime's shares: pick a smaller model B, or raise attentionLens.memoryBudgetMB if this machine has the memory.`;
    }
    reason = `Too large for the panel with model B: ${tokens} tokens through both models need about ${formatGibibytes(totalBytes)} (${parts}), more than ${budget}. ${advice}`;
  }
  return { tokens, a: partsA, b: partsB, activationBytes, budgetBytes, mapPrecision, totalBytes, fits: mapPrecision !== undefined, reason };
}

/**
 * For each model B the panel offers beside A (showAttention's `modelBMemory`): whether the pair fits
 * at `tokens` with the maps at `mapPrecision`, the request's, which a B picked in the panel keeps.
 */
export function modelBMemoryFits(
  modelA: PlannedModel,
  candidates: readonly { modelId: string; model: ComparedModelB }[],
  tokens: number,
  budgetBytes: number,
  mapPrecision: MapPrecision,
): ModelBMemoryFit[] {
  return candidates.map(({ modelId, model }) => {
    const plan = planComparisonMemory(modelA, model, tokens, budgetBytes, mapPrecision);
    return { modelId, fits: plan.fits, reason: plan.reason };
  });
}

function comparisonFits(modelA: PlannedModel, modelB: ComparedModelB, tokens: number, budgetBytes: number): boolean {
  return comparisonPartsBesideMaps(modelA, modelB, tokens).fixedBytes + comparisonMapBytes(plannedParts(modelA).config, modelB.config, tokens, "uint8") <= budgetBytes;
}

/** Whether a model fits the panel at all: its plan for a short selection (LISTING_TOKENS). */
export function estimateRunMemory(model: PlannedModel, budgetBytes: number): RunMemoryEstimate {
  const { config } = plannedParts(model);
  const plan = planRunMemory(model, Math.min(LISTING_TOKENS, config.maxPositionEmbeddings), budgetBytes);
  return { weightsBytes: plan.weightsBytes, estimatedBytes: plan.totalBytes, fits: plan.fits, reason: plan.reason };
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

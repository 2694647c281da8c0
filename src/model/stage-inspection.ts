/**
 * The attention stages of the real model, for one layer, head and query token.
 *
 * `DecoderModel.forward(ids, { trace: true })` keeps every stage of every layer: the raw scores Q K^T,
 * the scaled scores, the mask, the masked scores, the softmax weights, the weights after dropout and
 * the context vectors. `inspectStages` picks a layer out of such a trace and gives:
 *
 *   - the layer's stages, re-run with dropout when a rate is given (training only; a trace at
 *     inference has none), so every number shown is the library's own;
 *   - the selected query's row of every stage (`traceQuery`);
 *   - the sqrt(hs) demonstration for the selected head on the model's real Q and K.
 *
 * Shape legend: B batch, nh query heads, nkv key/value heads, T queries, S keys, hs head size.
 */

import { checkDropoutRate } from "../attention/dropout";
import type { AttentionStages, DropoutSettings } from "../attention/scaled-dot-product-attention";
import { scalingDemonstration, type ScalingDemonstration } from "../attention/scaling-demonstration";
import { retraceWithDropout, traceQuery, type QueryTrace } from "../attention/stage-trace";
import type { DecoderConfig } from "./config";
import type { DecoderModel } from "./decoder-model";
import type { TokenMask } from "../attention/left-padding";
import { ModelInputError } from "./model-input";

export interface StageRequest {
  layer: number;
  head: number;
  query: number;
  /** Sequence in a batch (default 0). */
  batch?: number;
  /** Dropout to show, as in training; absent or rate 0: none (inference). */
  dropout?: DropoutSettings;
}

export interface StageInspection {
  layer: number;
  head: number;
  query: number;
  batch: number;
  /** The key/value head the query head reads: floor(head / (nh / nkv)). */
  keyValueHead: number;
  /** The dropout applied, or undefined at inference. */
  dropout: DropoutSettings | undefined;
  /** The layer's stages (with dropout when asked for): (B, nh, T, S) each. */
  stages: AttentionStages;
  /** The selected query's row of every stage. */
  trace: QueryTrace;
  /** Spread and softmax entropy with and without 1 / sqrt(hs), for the selected head. */
  scaling: ScalingDemonstration;
}

/** Runs the model with every stage traced: one AttentionStages per layer. */
export function traceModelStages(
  model: DecoderModel,
  inputIds: readonly (readonly number[])[],
  attentionMask?: TokenMask,
): AttentionStages[] {
  const result = model.forward(inputIds, { trace: true, attentionMask });
  return result.stages!;
}

/** Checks a dropout setting from a person: rate in [0, 1), seed an integer. */
export function checkDropoutSettings(dropout: DropoutSettings): void {
  checkDropoutRate(dropout.rate);
  if (!Number.isSafeInteger(dropout.seed) || dropout.seed < 0) {
    throw new RangeError(`dropout seed must be a whole number from 0 up, got ${dropout.seed}`);
  }
}

/** One layer, head and query of a model trace, with dropout if asked for. */
export function inspectStages(
  config: DecoderConfig,
  layerStages: readonly AttentionStages[],
  request: StageRequest,
): StageInspection {
  const { layer, head, query } = request;
  const batch = request.batch ?? 0;
  if (!Number.isInteger(layer) || layer < 0 || layer >= layerStages.length) {
    throw new ModelInputError(`layer ${layer} does not exist; the model has ${layerStages.length} (0 to ${layerStages.length - 1})`);
  }
  if (!Number.isInteger(head) || head < 0 || head >= config.numAttentionHeads) {
    throw new ModelInputError(`head ${head} does not exist; the model has ${config.numAttentionHeads} query heads (0 to ${config.numAttentionHeads - 1})`);
  }
  const dropout = request.dropout && request.dropout.rate !== 0 ? request.dropout : undefined;
  if (request.dropout) checkDropoutSettings(request.dropout);
  const traced = layerStages[layer];
  const stages = dropout ? retraceWithDropout(traced, dropout) : traced;
  const selection = { batch, head, query };
  return {
    layer,
    head,
    query,
    batch,
    keyValueHead: Math.floor(head / (config.numAttentionHeads / config.numKeyValueHeads)),
    dropout,
    stages,
    trace: traceQuery(stages, selection),
    scaling: scalingDemonstration(traced, selection),
  };
}

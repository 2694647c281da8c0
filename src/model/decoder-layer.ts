/**
 * One Llama decoder layer: attention then MLP, each on a normalised copy of the residual stream and
 * added back to it ("pre-norm" residual blocks):
 *
 *   h = x + attention(rmsNorm(x))
 *   y = h + mlp(rmsNorm(h))
 *
 * Shape legend: B batch, T new tokens, S = past + T keys, C model width, nh heads, nkv K/V heads.
 */

import { GroupedQueryAttention } from "../attention/grouped-query-attention";
import type { LayerKeyValueCache } from "../attention/kv-cache";
import type { TokenMask } from "../attention/left-padding";
import type { RotaryEmbedding } from "../attention/rotary-embedding";
import type { AttentionResult } from "../attention/self-attention";
import { add } from "../attention/tensor-operations";
import type { Tensor } from "../attention/tensor";
import type { DecoderConfig } from "./config";
import { rmsNorm } from "./rms-norm";
import { swigluMlp } from "./swiglu-mlp";
import type { DecoderLayerWeights } from "./weights";

export interface DecoderLayerCall {
  /** RoPE positions of the new tokens, (B, T). */
  positions: readonly (readonly number[])[];
  /** Real (1) / pad (0) for every key slot, (B, S). */
  keyMask: TokenMask;
  cache?: LayerKeyValueCache;
  trace?: boolean;
}

export interface DecoderLayerResult {
  /** The residual stream after this layer: (B, T, C). */
  hidden: Tensor;
  attention: AttentionResult;
}

export class DecoderLayer {
  /** GroupedQueryAttention covers all three: nkv = nh is MHA, nkv = 1 is MQA. */
  readonly attention: GroupedQueryAttention;

  constructor(
    readonly config: DecoderConfig,
    readonly weights: DecoderLayerWeights,
    rotary: RotaryEmbedding,
  ) {
    this.attention = new GroupedQueryAttention(weights.attention, {
      numHeads: config.numAttentionHeads,
      numKeyValueHeads: config.numKeyValueHeads,
      rotary,
    });
  }

  forward(x: Tensor, call: DecoderLayerCall): DecoderLayerResult {
    const normalized = rmsNorm(x, this.weights.inputNorm, this.config.normEpsilon); // (B, T, C)
    const attention = this.attention.forward(normalized, {
      causal: true,
      positions: call.positions,
      keyMask: call.keyMask,
      cache: call.cache,
      trace: call.trace,
    });
    const afterAttention = add(x, attention.output); // (B, T, C)
    const mlpInput = rmsNorm(afterAttention, this.weights.postAttentionNorm, this.config.normEpsilon); // (B, T, C)
    const hidden = add(afterAttention, swigluMlp(mlpInput, this.weights.mlp)); // (B, T, C)
    return { hidden, attention };
  }
}

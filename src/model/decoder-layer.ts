/**
 * One decoder layer: attention then MLP, each on a normalised copy of the residual stream and added
 * back to it ("pre-norm" residual blocks), the same in every family:
 *
 *   h = x + attention(norm_1(x))
 *   y = h + mlp(norm_2(h))
 *
 * What differs by family is inside the three parts, all read from the config:
 *
 *   norm        RMSNorm, or LayerNorm with a bias (GPT-2)                      normalization.ts
 *   attention   q/k/v and o biases (in the weights), Qwen3's q/k norm before RoPE (in the weights),
 *               RoPE or none (GPT-2), a sliding window on this layer or none  src/attention
 *   mlp         SwiGLU, or a plain GELU MLP (GPT-2)                             mlp.ts
 *
 * Shape legend: B batch, T new tokens, S = past + T keys, C model width, nh heads, nkv K/V heads.
 */

import { GroupedQueryAttention } from "../attention/grouped-query-attention";
import type { LayerKeyValueCache } from "../attention/kv-cache";
import type { TokenMask } from "../attention/left-padding";
import type { RotaryEmbedding } from "../attention/rotary-embedding";
import type { AttentionResult } from "../attention/self-attention";
import { SlidingWindowAttention } from "../attention/sliding-window-attention";
import { add } from "../attention/tensor-operations";
import type { Tensor } from "../attention/tensor";
import type { DecoderConfig } from "./config";
import { mlp } from "./mlp";
import { normalize } from "./normalization";
import { float32LayerWeights, WeightsError, type DecoderLayerWeights, type Float32LayerWeights } from "./weights";

export interface DecoderLayerCall {
  /** Positions of the new tokens, (B, T), for RoPE. */
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
  /**
   * GroupedQueryAttention covers all three head layouts: nkv = nh is MHA (GPT-2), nkv = 1 is MQA.
   * A layer with a sliding window gets SlidingWindowAttention, the same with a band mask.
   */
  readonly attention: GroupedQueryAttention;
  /** How many of the most recent key slots a query of this layer sees, or null for all earlier ones. */
  readonly window: number | null;

  /** The layer's weights as float32 (float16 matrices decoded: a copy while this layer lives). */
  readonly weights: Float32LayerWeights;

  /** `rotary` is undefined when the model has learned positions (GPT-2) instead of RoPE. */
  constructor(
    readonly config: DecoderConfig,
    layerWeights: DecoderLayerWeights,
    readonly index: number,
    rotary: RotaryEmbedding | undefined,
  ) {
    checkLayerWeights(config, layerWeights, index);
    const weights = (this.weights = float32LayerWeights(layerWeights));
    this.window = config.slidingWindows[index] ?? null;
    const settings = {
      numHeads: config.numAttentionHeads,
      numKeyValueHeads: config.numKeyValueHeads,
      rotary,
      queryKeyNormEpsilon: config.normEpsilon,
    };
    this.attention =
      this.window === null
        ? new GroupedQueryAttention(weights.attention, settings)
        : new SlidingWindowAttention(weights.attention, { ...settings, window: this.window });
  }

  forward(x: Tensor, call: DecoderLayerCall): DecoderLayerResult {
    const { inputNorm, inputNormBias, postAttentionNorm, postAttentionNormBias } = this.weights;
    const normalized = normalize(this.config, x, inputNorm, inputNormBias, `layer ${this.index} input norm`); // (B, T, C)
    const attention = this.attention.forward(normalized, {
      causal: true,
      positions: call.positions,
      keyMask: call.keyMask,
      cache: call.cache,
      trace: call.trace,
    });
    const afterAttention = add(x, attention.output); // (B, T, C)
    const mlpInput = normalize(this.config, afterAttention, postAttentionNorm, postAttentionNormBias, `layer ${this.index} post-attention norm`); // (B, T, C)
    const hidden = add(afterAttention, mlp(this.config, mlpInput, this.weights.mlp)); // (B, T, C)
    return { hidden, attention };
  }
}

/**
 * The weights a layer has must be the ones the config asks for: a bias or a q/k norm the config
 * does not expect (or lacks) would otherwise be used (or skipped) without a word.
 */
export function checkLayerWeights(config: DecoderConfig, weights: DecoderLayerWeights, index: number): void {
  const { attention, mlp: mlpWeights } = weights;
  const expectations: [boolean, boolean, string][] = [
    [config.queryKeyValueBias, Boolean(attention.queryBias && attention.keyBias && attention.valueBias), "q/k/v biases"],
    [config.outputBias, Boolean(attention.outputBias), "an output projection bias"],
    [config.queryKeyNorm, Boolean(attention.queryNorm && attention.keyNorm), "query/key norms (q_norm, k_norm)"],
    [config.gatedMlp, Boolean(mlpWeights.gate), "an MLP gate (gate_proj)"],
  ];
  for (const [expected, present, what] of expectations) {
    if (expected !== present) {
      throw new WeightsError(
        `layer ${index}: the config (${config.family}) ${expected ? "needs" : "has no"} ${what} but the weights ${present ? "hold them" : "lack them"}; ` +
          "build the weights from this config (decoderWeightsFromTensors) or fix config.json",
      );
    }
  }
}

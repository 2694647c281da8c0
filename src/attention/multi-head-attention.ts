/**
 * Multi-head attention: nh heads, each with its own queries, keys and values of size hs, run side by
 * side on the same tokens, then mixed back to the model width by an output projection W_o.
 *
 *   head_i = softmax(q_i k_i^T / sqrt(hs) + mask) v_i          (B, T, hs) each
 *   output = concat(head_1, ..., head_nh) W_o^T + b_o           (B, T, nh * hs) -> (B, T, C)
 *
 * Each head can learn a different pattern (previous token, same identifier, start of line...).
 * Over SelfAttention this class adds two things: nh heads, and the output projection.
 */

import { linear } from "./tensor-operations";
import {
  type AttentionSettings,
  type HeadLayout,
  SelfAttention,
  type SelfAttentionWeights,
} from "./self-attention";
import { assertShape, ShapeError, Tensor } from "./tensor";

export interface MultiHeadAttentionWeights extends SelfAttentionWeights {
  /** W_o: (C, nh * hs). */
  output: Tensor;
  /** b_o: (C); none by default (Hugging Face's o_proj.bias, GPT-2's attn.c_proj.bias). */
  outputBias?: Tensor;
}

export interface MultiHeadAttentionSettings extends AttentionSettings {
  /** nh: number of query heads; must divide the rows of W_q. */
  numHeads: number;
}

export class MultiHeadAttention extends SelfAttention {
  declare readonly weights: MultiHeadAttentionWeights;

  constructor(weights: MultiHeadAttentionWeights, settings: MultiHeadAttentionSettings) {
    super(weights, settings);
  }

  protected override describeHeads(weights: SelfAttentionWeights, settings: AttentionSettings): HeadLayout {
    const { numHeads } = settings as MultiHeadAttentionSettings;
    assertShape(weights.query, [null, null], `${this.name} weights.query`, ["nh * hs", "C"]);
    const [projectedDim, modelDim] = weights.query.shape;
    if (!Number.isInteger(numHeads) || numHeads < 1) {
      throw new ShapeError(`${this.name}: numHeads must be a positive integer, got ${numHeads}`);
    }
    if (projectedDim % numHeads !== 0) {
      throw new ShapeError(`${this.name}: W_q has ${projectedDim} rows, which do not split into ${numHeads} heads`);
    }
    return { modelDim, numHeads, numKeyValueHeads: numHeads, headDim: projectedDim / numHeads };
  }

  protected override checkWeights(): void {
    super.checkWeights();
    const { modelDim, numHeads, headDim } = this.layout;
    assertShape(this.weights.output, [modelDim, numHeads * headDim], `${this.name} weights.output`);
    if (this.weights.outputBias) assertShape(this.weights.outputBias, [modelDim], `${this.name} weights.outputBias`, ["C"]);
  }

  /** Mixes the concatenated heads: (B, T, nh * hs) -> (B, T, C). */
  protected override projectOutput(merged: Tensor): Tensor {
    return linear(merged, this.weights.output, this.weights.outputBias); // (B, T, nh * hs) x (nh * hs, C) + (C) -> (B, T, C)
  }
}

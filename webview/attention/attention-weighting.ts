/**
 * The Attention tab's weightings: what the overview, the head view and the token view draw.
 *
 *   attention        a^h_ij, the softmax weights the model computed (the maps as kept)
 *   value-weighted   a^h_ij · ‖W_O^h v^{kv(h)}_j‖ per head (src/attention/value-weighted-attention.ts):
 *                    how long a vector key j adds to query i's output through head h. Not a
 *                    probability, so the colours show each row's SHARES: every value divided by its
 *                    row's sum (0..1, rows summing to 1 like attention rows); the raw lengths are in
 *                    the read-out. The "mean" of a layer: the mean over its heads of the raw values,
 *                    then shares.
 *   rollout          Â_l · Â_{l-1} ⋯ Â_0, Â = 0.5 · mean_h(A) + 0.5 · I, rows renormalised
 *                    (src/attention/attention-rollout.ts): one map per LAYER, not per head, the
 *                    same whichever head is selected.
 *
 * Everything comes from what the run keeps, without running the model again: the maps (at the
 * precision the memory budget allowed), the present values of every layer (nkv, T, hs), which the
 * run hands over layer by layer (half of the KV cache the memory plan already counts), and o_proj's
 * weight of each layer, which the page holds anyway. The value norms (nh, T) of a layer are
 * computed the first time a view asks for them; the rollout once, for every layer, kept at the
 * maps' precision (one (T, T) map per layer: 1 / nh of the maps' memory).
 *
 * Thumbnails: the overview draws L x (nh + 1) of them. For value-weighted maps the (T, T) map of a
 * head is computed, masked and max-pooled to the thumbnail's size at once, and only the pooled map
 * (at most maxCells² numbers) is kept, so the overview does not hold a second full set of maps.
 *
 * Shape legend: L layers, nh query heads, nkv key/value heads, T tokens, hs head size, C model width.
 */

import { AttentionRollout } from "../../src/attention/attention-rollout";
import { Tensor } from "../../src/attention/tensor";
import { outputProjectionGram, valueVectorNorms } from "../../src/attention/value-weighted-attention";
import type { AttentionWeighting, HeadSelection } from "../../src/protocol";
import { maxPoolDownsample, type PooledMap } from "../heatmap/downsample";
import { maskFutureKeys } from "../heatmap/render";
import { headMap, layerMaps, storeLayer, type AttentionMaps, type StoredLayer } from "./attention-maps";
import { float32Of, type WeightTensor } from "../../src/model/half-tensor";

export const ATTENTION_WEIGHTINGS: readonly AttentionWeighting[] = ["attention", "value-weighted", "rollout"];

/** `value` when it is a weighting (a saved panel state is not trusted), else undefined. */
export function parseAttentionWeighting(value: unknown): AttentionWeighting | undefined {
  return ATTENTION_WEIGHTINGS.find((weighting) => weighting === value);
}

/** What value-weighted attention needs of a run: its values and the model's o_proj, per layer. */
export interface ValueSource {
  /** Per layer, the present values (nkv, T, hs) row-major, after v_proj's bias. */
  values: readonly Float32Array[];
  /** Per layer, o_proj's weight (C, nh · hs) (the page's own tensors, not copies; float16 ones decoded per layer when used). */
  outputWeights: readonly WeightTensor[];
  keyValueHeads: number;
  headDim: number;
}

/** Each row of a (T, T) map divided by its sum (a row summing to 0 stays 0): the shares of the row. */
export function rowShares(map: Float32Array, tokens: number): Float32Array {
  const shares = new Float32Array(map.length);
  for (let row = 0; row < tokens; row++) {
    let sum = 0;
    for (let key = 0; key < tokens; key++) sum += map[row * tokens + key];
    if (sum > 0) for (let key = 0; key < tokens; key++) shares[row * tokens + key] = map[row * tokens + key] / sum;
  }
  return shares;
}

/** "Layer 2 · head 5", "Layer 2 · mean of 8 heads", with the weighting's name; rollout names its layers. */
export function weightingTitle(weighting: AttentionWeighting, selection: HeadSelection, heads: number): string {
  const head = selection.head === "mean" ? `mean of ${heads} heads` : `head ${selection.head}`;
  switch (weighting) {
    case "attention":
      return `Layer ${selection.layer} · ${head}`;
    case "value-weighted":
      return `Layer ${selection.layer} · ${head} · value-weighted ‖a·vW_O‖`;
    case "rollout":
      return `Rollout through ${rolloutLayers(selection.layer)} · all heads averaged`;
    default: {
      const unknown: never = weighting;
      throw new Error(`unknown weighting ${String(unknown)}`);
    }
  }
}

/** "layer 0", "layers 0..2". */
export function rolloutLayers(layer: number): string {
  return layer === 0 ? "layer 0" : `layers 0..${layer}`;
}

/** What each weighting is, for its button's tooltip and the line under the control. */
export const WEIGHTING_DESCRIPTIONS: Record<AttentionWeighting, string> = {
  attention: "the attention weights a (softmax of q·k / √hs), per head: how much each query looks at each key",
  "value-weighted":
    "a · ‖v W_O‖ per head (Kobayashi et al. 2020): the weight times the length of the vector the key adds to the output through that head. " +
    "A key with a big weight and a short value vector (a sink such as <|bos|>) fades. Not a probability: the colours show each row's shares of its sum; the read-out gives the raw length",
  rollout:
    "the head-averaged maps, each mixed half and half with the identity (the residual connection), multiplied through layers 0..l (Abnar and Zuidema 2020): " +
    "how much of each input token reaches each position by layer l. One map per layer, not per head",
};

/**
 * The weightings of one run: value norms, value-weighted maps, rollout, thumbnails, each computed
 * when first asked for and kept for the run. Methods take the run's current maps (a coarse run's
 * maps change when a layer is computed again exactly; see attention-state.svelte.ts).
 */
export class RunWeightings {
  private readonly norms = new Map<number, Float32Array>();
  private rolloutMaps: AttentionMaps | undefined;
  private readonly thumbnails = new WeakMap<AttentionMaps, Map<string, PooledMap>>();
  private lastShown: { maps: AttentionMaps; key: string; map: Float32Array } | undefined;

  constructor(private readonly values: ValueSource | undefined) {}

  /** Whether the run kept what value-weighted attention needs. */
  get hasValues(): boolean {
    return this.values !== undefined && this.values.values.length > 0;
  }

  /** ‖W_O^h v^{kv(h)}_j‖ of layer `layer`, (nh, T); computed once per layer. */
  valueNorms(maps: AttentionMaps, layer: number): Float32Array {
    const cached = this.norms.get(layer);
    if (cached) return cached;
    const source = this.values;
    if (!source || !source.values[layer] || !source.outputWeights[layer]) {
      throw new Error(`value-weighted attention: the run kept no values for layer ${layer}; run Attention Lens again`);
    }
    const values = new Tensor(source.values[layer], [source.keyValueHeads, maps.tokens, source.headDim]); // (nkv, T, hs)
    const weight = float32Of(source.outputWeights[layer]); // (C, nh·hs)
    const norms = valueVectorNorms(values, weight, maps.heads, outputProjectionGram(weight, maps.heads)).data; // (nh, T)
    this.norms.set(layer, norms);
    return norms;
  }

  /**
   * The raw value-weighted map (T, T) of a head, a^h_ij · ‖W_O^h v_j‖, or for "mean" the mean over
   * the layer's heads of those. A new array.
   */
  valueWeighted(maps: AttentionMaps, selection: HeadSelection): Float32Array {
    const { tokens } = maps;
    const norms = this.valueNorms(maps, selection.layer);
    const heads = selection.head === "mean" ? Array.from({ length: maps.heads }, (_, head) => head) : [selection.head];
    const result = new Float32Array(tokens * tokens);
    for (const head of heads) {
      const weights = headMap(maps, selection.layer, head); // (T, T)
      const headNorms = norms.subarray(head * tokens, (head + 1) * tokens); // (T)
      for (let query = 0; query < tokens; query++) {
        for (let key = 0; key <= query; key++) result[query * tokens + key] += (weights[query * tokens + key] * headNorms[key]) / heads.length;
      }
    }
    return result;
  }

  /** rollout_l for every layer, as maps of one "head" each (L, 1, T, T) at the maps' precision; computed once. */
  rollout(maps: AttentionMaps): AttentionMaps {
    if (this.rolloutMaps) return this.rolloutMaps;
    const chain = new AttentionRollout();
    const stored: StoredLayer[] = [];
    for (let layer = 0; layer < maps.layers; layer++) {
      const weights = new Tensor(layerMaps(maps, layer), [maps.heads, maps.tokens, maps.tokens]); // (nh, T, T)
      stored.push(storeLayer(chain.add(weights).data, maps.tokens, maps.precision)); // rollout_l (T, T)
    }
    this.rolloutMaps = { layers: maps.layers, heads: 1, keyValueHeads: 1, tokens: maps.tokens, precision: maps.precision, stored };
    return this.rolloutMaps;
  }

  /**
   * The (T, T) map a view draws for `selection` in `weighting`: the attention weights (head, or the
   * layer's mean), the value-weighted map as row shares, or the rollout through the selected layer
   * (whatever head is selected). The last one is kept: the head view and the token view share it.
   */
  shownMap(maps: AttentionMaps, weighting: Exclude<AttentionWeighting, "attention">, selection: HeadSelection): Float32Array {
    const key = `${weighting}|${selection.layer}|${selection.head}`;
    if (this.lastShown?.maps === maps && this.lastShown.key === key) return this.lastShown.map;
    const map = weighting === "rollout" ? headMap(this.rollout(maps), selection.layer, 0) : rowShares(this.valueWeighted(maps, selection), maps.tokens);
    this.lastShown = { maps, key, map };
    return map;
  }

  /**
   * A thumbnail of the overview: the shown map of (layer, head), its future keys masked (NaN) and
   * max-pooled to at most `maxCells` a side, as HeatmapCanvas would draw the whole map. Kept.
   */
  thumbnail(maps: AttentionMaps, weighting: Exclude<AttentionWeighting, "attention">, selection: HeadSelection, maxCells: number): PooledMap {
    let byKey = this.thumbnails.get(maps);
    if (!byKey) this.thumbnails.set(maps, (byKey = new Map()));
    const key = `${weighting}|${selection.layer}|${weighting === "rollout" ? "all" : selection.head}|${maxCells}`;
    let pooled = byKey.get(key);
    if (!pooled) {
      const map = weighting === "rollout" ? headMap(this.rollout(maps), selection.layer, 0) : rowShares(this.valueWeighted(maps, selection), maps.tokens);
      pooled = maxPoolDownsample(maskFutureKeys(map, maps.tokens, maps.tokens), maps.tokens, maps.tokens, maxCells);
      byKey.set(key, pooled);
    }
    return pooled;
  }
}

/**
 * Converting a model's key/value heads into fewer groups: multi-head attention into grouped-query
 * (or multi-query) attention without any training, as Ainslie et al. (2023, "GQA: Training
 * Generalized Multi-Query Transformer Models from Multi-Head Checkpoints", section 2.1) start their
 * uptraining.
 *
 *   nkv   key/value heads of the model (nh for MHA)
 *   g     key/value groups after conversion (a divisor of nkv)
 *   s     heads pooled into one: nkv / g
 *   hs    features per head
 *   C     model width
 *
 * Group k holds the s consecutive key heads k*s .. k*s + s - 1; its one key head is
 *
 *   "mean"   their mean (the paper's method)      key'[k] = (key[k*s] + ... + key[k*s + s - 1]) / s
 *   "first"  the first of them (its ablation)     key'[k] = key[k*s]
 *
 * and values the same way, biases with their rows. Nothing else changes: query head h keeps its
 * index and now reads group floor(h / (nh / g)), the group that holds the key head it read before
 * (h reads key head floor(h / (nh / nkv)), and nkv / g of those make one group). So head h of the
 * converted model is comparable to head h of the original, and |A - B| per head means something.
 *
 *   key projection (nkv * hs, C) -> (g, s, hs, C) -> pool over s -> (g * hs, C)
 *
 * Pooling the projection matrices is exact for what they compute: the mean of the heads' keys,
 * (1/s) * sum_i x W_i = x * (1/s) * sum_i W_i. (RoPE and Qwen3's k_norm are applied after the
 * projection, on the pooled head, as in the converted model of the paper.)
 *
 * The converted weights share every other tensor with the original: only the key and value
 * projections (g/nkv of their size) are new memory.
 *
 * The PyTorch reference of the same conversion is training/key_value_conversion.py; the fixture
 * made by scripts/fixtures/make_conversion_fixture.py checks this one against it.
 */

import { Tensor } from "../attention/tensor";
import { float32Of } from "./half-tensor";
import type { DecoderConfig } from "./config";
import type { DecoderAttentionWeights, DecoderWeights } from "./weights";

/** How a group's key (and value) heads become one. */
export type KeyValueConversionMethod = "mean" | "first";

export const KEY_VALUE_CONVERSION_METHODS: readonly KeyValueConversionMethod[] = ["mean", "first"];

export interface KeyValueConversion {
  /** Key/value heads after conversion: a divisor of the model's. */
  groups: number;
  method: KeyValueConversionMethod;
}

export class KeyValueConversionError extends Error {
  override name = "KeyValueConversionError";
}

/** The group counts a model with `keyValueHeads` heads can be converted to, largest first (itself excluded). */
export function keyValueGroupChoices(keyValueHeads: number): number[] {
  const choices: number[] = [];
  for (let groups = keyValueHeads - 1; groups >= 1; groups--) if (keyValueHeads % groups === 0) choices.push(groups);
  return choices;
}

/** Why `conversion` cannot be applied to a model of `config`, or null when it can. */
export function conversionProblem(config: Pick<DecoderConfig, "numKeyValueHeads">, conversion: KeyValueConversion): string | null {
  const { groups, method } = conversion;
  if (!KEY_VALUE_CONVERSION_METHODS.includes(method)) return `unknown conversion method "${String(method)}": "mean" or "first"`;
  if (!Number.isInteger(groups) || groups < 1) return `the number of key/value groups must be a positive whole number, not ${groups}`;
  const heads = config.numKeyValueHeads;
  if (groups >= heads) {
    return heads === 1
      ? "the model already has a single key/value head (multi-query attention): there is nothing to group"
      : `the model has ${heads} key/value heads: grouping needs fewer than that, such as ${keyValueGroupChoices(heads).join(" or ")}`;
  }
  if (heads % groups !== 0) return `${heads} key/value heads cannot be split into ${groups} equal groups: pick ${keyValueGroupChoices(heads).join(", ")}`;
  return null;
}

/**
 * (heads * hs, ...rest) -> (groups * hs, ...rest): each group of consecutive heads pooled into one.
 * Works for a projection matrix (rows are features of heads) and for its bias (rest empty).
 */
export function groupHeadRows(tensor: Tensor, heads: number, groups: number, method: KeyValueConversionMethod): Tensor {
  const [rows, ...rest] = tensor.shape;
  if (rows % heads !== 0) throw new KeyValueConversionError(`a tensor of ${rows} rows does not split into ${heads} heads`);
  const rowsPerHead = rows / heads;
  const headsPerGroup = heads / groups;
  const rowLength = rest.reduce((product, size) => product * size, 1);
  const headLength = rowsPerHead * rowLength; // hs * C values per head
  const pooled = new Float32Array(groups * headLength);
  for (let group = 0; group < groups; group++) {
    const target = pooled.subarray(group * headLength, (group + 1) * headLength);
    const firstHead = group * headsPerGroup;
    if (method === "first") {
      target.set(tensor.data.subarray(firstHead * headLength, (firstHead + 1) * headLength));
      continue;
    }
    for (let member = 0; member < headsPerGroup; member++) {
      const source = tensor.data.subarray((firstHead + member) * headLength, (firstHead + member + 1) * headLength);
      for (let index = 0; index < headLength; index++) target[index] += source[index];
    }
    for (let index = 0; index < headLength; index++) target[index] /= headsPerGroup;
  }
  return new Tensor(pooled, [groups * rowsPerHead, ...rest]);
}

/**
 * The model with its key/value heads grouped: a new config (`numKeyValueHeads` = groups) and
 * weights that share every tensor but the key and value projections with `weights`.
 */
export function convertKeyValueHeads(
  config: DecoderConfig,
  weights: DecoderWeights,
  conversion: KeyValueConversion,
): { config: DecoderConfig; weights: DecoderWeights } {
  const problem = conversionProblem(config, conversion);
  if (problem !== null) throw new KeyValueConversionError(problem);
  const { groups, method } = conversion;
  const heads = config.numKeyValueHeads;
  const group = (tensor: Tensor | undefined) => (tensor === undefined ? undefined : groupHeadRows(tensor, heads, groups, method));
  const layers = weights.layers.map((layer) => {
    const attention: DecoderAttentionWeights = {
      ...layer.attention,
      // From float16 matrices too, the grouped ones are float32 (and small: nkv x hs rows each).
      key: groupHeadRows(float32Of(layer.attention.key), heads, groups, method),
      value: groupHeadRows(float32Of(layer.attention.value), heads, groups, method),
    };
    const keyBias = group(layer.attention.keyBias);
    const valueBias = group(layer.attention.valueBias);
    if (keyBias) attention.keyBias = keyBias;
    if (valueBias) attention.valueBias = valueBias;
    return { ...layer, attention };
  });
  return { config: { ...config, numKeyValueHeads: groups }, weights: { ...weights, layers } };
}

/** "GQA, 2 groups, mean-pooled" and the like, for labels. */
export function describeConversion(conversion: KeyValueConversion): string {
  const kind = conversion.groups === 1 ? "MQA (1 key/value head)" : `GQA (${conversion.groups} key/value groups)`;
  return `${kind}, ${conversion.method === "mean" ? "mean-pooled" : "first head of each group"}`;
}

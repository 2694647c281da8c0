/**
 * The attention masks of the decoder graph, built once per graph and shared by the layers.
 *
 * Query row i of this step is cache slot P + i (P past slots, then the T new ones). Key slot j is
 * hidden from query slot q when
 *
 *   causal    j > q                        a key after the query
 *   padding   attention_mask[b, j] = 0     a left pad (of this step or of the cache)
 *   window    q - j >= window              outside a sliding window of `window` slots (Mistral,
 *                                          Qwen2 layers with use_sliding_window): the query sees
 *                                          only itself and the window - 1 slots before it
 *
 * The window counts cache slots, as transformers does (its cache_position); with left padding the
 * pads are slots too. A layer without a window (null) uses causal + padding only. Layers with the
 * same window share one mask, so a model with full and sliding layers builds two.
 *
 * Both variants add the same mask: 0 where a query may look, -inf where not. A row that sees no
 * key at all (a left-pad query) is 0/0 = NaN after a plain softmax:
 *
 *   primitive  `rowSeesNothing` marks such rows, and the attention replaces them by zeros;
 *   fused      onnxruntime's Attention-23 gives such a row zeros itself (measured, 1.30, node CPU
 *              and wasm), so no NaN reaches the next layer's keys there either.
 *
 * Shape legend: B batch, T new tokens, P past slots, S = P + T key slots.
 */

import type { DecoderConfig } from "../config";
import { ElementType, type GraphBuilder } from "./graph-builder";
import { GraphNames } from "./graph-names";
import type { AttentionVariant } from "./graph-attention";

/** The mask of one layer (shared by the layers with the same window). */
export interface AttentionMask {
  /** The sliding window in slots, or null for full causal attention. */
  window: number | null;
  /** (B, 1, T, S): 0 where a query may look, -inf where not. */
  additive: string;
  /** (B, 1, T, 1): true for a query row that sees no key at all; primitive variant only. */
  rowSeesNothing: string | undefined;
}

/** One mask per layer, by config.slidingWindows; layers with the same window get the same object. */
export function buildAttentionMasks(
  graph: GraphBuilder,
  config: DecoderConfig,
  variant: AttentionVariant,
  newTokens: string = GraphNames.inputIds,
): AttentionMask[] {
  if (config.slidingWindows.length !== config.numHiddenLayers) {
    throw new RangeError(`the config lists ${config.slidingWindows.length} sliding windows for ${config.numHiddenLayers} layers; it needs one (a window or null) per layer`);
  }
  const zero = graph.int64s([0], []);
  const one = graph.int64s([1], []);
  // T and S as scalars, read from the inputs' shapes.
  // newTokens is any (B, T, ...) value: input_ids, or the hidden states of a one-layer graph.
  const newLength = graph.op("Gather", [graph.op("Shape", [newTokens], { name: "mask/shape_ids" }), one], {
    name: "mask/T",
    attributes: { axis: 0 },
  }); // ()
  const totalLength = graph.op("Gather", [graph.op("Shape", [GraphNames.attentionMask], { name: "mask/shape_mask" }), one], {
    name: "mask/S",
    attributes: { axis: 0 },
  }); // ()
  const pastLength = graph.op("Sub", [totalLength, newLength], { name: "mask/P" }); // ()
  const querySlots = graph.op("Add", [graph.op("Range", [zero, newLength, one], { name: "mask/query_index" }), pastLength], {
    name: "mask/query_slot",
  }); // (T): P, P + 1, ..., S - 1
  const keySlots = graph.op("Range", [zero, totalLength, one], { name: "mask/key_slot" }); // (S)
  const keyRow = graph.op("Unsqueeze", [keySlots, graph.int64s([0])], { name: "mask/key_row" }); // (1, S)
  const queryColumn = graph.op("Unsqueeze", [querySlots, graph.int64s([1])], { name: "mask/query_column" }); // (T, 1)
  const causalBlocked = graph.op("Greater", [keyRow, queryColumn], { name: "mask/causal_blocked" }); // (T, S): key after query
  const paddingBlocked = graph.op(
    "Unsqueeze",
    [graph.op("Equal", [GraphNames.attentionMask, graph.int64s([0], [])], { name: "mask/is_pad" }), graph.int64s([1, 2])],
    { name: "mask/padding_blocked" },
  ); // (B, S) -> (B, 1, 1, S)
  const causalOrPadding = graph.op("Or", [causalBlocked, paddingBlocked], { name: "mask/blocked" }); // (T, S) | (B, 1, 1, S) -> (B, 1, T, S)

  const byWindow = new Map<number | null, AttentionMask>();
  const maskFor = (window: number | null): AttentionMask => {
    const built = byWindow.get(window);
    if (built) return built;
    let blocked = causalOrPadding; // (B, 1, T, S)
    let name = "mask";
    if (window !== null) {
      if (!Number.isInteger(window) || window < 1) {
        throw new RangeError(`a sliding window must be a positive number of slots, found ${window}; check "sliding_window" in config.json`);
      }
      name = `mask/window_${window}`;
      const distance = graph.op("Sub", [queryColumn, keyRow], { name: `${name}/distance` }); // (T, 1) - (1, S) -> (T, S): q - j
      const outsideWindow = graph.op("Greater", [distance, graph.int64s([window - 1], [])], { name: `${name}/outside` }); // (T, S): q - j >= window
      blocked = graph.op("Or", [causalOrPadding, outsideWindow], { name: `${name}/blocked` }); // (B, 1, T, S)
    }
    const additive = graph.op("Where", [blocked, graph.floats([-Infinity]), graph.floats([0])], { name: `${name}/additive` }); // (B, 1, T, S)
    const mask: AttentionMask = { window, additive, rowSeesNothing: variant === "primitive" ? buildRowSeesNothing(graph, blocked, name) : undefined };
    byWindow.set(window, mask);
    return mask;
  };
  return config.slidingWindows.map(maskFor);
}

/** (B, 1, T, S) blocked -> (B, 1, T, 1): true where every key of the row is blocked. */
function buildRowSeesNothing(graph: GraphBuilder, blocked: string, name: string): string {
  const visible = graph.op("Cast", [graph.op("Not", [blocked], { name: `${name}/visible` })], {
    name: `${name}/visible_float`,
    attributes: { to: ElementType.FLOAT },
  }); // (B, 1, T, S)
  const anyVisible = graph.op("ReduceMax", [visible, graph.int64s([-1])], { name: `${name}/any_visible`, attributes: { keepdims: 1 } }); // (B, 1, T, 1)
  return graph.op("Equal", [anyVisible, graph.floats([0])], { name: `${name}/row_sees_nothing` }); // (B, 1, T, 1)
}

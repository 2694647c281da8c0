/**
 * Where a token is, in the decoder graph: the two position encodings of the families.
 *
 *   rope     (Llama, Mistral, Qwen)  queries and keys are rotated: x cos + rotate_half(x) sin, with
 *            cos and sin looked up by position_ids in tables computed here in TypeScript (float64
 *            from float32 angles, as the reference does), not in the graph: WebGPU's sin/cos are
 *            only accurate to about 2^-11, which moved keys by ~1e-3. The tables carry the
 *            config's RoPE scaling (linear, llama3).
 *   learned  (GPT-2)  a table of position embeddings, (maxPositions, C), looked up by position_ids
 *            and added to the token embeddings; attention is then position-free.
 *
 * position_ids are the positions of the real tokens (left pads skipped), see graph-inputs.ts.
 *
 * Shape legend: B batch, T new tokens, h heads (nh or nkv), hs head size, C model width.
 */

import { RotaryEmbedding } from "../../attention/rotary-embedding";
import type { Tensor } from "../../attention/tensor";
import type { DecoderConfig } from "../config";
import type { WeightTensor } from "../half-tensor";
import type { GraphBuilder } from "./graph-builder";
import { GraphNames } from "./graph-names";

/** RoPE's cos and sin of the new tokens' positions, shared by every layer. */
export interface RotaryTables {
  /** (B, 1, T, hs). */
  cosine: string;
  /** (B, 1, T, hs). */
  sine: string;
}

/** Looks up cos and sin for every position_id: (positions, hs) tables -> (B, 1, T, hs) each. */
export function buildRotaryTables(graph: GraphBuilder, config: DecoderConfig): RotaryTables {
  const rotary = new RotaryEmbedding(config.headDim, config.ropeTheta, config.ropeScaling);
  const tables = rotary.tables(config.maxPositionEmbeddings); // (positions, hs) each
  const headAxis = graph.int64s([1]);
  const lookUp = (table: Tensor, which: "cos" | "sin"): string =>
    graph.op(
      "Unsqueeze",
      [graph.op("Gather", [graph.weight(`rope/${which}_table`, table), GraphNames.positionIds], { name: `rope/${which}_bt`, attributes: { axis: 0 } }), headAxis],
      { name: `rope/${which}` },
    ); // (positions, hs)[(B, T)] -> (B, T, hs) -> (B, 1, T, hs)
  return { cosine: lookUp(tables.cosine, "cos"), sine: lookUp(tables.sine, "sin") };
}

/** RoPE: x cos + rotate_half(x) sin, where rotate_half([a, b]) = [-b, a] over the two halves of hs. */
export function buildRotary(graph: GraphBuilder, x: string, tables: RotaryTables, headDim: number, name: string): string {
  const half = headDim / 2;
  const lastAxis = graph.int64s([3]);
  const first = graph.op("Slice", [x, graph.int64s([0]), graph.int64s([half]), lastAxis], { name: `${name}/first_half` }); // (B, h, T, hs/2)
  const second = graph.op("Slice", [x, graph.int64s([half]), graph.int64s([headDim]), lastAxis], { name: `${name}/second_half` }); // (B, h, T, hs/2)
  const rotated = graph.op("Concat", [graph.op("Neg", [second], { name: `${name}/neg_second` }), first], {
    name: `${name}/rotate_half`,
    attributes: { axis: -1 },
  }); // (B, h, T, hs)
  return graph.op(
    "Add",
    [
      graph.op("Mul", [x, tables.cosine], { name: `${name}/x_cos` }), // (B, h, T, hs) * (B, 1, T, hs)
      graph.op("Mul", [rotated, tables.sine], { name: `${name}/rotated_sin` }), // (B, h, T, hs) * (B, 1, T, hs)
    ],
    { name: `${name}/rotary` },
  ); // (B, h, T, hs)
}

/** Learned positions: token embeddings + positionEmbeddings[position_ids]. */
export function buildLearnedPositions(graph: GraphBuilder, tokenEmbeddings: string, positionEmbeddings: WeightTensor | undefined, name: string): string {
  if (!positionEmbeddings) {
    throw new Error(`${name}: the config asks for learned positions but the weights have no position embeddings (GPT-2's wpe); load the weights with the config they belong to`);
  }
  const positions = graph.op("Gather", [graph.weight(`${name}.weight`, positionEmbeddings), GraphNames.positionIds], {
    name,
    attributes: { axis: 0 },
  }); // (maxPositions, C)[(B, T)] -> (B, T, C)
  return graph.op("Add", [tokenEmbeddings, positions], { name: `${name}/add` }); // (B, T, C)
}

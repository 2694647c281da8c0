/**
 * Which head of model B to compare with which head of model A.
 *
 * By index, query head h of A sits beside query head h of B. That is right when B was made from A
 * (a GQA model converted from an MHA one keeps every query head where it was), but for two models
 * trained separately the numbering means nothing: head 3 of one is unrelated to head 3 of the
 * other, and any renumbering of a layer's heads gives the same model (see below). So the panel can
 * also pair the heads "by best match": within each layer, the one-to-one pairing of A's heads with
 * B's heads whose total difference is smallest.
 *
 *   cost(l)[i][j] = mean |A(l, i, q, k) - B(l, j, q, k)| over queries q and the keys k <= q they see
 *
 *                B0    B1    B2          best match: A0 <-> B1, A1 <-> B2, A2 <-> B0
 *         A0  [ 0.30  0.01  0.20 ]       (0.01 + 0.02 + 0.05 = 0.08, the smallest sum of
 *         A1  [ 0.25  0.40  0.02 ]        three entries, one per row and column)
 *         A2  [ 0.05  0.30  0.35 ]       by index: 0.30 + 0.40 + 0.35 = 1.05
 *
 * Picking one entry per row and per column with the smallest sum is the assignment problem; the
 * Hungarian algorithm (`minimumCostAssignment`) solves it exactly in O(n^3) instead of trying all n!
 * permutations.
 *
 * Why renumbering heads changes nothing: in multi-head attention head h owns rows h*hs .. (h+1)*hs-1
 * of q_proj, k_proj and v_proj and the same columns of o_proj. Moving those rows and columns to
 * head position p(h), together, computes the same sum in o_proj in another order: the same output,
 * with the attention maps of the heads renumbered. (test/unit/head-alignment.test.ts does this to
 * a bundled model and checks that `alignHeads` finds the renumbering.)
 *
 * Shape legend: L layers, nh query heads, T tokens; a cost matrix is (n, n) with n = nh.
 */

import { layerMaps, mapLayers, type AttentionMaps } from "../attention/attention-maps";
import type { HeadAlignment, HeadPair } from "../../src/protocol";
import { checkAlignable, differenceMaps, headMeanDifferences, layerSummaries, maxOf, type LayerSummary } from "./comparison";

// ---------------------------------------------------------------------------------------------
// The assignment problem

export interface Assignment {
  /** columnOfRow[i]: the column row i is assigned to; a permutation of 0 .. n-1. */
  columnOfRow: number[];
  /** sum over i of cost[i][columnOfRow[i]]: the smallest such sum over every permutation. */
  totalCost: number;
}

/**
 * The Hungarian algorithm (Kuhn-Munkres, in the O(n^3) form with potentials): the permutation p
 * that minimises sum_i cost[i][p(i)] for a square (n, n) matrix of finite numbers.
 *
 * It keeps a potential u[i] per row and v[j] per column with cost[i][j] - u[i] - v[j] >= 0 (the
 * "reduced cost") everywhere and = 0 on every assigned pair; then no other assignment can cost less
 * (its sum is >= sum u + sum v, which the assigned pairs reach). Rows join one at a time: from the
 * new row, a shortest-path search over reduced costs (Dijkstra's, with `slack[j]` the cheapest way
 * found to column j) grows a tree of rows and columns, raising and lowering potentials by the
 * smallest slack `delta` so that one more column becomes tight, until it reaches a free column; then
 * the assignments along that path shift by one (an augmenting path). n rows x at most n columns
 * added per search x O(n) per column = O(n^3).
 *
 * Indices inside are 1-based, with row and column 0 as the search's virtual start, which keeps the
 * loop free of special cases. Ties: any one of the optimal permutations.
 */
export function minimumCostAssignment(cost: readonly (readonly number[])[]): Assignment {
  const n = cost.length;
  cost.forEach((row, i) => {
    if (row.length !== n) throw new Error(`minimumCostAssignment: the cost matrix must be square, but row ${i} has ${row.length} entries for ${n} rows`);
    row.forEach((value, j) => {
      if (!Number.isFinite(value)) throw new Error(`minimumCostAssignment: cost[${i}][${j}] is ${value}; every cost must be a finite number`);
    });
  });

  const rowPotential = new Float64Array(n + 1); // u
  const columnPotential = new Float64Array(n + 1); // v
  const rowOfColumn = new Int32Array(n + 1); // 0: free; else the 1-based row assigned to column j
  const previousColumn = new Int32Array(n + 1); // the column before j on the shortest path to j

  for (let row = 1; row <= n; row++) {
    rowOfColumn[0] = row; // the virtual column 0 holds the row being added
    let column = 0;
    const slack = new Float64Array(n + 1).fill(Infinity);
    const visited = new Uint8Array(n + 1);
    do {
      visited[column] = 1;
      const currentRow = rowOfColumn[column];
      let delta = Infinity;
      let nextColumn = 0;
      for (let j = 1; j <= n; j++) {
        if (visited[j]) continue;
        const reduced = cost[currentRow - 1][j - 1] - rowPotential[currentRow] - columnPotential[j];
        if (reduced < slack[j]) {
          slack[j] = reduced;
          previousColumn[j] = column;
        }
        if (slack[j] < delta) {
          delta = slack[j];
          nextColumn = j;
        }
      }
      // Shift the potentials by delta: the tree's pairs stay tight, nextColumn becomes tight.
      for (let j = 0; j <= n; j++) {
        if (visited[j]) {
          rowPotential[rowOfColumn[j]] += delta;
          columnPotential[j] -= delta;
        } else {
          slack[j] -= delta;
        }
      }
      column = nextColumn;
    } while (rowOfColumn[column] !== 0);
    // Augment: walk the path back, each column taking the row of the column before it.
    do {
      const before = previousColumn[column];
      rowOfColumn[column] = rowOfColumn[before];
      column = before;
    } while (column !== 0);
  }

  const columnOfRow = new Array<number>(n);
  for (let j = 1; j <= n; j++) columnOfRow[rowOfColumn[j] - 1] = j - 1;
  let totalCost = 0;
  for (let i = 0; i < n; i++) totalCost += cost[i][columnOfRow[i]];
  return { columnOfRow, totalCost };
}

/** The inverse of a permutation: inverse[p[i]] = i. */
export function inversePermutation(permutation: readonly number[]): number[] {
  const inverse = new Array<number>(permutation.length);
  permutation.forEach((target, index) => (inverse[target] = index));
  return inverse;
}

// ---------------------------------------------------------------------------------------------
// Heads of two models

/**
 * mean |A - B| over the T (T + 1) / 2 cells of two (T, T) causal maps that a query may see (k <= q):
 * `meanOverVisibleCells` of comparison.ts applied to |A - B|, without making that map.
 */
export function meanAbsoluteDifference(mapA: Float32Array, mapB: Float32Array, tokens: number): number {
  if (tokens === 0) return 0;
  let sum = 0;
  for (let query = 0; query < tokens; query++) {
    const row = query * tokens;
    for (let key = 0; key <= query; key++) sum += Math.abs(mapA[row + key] - mapB[row + key]);
  }
  return sum / ((tokens * (tokens + 1)) / 2);
}

/** The (nh, nh) cost matrix of one layer: cost[i][j] = mean |A head i - B head j|, from (nh, T, T) layers. */
export function headCostMatrix(layerA: Float32Array, layerB: Float32Array, heads: number, tokens: number): number[][] {
  const size = tokens * tokens;
  if (layerA.length !== heads * size || layerB.length !== heads * size) {
    throw new Error(`headCostMatrix: layers of ${layerA.length} and ${layerB.length} numbers, expected (nh, T, T) = (${heads}, ${tokens}, ${tokens})`);
  }
  return Array.from({ length: heads }, (_, i) =>
    Array.from({ length: heads }, (_, j) => meanAbsoluteDifference(layerA.subarray(i * size, (i + 1) * size), layerB.subarray(j * size, (j + 1) * size), tokens)),
  );
}

/** One layer's heads, paired by best match. */
export interface LayerHeadAlignment {
  layer: number;
  /** headOfB[i]: the head of B paired with head i of A (a permutation of 0 .. nh-1). */
  headOfB: number[];
  /** pairCosts[i] = mean |A head i - B head headOfB[i]|. */
  pairCosts: number[];
  /** Mean of `pairCosts`: the layer's mean |A - B| by best match, the smallest any pairing gives. */
  meanByBestMatch: number;
  /** Mean over i of mean |A head i - B head i|: the layer's mean |A - B| by index. */
  meanByIndex: number;
}

/**
 * Pairs the heads of A with those of B, layer by layer, by the Hungarian algorithm on the cost
 * matrix above. The two models need the same layers, query heads and tokens (`checkAlignable`).
 */
export function alignHeads(mapsA: AttentionMaps, mapsB: AttentionMaps): LayerHeadAlignment[] {
  checkAlignable(mapsA, mapsB);
  const { heads, tokens } = mapsA;
  return Array.from({ length: mapsA.layers }, (_, layer) => {
    const cost = headCostMatrix(layerMaps(mapsA, layer), layerMaps(mapsB, layer), heads, tokens); // (nh, T, T) x 2 -> (nh, nh)
    const { columnOfRow: headOfB, totalCost } = minimumCostAssignment(cost);
    const byIndex = cost.reduce((sum, row, head) => sum + row[head], 0);
    return {
      layer,
      headOfB,
      pairCosts: headOfB.map((headB, headA) => cost[headA][headB]),
      meanByBestMatch: heads === 0 ? 0 : totalCost / heads,
      meanByIndex: heads === 0 ? 0 : byIndex / heads,
    };
  });
}

/** headOfB[layer][head] = head: every head of A with the head of B of the same index. */
export function pairingByIndex(layers: number, heads: number): number[][] {
  return Array.from({ length: layers }, () => Array.from({ length: heads }, (_, head) => head));
}

/** The pairing `alignment` names: headOfB[layer][headA]. */
export function pairingOf(alignment: HeadAlignment, alignments: readonly LayerHeadAlignment[], heads: number): number[][] {
  return alignment === "bestMatch" ? alignments.map((layer) => [...layer.headOfB]) : pairingByIndex(alignments.length, heads);
}

/** What the compare views draw for one pairing of the heads. */
export interface AlignedDifference {
  alignment: HeadAlignment;
  /** headOfB[layer][headA]: the head of B drawn beside head headA of A. */
  headOfB: number[][];
  /** |A head h - B head headOfB[l][h]| for every layer, head, query and key: L of (nh, T, T). */
  difference: AttentionMaps;
  /** Largest |A - B| anywhere: the top of the difference colour scale. */
  maxDifference: number;
  /** Mean |A - B| per pair of heads: headDifferences[layer][headA]. */
  headDifferences: number[][];
  layers: LayerSummary[];
}

/** The difference maps, the per-pair means and the layer summary for the heads paired as `alignment` says. */
export function alignedDifference(mapsA: AttentionMaps, mapsB: AttentionMaps, alignment: HeadAlignment, alignments: readonly LayerHeadAlignment[]): AlignedDifference {
  const headOfB = pairingOf(alignment, alignments, mapsA.heads);
  const difference = differenceMaps(mapsA, mapsB, headOfB);
  return {
    alignment,
    headOfB,
    difference,
    maxDifference: maxOf(new Float32Array(mapLayers(difference, maxOf))),
    headDifferences: headMeanDifferences(difference),
    layers: layerSummaries(mapsA, mapsB, difference),
  };
}

/** The pairs of one aligned difference, per layer, as the comparison report lists them. */
export function headPairsOf(aligned: Pick<AlignedDifference, "headOfB" | "headDifferences">): HeadPair[][] {
  return aligned.headOfB.map((layer, index) => layer.map((headB, headA) => ({ headA, headB, meanDifference: aligned.headDifferences[index][headA] })));
}

/** "A head 3 ↔ B head 5". */
export function pairName(headA: number, headB: number): string {
  return `A head ${headA} ↔ B head ${headB}`;
}

/**
 * What each attention head does, measured: the numbers that let a person find "the previous-token
 * heads" or "the induction heads" of a model, and that the model cards report.
 *
 *   previous-token score   mean weight a query puts on the token just before it (i -> i - 1)
 *   induction score        on a random token sequence repeated twice, the mean weight a token of
 *                          the second copy puts on the token that FOLLOWED its earlier occurrence:
 *                          the head predicts "what came next last time" (Olsson et al., 2022)
 *   sink mass              mean weight on the first token (often a <|bos|> the model parks
 *                          attention on when it has nothing better to do)
 *   entropy                mean entropy of a query's weights, in nats (0 = looks at one token;
 *                          ln(i + 1) = spreads evenly over the i + 1 tokens it may see)
 *
 * The first three average over query rows that can see the key they measure; the first query row
 * (which sees only itself) is left out of all four.
 *
 * Shape legend: L layers, nh heads, T tokens; attention maps are (1, nh, T, T) per layer.
 */

import { seededRandom } from "../attention/seeded-random";
import type { Tensor } from "../attention/tensor";
import type { DecoderModel } from "./decoder-model";

export interface HeadMetrics {
  previousToken: number;
  induction: number;
  sinkMass: number;
  entropy: number;
}

/** metrics[layer][head]. */
export type ModelHeadMetrics = HeadMetrics[][];

/** Mean over the query rows `rows` of `valueOfRow(row)`, for one head of a (1, nh, T, T) map. */
function meanOverRows(rows: number[], valueOfRow: (row: number) => number): number {
  if (rows.length === 0) return 0;
  return rows.reduce((sum, row) => sum + valueOfRow(row), 0) / rows.length;
}

/** Previous-token score, sink mass and entropy of every head, from one layer's map (1, nh, T, T). */
export function textMetricsOfLayer(attention: Tensor): Omit<HeadMetrics, "induction">[] {
  const [, heads, length] = attention.shape;
  const rows = Array.from({ length: Math.max(0, length - 1) }, (_, index) => index + 1); // queries 1 .. T-1
  return Array.from({ length: heads }, (_, head) => {
    const base = head * length * length;
    const weight = (query: number, key: number) => attention.data[base + query * length + key];
    return {
      previousToken: meanOverRows(rows, (query) => weight(query, query - 1)),
      sinkMass: meanOverRows(rows, (query) => weight(query, 0)),
      entropy: meanOverRows(rows, (query) => {
        let entropy = 0;
        for (let key = 0; key <= query; key++) {
          const w = weight(query, key);
          if (w > 0) entropy -= w * Math.log(w);
        }
        return entropy;
      }),
    };
  });
}

/**
 * Induction score of every head from one layer's map over [first, r_0 .. r_{n-1}, r_0 .. r_{n-1}]:
 * the query at the second r_j (position 1 + n + j) should look at r_{j+1} of the first copy
 * (position 2 + j).
 */
export function inductionScoresOfLayer(attention: Tensor, repeatLength: number): number[] {
  const [, heads, length] = attention.shape;
  if (length !== 1 + 2 * repeatLength) {
    throw new RangeError(`inductionScoresOfLayer: the map covers ${length} tokens but 1 + 2 x ${repeatLength} were expected`);
  }
  const rows = Array.from({ length: repeatLength - 1 }, (_, j) => 1 + repeatLength + j);
  return Array.from({ length: heads }, (_, head) =>
    meanOverRows(rows, (query) => attention.data[head * length * length + query * length + (query - repeatLength + 1)]),
  );
}

/** A random sequence of `length` ordinary tokens (special tokens, assumed to be the ids below `firstOrdinaryId`, excluded). */
export function randomTokens(length: number, vocabSize: number, seed: number, firstOrdinaryId = 3): number[] {
  const random = seededRandom(seed);
  return Array.from({ length }, () => firstOrdinaryId + Math.floor(random() * (vocabSize - firstOrdinaryId)));
}

export interface HeadMetricsOptions {
  /** Token ids of a natural text, starting with <|bos|>: for previous-token, sink and entropy. */
  textIds: number[];
  /** The id put before the random repeated sequence (usually <|bos|>). */
  firstTokenId: number;
  /** Length of the random sequence that is repeated (default 50). */
  repeatLength?: number;
  /** Seed of the random sequence (default 0). */
  seed?: number;
  /** Ids below this are special and not drawn for the random sequence (default 3). */
  firstOrdinaryId?: number;
}

/** All four metrics of every head of a model, computed with the TypeScript reference forward. */
export function measureHeads(model: DecoderModel, options: HeadMetricsOptions): ModelHeadMetrics {
  const repeatLength = options.repeatLength ?? 50;
  const text = model.forward([options.textIds]);
  const repeated = randomTokens(repeatLength, model.config.vocabSize, options.seed ?? 0, options.firstOrdinaryId);
  const induction = model.forward([[options.firstTokenId, ...repeated, ...repeated]]);
  return text.attentions.map((layerMap, layer) => {
    const inductionScores = inductionScoresOfLayer(induction.attentions[layer], repeatLength);
    return textMetricsOfLayer(layerMap).map((metrics, head) => ({ ...metrics, induction: inductionScores[head] }));
  });
}

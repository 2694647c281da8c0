/**
 * The head a new panel opens on: the strongest previous-token head on this text.
 *
 * Layer 0, head 0 is nearly uniform in most models, so a newcomer's first sight of it is a flat
 * triangle. The rule here picks what reads at a glance instead: for every head, the mean weight a
 * query gives the token just before it,
 *
 *     previousTokenScore(l, h) = 1 / (T - 1) * sum_{q = 1 .. T-1} A_lh[q, q - 1]
 *
 * (1 for a perfect previous-token head: a bright line under the diagonal), and the head with the
 * highest score wins (the first in layer, then head order on a tie). It needs only the run's own
 * maps, so it works for every model, with or without head-metrics.json, and it is computed as each
 * layer's float32 weights arrive, before they are stored at a coarser precision.
 *
 * Shape legend: nh query heads, T tokens.
 */

/** Why the panel opened on this head, for the panel's line and for tests. */
export interface FirstHead {
  layer: number;
  head: number;
  /** The head's previous-token score on this text (0 when there are too few tokens to tell). */
  score: number;
  rule: "previous-token" | "too-few-tokens";
}

/** Fewer tokens than this: there is no line to see, and the panel opens on layer 0, head 0. */
export const MIN_TOKENS_FOR_A_RULE = 3;

export class PreviousTokenScores {
  /** scores[layer][head]. */
  private readonly scores: number[][] = [];

  constructor(
    private readonly heads: number,
    private readonly tokens: number,
  ) {}

  /** One layer's weights, (nh, T, T) row-major. */
  add(layer: number, weights: Float32Array): void {
    const { heads, tokens } = this;
    if (weights.length !== heads * tokens * tokens) {
      throw new Error(`previous-token scores: layer ${layer} has ${weights.length} weights, expected ${heads} x ${tokens} x ${tokens}`);
    }
    const row = new Array<number>(heads).fill(0);
    for (let head = 0; head < heads; head++) {
      const base = head * tokens * tokens;
      let sum = 0;
      for (let query = 1; query < tokens; query++) sum += weights[base + query * tokens + query - 1];
      row[head] = tokens > 1 ? sum / (tokens - 1) : 0;
    }
    this.scores[layer] = row;
  }

  /** Every layer's scores so far, scores[layer][head]. */
  get all(): readonly (readonly number[])[] {
    return this.scores;
  }

  /** The head to open on (see the top of this file). */
  choose(): FirstHead {
    if (this.tokens < MIN_TOKENS_FOR_A_RULE || this.scores.length === 0) return { layer: 0, head: 0, score: 0, rule: "too-few-tokens" };
    let best: FirstHead = { layer: 0, head: 0, score: -1, rule: "previous-token" };
    this.scores.forEach((row, layer) =>
      row.forEach((score, head) => {
        if (score > best.score) best = { layer, head, score, rule: "previous-token" };
      }),
    );
    return best;
  }
}

/** The panel's line about it: "the strongest previous-token head on this text: 0.91 of …". */
export function describeFirstHead(first: FirstHead): string {
  if (first.rule === "too-few-tokens") return "layer 0 · head 0 (too few tokens to pick a head by its pattern)";
  return (
    `layer ${first.layer} · head ${first.head}, the strongest previous-token head on this text: ` +
    `on average ${(first.score * 100).toFixed(0)}% of a token's attention goes to the token just before it`
  );
}

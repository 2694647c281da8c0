/**
 * How well the model knows a text: for every token after the first, its next-token loss (the
 * cross entropy of that token given the tokens before it, in nats) and the model's top guesses at
 * that place, computed from the output head's logits one vocabulary slice at a time, so that the
 * (T, V) logits never exist at once (SmolLM2's 49152 or Qwen's 151936 columns times 1024 tokens).
 *
 *   loss_t = logsumexp(logits[t - 1]) - logits[t - 1][id_t]        t = 1 .. T-1
 *   mean loss = mean_t loss_t,   perplexity = exp(mean loss)
 *
 * The log-sum-exp runs online over the slices: a running maximum m and a sum s of exp(x - m),
 * rescaled by exp(m_old - m_new) when a larger logit comes. The top guesses are the `top` largest
 * logits of each row, kept sorted as the slices come.
 *
 * Shape legend: N rows (the positions whose next token is scored, T - 1), V vocabulary.
 */

/** One of the model's guesses for a next token. */
export interface NextTokenGuess {
  id: number;
  probability: number;
}

/** What `NextTokenLosses.finish` gives. */
export interface NextTokenReport {
  /** Per scored token (the text's tokens after the first), its loss in nats: (N,). */
  losses: Float32Array;
  /** The mean of `losses`, in nats per token. */
  meanLoss: number;
  /** exp(meanLoss). */
  perplexity: number;
  /** Per scored token, the model's `top` guesses at that place, most probable first. */
  guesses: NextTokenGuess[][];
}

export class NextTokenLosses {
  private readonly maximum: Float64Array;
  private readonly sum: Float64Array;
  private readonly targetLogit: Float64Array;
  /** Per row, the best logits so far: [logit, id] pairs, largest first. */
  private readonly best: [number, number][][];
  private seen = 0;

  /**
   * `targets[r]`: the id that follows row r (row r holds the logits after token r, so its target is
   * token r + 1); `top`: how many guesses to keep per row.
   */
  constructor(
    private readonly targets: readonly number[],
    private readonly vocabulary: number,
    private readonly top = 5,
  ) {
    const rows = targets.length;
    this.maximum = new Float64Array(rows).fill(-Infinity);
    this.sum = new Float64Array(rows);
    this.targetLogit = new Float64Array(rows).fill(Number.NaN);
    this.best = Array.from({ length: rows }, () => []);
    for (const target of targets) {
      if (!(Number.isInteger(target) && target >= 0 && target < vocabulary)) throw new RangeError(`target ${target} is not a token id below ${vocabulary}`);
    }
  }

  /**
   * The logits of vocabulary columns `start .. start + width - 1` for every row: `data` holds
   * `rows` rows of `width` (row-major), of which the first N are scored (a head run over all T
   * positions has one row more, the last token's, whose next token is unknown).
   */
  addSlice(data: Float32Array, rows: number, width: number, start: number): void {
    const scored = this.targets.length;
    if (rows < scored || data.length < rows * width) throw new RangeError(`a slice of ${rows} x ${width} logits (${data.length} numbers) for ${scored} scored rows`);
    if (start < 0 || start + width > this.vocabulary) throw new RangeError(`columns ${start}..${start + width - 1} are outside the vocabulary of ${this.vocabulary}`);
    for (let row = 0; row < scored; row++) {
      const offset = row * width;
      let maximum = this.maximum[row];
      for (let column = 0; column < width; column++) if (data[offset + column] > maximum) maximum = data[offset + column];
      let sum = this.sum[row] * Math.exp(this.maximum[row] - maximum);
      if (!Number.isFinite(sum)) sum = 0; // the first slice: -Infinity - finite
      for (let column = 0; column < width; column++) sum += Math.exp(data[offset + column] - maximum);
      this.maximum[row] = maximum;
      this.sum[row] = sum;
      const target = this.targets[row] - start;
      if (target >= 0 && target < width) this.targetLogit[row] = data[offset + target];
      this.keepBest(row, data, offset, width, start);
    }
    this.seen += width;
  }

  /** The losses and guesses, once every column of the vocabulary came. */
  finish(): NextTokenReport {
    if (this.seen !== this.vocabulary) throw new Error(`next-token losses: ${this.seen} of ${this.vocabulary} vocabulary columns came`);
    const rows = this.targets.length;
    const losses = new Float32Array(rows);
    let total = 0;
    const guesses: NextTokenGuess[][] = [];
    for (let row = 0; row < rows; row++) {
      const logSumExp = this.maximum[row] + Math.log(this.sum[row]);
      losses[row] = logSumExp - this.targetLogit[row];
      total += losses[row];
      guesses.push(this.best[row].map(([logit, id]) => ({ id, probability: Math.exp(logit - logSumExp) })));
    }
    const meanLoss = rows > 0 ? total / rows : Number.NaN;
    return { losses, meanLoss, perplexity: Math.exp(meanLoss), guesses };
  }

  private keepBest(row: number, data: Float32Array, offset: number, width: number, start: number): void {
    const best = this.best[row];
    for (let column = 0; column < width; column++) {
      const logit = data[offset + column];
      if (best.length === this.top && logit <= best[best.length - 1][0]) continue;
      let at = best.length;
      while (at > 0 && best[at - 1][0] < logit) at--;
      best.splice(at, 0, [logit, start + column]);
      if (best.length > this.top) best.pop();
    }
  }
}

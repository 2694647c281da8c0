/**
 * The decoder's output head on onnxruntime-web: the final norm and the (V, C) head matrix (the tied
 * embedding itself, or lm_head), fed whole for a small vocabulary or in slices of HEAD_SLICE_ROWS
 * rows, each a view of the weights' own array, so that no copy of a 151936-row matrix is made.
 *
 *   logits            the rows asked for: (B, T, C) -> (B, N, V), slices placed at their columns
 *   nextTokenLosses   every token's next-token loss and the model's guesses, slice by slice, without
 *                     the (T, V) logits ever existing at once (next-token-losses.ts)
 *
 * Shape legend: B batch, T tokens, C model width, V vocabulary, N rows with logits.
 */

import * as ort from "onnxruntime-web";

import { Tensor } from "../attention/tensor";
import type { DecoderConfig } from "../model/config";
import { weightRows } from "../model/half-tensor";
import type { FedWeight } from "../model/onnx/graph-builder";
import { GraphNames } from "../model/onnx/graph-names";
import { LayerGraphNames } from "../model/onnx/layer-graph";
import type { ModelRuntime } from "./model-runtime";
import { NextTokenLosses, type NextTokenReport } from "./next-token-losses";
import type { LogitRows } from "./onnx-decoder";
import { feedsDecode, feedsOf, toTensor, weightFeed } from "./ort-tensors";

/**
 * The head's inputs besides the hidden states: its norm, and the head matrix in vocabulary slices,
 * each slice's input made when a run needs it (a view, or decoded for this run when float16 weights
 * go in as float32). No weight: the graph holds it.
 */
export interface HeadFeeds {
  norm: Record<string, ort.Tensor>;
  slices: { start: number; weight: (() => ort.Tensor) | undefined }[];
}

export class OutputHead {
  constructor(
    readonly runtime: ModelRuntime,
    private readonly feeds: HeadFeeds,
    private readonly vocabulary: number,
  ) {}

  /** Each token's next-token loss and the top guesses, from the head's logits one vocabulary slice at a time. */
  async nextTokenLosses(hidden: ort.Tensor, inputIds: readonly (readonly number[])[], top: number): Promise<NextTokenReport> {
    if (inputIds.length !== 1) throw new RangeError(`next-token losses score one sequence, not a batch of ${inputIds.length}`);
    const [, length] = hidden.dims;
    const scores = new NextTokenLosses(inputIds[0].slice(1), this.vocabulary, top);
    const { norm, slices } = this.feeds;
    for (const slice of slices) {
      const feeds: Record<string, ort.Tensor> = { [LayerGraphNames.hiddenStates]: hidden, ...norm };
      if (slice.weight) feeds[HEAD_WEIGHT] = slice.weight();
      const part = (await this.runtime.run(feeds))[GraphNames.logits];
      scores.addSlice((await part.getData()) as Float32Array, length, part.dims[2], slice.start);
      part.dispose();
    }
    return scores.finish();
  }

  /** The output head on the rows asked for: (B, T, C) -> (B, N, V). */
  async logits(hidden: ort.Tensor, rows: LogitRows): Promise<Tensor> {
    const [batchSize, length, width] = hidden.dims;
    if (rows === "none") return new Tensor(new Float32Array(0), [batchSize, 0, this.vocabulary]);
    let input = hidden;
    if (rows === "last" && length > 1) {
      const data = (await hidden.getData()) as Float32Array;
      const last = new Float32Array(batchSize * width);
      for (let batch = 0; batch < batchSize; batch++) last.set(data.subarray((batch * length + length - 1) * width, (batch * length + length) * width), batch * width);
      input = new ort.Tensor("float32", last, [batchSize, 1, width]);
    }
    const { norm, slices } = this.feeds;
    if (slices.length === 1 && slices[0].start === 0) {
      const feeds: Record<string, ort.Tensor> = { [LayerGraphNames.hiddenStates]: input, ...norm };
      if (slices[0].weight) feeds[HEAD_WEIGHT] = slices[0].weight();
      return toTensor((await this.runtime.run(feeds))[GraphNames.logits]);
    }
    // Slice by slice of the vocabulary: (B, N, C) x (C, rows) -> (B, N, rows), placed at their columns.
    const vocabulary = this.vocabulary;
    const logitRows = input.dims[0] * input.dims[1];
    const logits = new Float32Array(logitRows * vocabulary);
    for (const slice of slices) {
      const part = (await this.runtime.run({ [LayerGraphNames.hiddenStates]: input, ...norm, [HEAD_WEIGHT]: (slice.weight as () => ort.Tensor)() }))[GraphNames.logits];
      const data = (await part.getData()) as Float32Array;
      const width = part.dims[2];
      for (let row = 0; row < logitRows; row++) logits.set(data.subarray(row * width, (row + 1) * width), row * vocabulary + slice.start);
    }
    return new Tensor(logits, [input.dims[0], input.dims[1], vocabulary]);
  }
}

/** The head graph's weight input holding the (V, C) head matrix. */
const HEAD_WEIGHT = "lm_head.weight";

/**
 * The head's feeds: its norm, and the head matrix whole (small vocabularies) or in slices of
 * HEAD_SLICE_ROWS rows, each a view of the weights' own array. A graph holding the head as an
 * initializer gets one slice with no weight.
 */
export function headFeedsOf(weights: readonly FedWeight[], config: DecoderConfig, sliceRows: number): HeadFeeds {
  const head = weights.find(({ name }) => name === HEAD_WEIGHT);
  const norm = feedsOf(weights.filter(({ name }) => name !== HEAD_WEIGHT));
  if (!head) return { norm, slices: [{ start: 0, weight: undefined }] };
  const vocabulary = config.vocabSize;
  const slices: HeadFeeds["slices"] = [];
  for (let start = 0; start < vocabulary; start += sliceRows) {
    const end = Math.min(vocabulary, start + sliceRows);
    const rows = weightRows(head.tensor, start, end); // a view of rows [start, end)
    if (feedsDecode([{ tensor: rows, fedAs: head.fedAs }])) {
      slices.push({ start, weight: () => weightFeed(rows, head.fedAs) });
    } else {
      const feed = weightFeed(rows, head.fedAs);
      slices.push({ start, weight: () => feed });
    }
  }
  return { norm, slices };
}


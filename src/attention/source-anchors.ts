/**
 * "Show me the code": where in this library each step of attention is computed.
 *
 * Each anchor names a file of src/attention and a marker, a piece of text found on exactly one line
 * of that file (for example `const rawScores = matmul(`). Line numbers are not stored: they change
 * whenever the file is edited, so `findAnchorLine` looks the marker up in the file's current text.
 * A test checks that every marker is present exactly once, so a rename cannot silently break a link.
 */

import type { StageName } from "./stage-trace";

/** Steps that have a line to show: the six stages, and the masks, padding and heads around them. */
export type SourceAnchorName =
  | StageName
  | "causalMask"
  | "paddingMask"
  | "leftPad"
  | "dropoutMask"
  | "splitHeads"
  | "repeatKeyValueHeads"
  | "cacheAppend";

export interface SourceAnchor {
  /** A file name in src/attention. */
  file: string;
  /** Text that occurs on exactly one line of the file. */
  marker: string;
  /** What the line does, for the link's tooltip. */
  description: string;
}

export const SOURCE_ANCHORS: Readonly<Record<SourceAnchorName, SourceAnchor>> = {
  rawScores: {
    file: "scaled-dot-product-attention.ts",
    marker: "const rawScores = matmul(",
    description: "raw scores: Q K^T",
  },
  scaledScores: {
    file: "scaled-dot-product-attention.ts",
    marker: "const scaledScores = scale(",
    description: "scaling by 1 / sqrt(hs)",
  },
  maskedScores: {
    file: "scaled-dot-product-attention.ts",
    marker: "const maskedScores = options.mask",
    description: "adding the mask (0 or -inf)",
  },
  weights: {
    file: "scaled-dot-product-attention.ts",
    marker: "const weights = softmax(maskedScores)",
    description: "softmax over the keys",
  },
  weightsAfterDropout: {
    file: "scaled-dot-product-attention.ts",
    marker: "const weightsAfterDropout = options.dropout",
    description: "dropout on the weights (training only)",
  },
  context: {
    file: "scaled-dot-product-attention.ts",
    marker: "const context = matmul(weightsAfterDropout, value)",
    description: "the weighted sum of V",
  },
  causalMask: {
    file: "masks.ts",
    marker: "export function causalMask(",
    description: "the causal mask: a query sees only earlier slots",
  },
  paddingMask: {
    file: "masks.ts",
    marker: "export function paddingMask(",
    description: "the padding mask: no query sees a pad",
  },
  leftPad: {
    file: "left-padding.ts",
    marker: "export function leftPad(",
    description: "left padding a batch",
  },
  dropoutMask: {
    file: "dropout.ts",
    marker: "export function dropoutMask(",
    description: "the seeded dropout mask, 0 or 1 / (1 - p)",
  },
  splitHeads: {
    file: "heads.ts",
    marker: "export function splitHeads(",
    description: "splitting the model width into heads",
  },
  repeatKeyValueHeads: {
    file: "grouped-query-attention.ts",
    marker: "export function repeatKeyValueHeads(",
    description: "sharing key/value heads among query heads (GQA, MQA)",
  },
  cacheAppend: {
    file: "kv-cache.ts",
    marker: "append(key: Tensor, value: Tensor): KeyValue {",
    description: "appending new keys and values to the KV cache",
  },
};

export const SOURCE_ANCHOR_NAMES = Object.keys(SOURCE_ANCHORS) as SourceAnchorName[];

export function isSourceAnchorName(value: unknown): value is SourceAnchorName {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(SOURCE_ANCHORS, value);
}

/** The 1-based line of `marker` in `text`; throws unless it is on exactly one line. */
export function findAnchorLine(text: string, anchor: SourceAnchor): number {
  const lines = text.split(/\r?\n/);
  const found = lines.flatMap((line, index) => (line.includes(anchor.marker) ? [index + 1] : []));
  if (found.length !== 1) {
    throw new Error(
      found.length === 0
        ? `src/attention/${anchor.file} no longer contains "${anchor.marker}"; update SOURCE_ANCHORS in source-anchors.ts`
        : `"${anchor.marker}" is on ${found.length} lines of src/attention/${anchor.file} (${found.join(", ")}); make the marker unique`,
    );
  }
  return found[0];
}

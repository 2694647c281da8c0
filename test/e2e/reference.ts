/**
 * What the panel should show, computed in Node without the extension: the same selected text,
 * tokenized the way the host does (src/extension/selection-tokens.ts with the model's
 * src/model/tokenizer.ts `TextTokenizer`, <|bos|> first) and run through the TypeScript decoder
 * (src/model/decoder-model.ts) on the bundled weights. The panel runs the same weights through
 * onnxruntime-web, so the two agree to float32 rounding (well inside the read-out's 4 decimals).
 *
 * Also what the editor should draw for a focused token: src/extension/weight-buckets.ts turns a row
 * of weights into decoration ranges and opacities; `expectedHighlights` maps them to lines/columns.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";

import type { Tensor } from "../../src/attention/tensor";
import { parseModelConfig, type DecoderConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { TextTokenizer } from "../../src/model/tokenizer";
import { tokensOfText, type SelectionTokens } from "../../src/extension/selection-tokens";
import { tokenBudget } from "../../src/extension/settings";
import { bucketOpacity, weightedRanges } from "../../src/extension/weight-buckets";
import type { ColorScale } from "../../src/protocol";
import { REPOSITORY_ROOT } from "./workbench";

export interface ReferenceRun {
  modelId: string;
  config: DecoderConfig;
  tokens: SelectionTokens;
  /** Per layer, (1, nh, T, T) softmax weights. */
  attentions: Tensor[];
  /** Weight from query `row` to key `col` in `layer`, query head `head`. */
  weight(layer: number, head: number, row: number, col: number): number;
  /** Row `row` of a head: weights over all T keys (0 after the query). */
  row(layer: number, head: number, row: number): number[];
}

/** Runs `modelId` (a folder of media/models) on `text`, a part of a document that starts at `documentStart`. */
export function referenceRun(modelId: string, text: string, documentStart: number, maxTokensSetting = 512): ReferenceRun {
  const folder = join(REPOSITORY_ROOT, "media", "models", modelId);
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), join(folder, "config.json"));
  const tokenizer = TextTokenizer.fromJson(readFileSync(join(folder, "tokenizer.json"), "utf8"), join(folder, "tokenizer.json"));
  const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
  const tokens = tokensOfText(text, tokenizer, tokenBudget(maxTokensSetting, config.maxPositionEmbeddings), documentStart);
  const { attentions } = model.forward([tokens.tokens.map((token) => token.id)]);
  const count = tokens.tokens.length;
  const heads = config.numAttentionHeads;
  const weight = (layer: number, head: number, row: number, col: number) => attentions[layer].data[((0 * heads + head) * count + row) * count + col];
  return {
    modelId,
    config,
    tokens,
    attentions,
    weight,
    row: (layer, head, row) => Array.from({ length: count }, (_, col) => weight(layer, head, row, col)),
  };
}

/** A decoration the editor should draw on one line: [startColumn, endColumn) and its background opacity. */
export interface ExpectedHighlight {
  tokenIndex: number;
  /** 0-based document line. */
  line: number;
  startColumn: number;
  endColumn: number;
  opacity: number;
  /** The opacity of the neighbouring bucket when the weight sits within rounding of a bucket edge. */
  alternativeOpacity?: number;
  /** The weight sits within rounding of the threshold below which nothing is drawn. */
  optional?: boolean;
}

/** Line and column (0-based) of a document offset. */
export function positionAt(documentText: string, offset: number): { line: number; column: number } {
  const before = documentText.slice(0, offset);
  const line = before.split("\n").length - 1;
  return { line, column: offset - (before.lastIndexOf("\n") + 1) };
}

/**
 * The key highlights the host draws when `weights` (the focused token's row) are shown: one per
 * weighted range that lies on a single line (ranges that cross a line break are left out: their
 * drawing depends on the editor's end-of-line rendering).
 */
export function expectedHighlights(documentText: string, run: ReferenceRun, weights: readonly number[], scale: ColorScale = "linear"): ExpectedHighlight[] {
  const expected: ExpectedHighlight[] = [];
  const buckets = 8;
  // A range at the drawing threshold (0.5 / buckets) may or may not be drawn, by float32 rounding.
  const threshold = 0.5 / buckets;
  for (const weighted of weightedRanges(run.tokens.documentRanges, weights, scale, buckets)) {
    const start = positionAt(documentText, weighted.range[0]);
    const end = positionAt(documentText, weighted.range[1]);
    if (start.line !== end.line) continue;
    const position = weighted.weight * buckets; // linear: the bucket is ceil(weight * 8)
    const nearEdge = scale === "linear" && Math.abs(position - Math.round(position)) < 1e-3;
    const alternative = nearEdge ? (Math.round(position) === weighted.bucket ? weighted.bucket + 1 : weighted.bucket - 1) : undefined;
    expected.push({
      tokenIndex: weighted.tokenIndex,
      line: start.line,
      startColumn: start.column,
      endColumn: end.column,
      opacity: bucketOpacity(weighted.bucket, buckets),
      ...(alternative !== undefined && alternative >= 1 && alternative <= buckets ? { alternativeOpacity: bucketOpacity(alternative, buckets) } : {}),
      ...(scale === "linear" && Math.abs(weighted.weight - threshold) < 1e-4 ? { optional: true } : {}),
    });
  }
  return expected;
}

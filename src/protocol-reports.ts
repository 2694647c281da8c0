/**
 * What the page reports to the host, by kind (`PanelReport` in a `report` message, protocol.ts):
 * the run's summary, a comparison's, a decoding step's, and what the stages and batch modes computed.
 * The host's commands resolve to these (src/extension/command-results.ts). Imported through protocol.ts.
 */

import type { DecodeAction, MapPrecision, TokenInfo } from "./protocol-types";

/** What the page reports on a request, by kind. */
export type PanelReport =
  /** The run: the maps are on screen. */
  | { kind: "run"; summary: RunSummary }
  /** Compare mode ran the request's tokens through two models. */
  | { kind: "comparison"; summary: ComparisonSummary }
  /** Decode mode's decoding changed: the prefill, a step, back, reset. */
  | { kind: "decodeStep"; step: DecodeStepSummary }
  /** Decode mode stopped or refused an action (the context is full, a failure); `message` says why and what to do. */
  | { kind: "decodeStopped"; message: string }
  /** Stages or batch mode computed (or could not compute) what it shows. */
  | { kind: "learning"; report: LearningReport }
  /**
   * The run, or the comparison (model B missing or not loadable, shapes that do not align), could
   * not be computed; `message` says what and what to do.
   */
  | { kind: "failed"; of: "run" | "comparison"; message: string };

/** The model ran: which backend, how long, and the size of what was computed. */
export interface RunSummary {
  modelId: string;
  backend: "webgpu" | "wasm";
  /** Why the backend is not the one asked for, if it is not. */
  fallbackReason?: string;
  milliseconds: number;
  layers: number;
  heads: number;
  tokens: number;
  /** How the panel keeps the maps (the host's choice for the memory budget). */
  mapPrecision: MapPrecision;
  /** How well the model knows the text: its mean next-token loss in nats per token (absent for a single token). */
  meanLoss?: number;
}

/**
 * How compare mode pairs the heads of model B with those of model A, layer by layer: "index", head h
 * with head h (right when B was converted from A, which keeps the query heads in place); "bestMatch",
 * each head of A with the head of B that attends most alike, one to one (webview/compare/head-alignment.ts).
 */
export type HeadAlignment = "index" | "bestMatch";

/** Head `headA` of model A compared with head `headB` of model B: their mean |A - B|. */
export interface HeadPair {
  headA: number;
  headB: number;
  meanDifference: number;
}

/** Both models' facts and the per-layer summary of |A - B|. */
export interface ComparisonSummary {
  /** One entry per model, A then B. */
  models: [ComparedModelSummary, ComparedModelSummary];
  /** Mean over heads, queries and keys of |A - B| per layer, with the heads paired as `headAlignment` says. */
  meanDifferenceByLayer: number[];
  /** The pairing of the heads the panel shows. */
  headAlignment: HeadAlignment;
  /** Per layer, the pairs shown, one per head of A in order: headPairs[layer][headA]. */
  headPairs: HeadPair[][];
  /** Mean |A - B| per layer with the heads paired by index, and by best match (whichever is shown). */
  meanDifferenceByIndex: number[];
  meanDifferenceByBestMatch: number[];
  /** KV cache bytes of B / KV cache bytes of A for this text. */
  kvBytesRatio: number;
}

// ---------------------------------------------------------------------------------------------
// Stages and batch modes (webview/stages, webview/batch; the host side is extension/learning-host.ts)

/** What the stages view selects first; every field optional (a prepared example sets some). */
export interface StagesChoice {
  layer?: number;
  head?: number;
  /** The query token (index into the request's tokens). */
  query?: number;
  /** The key whose cell the formulas substitute. */
  key?: number;
  /** Dropout rate shown (training only), in [0, 1); 0: none. */
  dropoutRate?: number;
  dropoutSeed?: number;
  /** Scroll to this part of the view. */
  section?: "stages" | "scaling";
}

/** One selected line of a batch, tokenized on its own. */
export interface BatchLine {
  /** The line's text. */
  text: string;
  /** 1-based line number in its document. */
  lineNumber: number;
  /** Its tokens, <|bos|> first; offsets index into `text`. */
  tokens: TokenInfo[];
}

export interface LearningRequest {
  stages?: StagesChoice;
  /** Batch mode: the lines and the pad token id, or why the selected lines cannot form a batch. */
  batch?: { lines: BatchLine[]; padTokenId: number } | { error: string };
}

/** One (layer, head, query) of the stages view, with the numbers it shows (JSON: -Infinity as null). */
export interface StagesReport {
  mode: "stages";
  modelId: string;
  layer: number;
  head: number;
  query: number;
  key: number;
  dropoutRate: number;
  dropoutSeed: number;
  tokens: number;
  /** The selected cell's formulas with the numbers substituted, in stage order. */
  formulas: string[];
  /** Standard deviation of the allowed scores, and mean softmax entropy, without and with 1 / sqrt(hs). */
  scaling: { unscaledSpread: number; scaledSpread: number; unscaledEntropy: number; scaledEntropy: number };
  /** Which implementation computed the numbers. */
  computedBy: string;
}

/** The batch view's batch, masks and next-token reads. */
export interface BatchReport {
  mode: "batch";
  modelId: string;
  lines: number;
  /** (B, S) ids, pads first. */
  inputIds: number[][];
  /** (B, S) 1 real, 0 pad. */
  tokenMask: number[][];
  /** (B, S, S) true where the combined causal + padding mask blocks the pair (it adds -inf). */
  blocked: boolean[][][];
  /** Per row: the largest weight any layer and head gives a pad key or from a pad query (0 expected). */
  maxPadWeight: number[];
  /** Per row: the next token read at the last slot with left padding, with right padding, and alone. */
  nextTokens: { left: number; right: number; alone: number }[];
  computedBy: string;
}

export type LearningReport = StagesReport | BatchReport | { mode: "stages" | "batch"; error: string };

/** One model of a comparison, as reported in a comparison report. */
export interface ComparedModelSummary {
  modelId: string;
  backend: "webgpu" | "wasm";
  milliseconds: number;
  layers: number;
  heads: number;
  keyValueHeads: number;
  tokens: number;
  /** Bytes of the present keys and values the decoder returned for these tokens (float32). */
  kvBytes: number;
  /** kvBytes / tokens. */
  kvBytesPerToken: number;
  /** Mean next-token loss on the tokens, nats per token (absent for a single token). */
  meanLoss?: number;
}

/** One state of decode mode, as reported in a decoding step report. */
export interface DecodeStepSummary {
  modelId: string;
  backend: "webgpu" | "wasm";
  /** What led to this state. */
  action: DecodeAction | "prefill";
  /** 0 after the prefill, n after the n-th generated token. */
  index: number;
  /** Ids of the prompt (<|bos|> included). */
  promptIds: number[];
  /** Ids generated so far, in order. */
  generatedIds: number[];
  /** Cached slots (prompt + generated). */
  cacheLength: number;
  /** Bytes of every layer's cached keys and values, read off the tensors. */
  cacheBytes: number;
  /** Recompute check of this step: max |cached - full recompute| (absent for the prefill). */
  logitsMaxDifference?: number;
  attentionMaxDifference?: number;
  /** Wall-clock time of the step, in milliseconds. */
  milliseconds: number;
}

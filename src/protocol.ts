/**
 * The messages between the extension host and the Attention Lens webview, imported by both sides.
 *
 * The host owns the editor: it reads the selection, tokenizes it with the model's tokenizer, maps
 * every token to its range in the document, and draws editor decorations. The webview owns the
 * model: it loads the weights, runs the decoder with onnxruntime-web (WebGPU or wasm) and draws the
 * heatmaps. Every request carries a `requestId`; a newer request supersedes an older one, and a
 * reply for an older request is ignored.
 *
 * Token indices count the tokens sent in `showAttention`, the leading <|bos|> included (index 0).
 */

import type { ModelHeadMetrics } from "./model/head-metrics";

/** Where a model was found: shipped with the extension, a folder of the person's, or the Hugging Face cache. */
export type ModelSource = "bundled" | "folder" | "hub-cache";

/** One model (bundled or the person's own), as the webview needs it to load the weights. */
export interface ModelDescriptor {
  /**
   * Stable id: the folder name of a bundled model ("attention-lens-gqa"), the repository id of a
   * model in the Hugging Face cache ("HuggingFaceTB/SmolLM2-135M"), the absolute path of a folder.
   */
  id: string;
  /** Shown in the model picker, e.g. "GQA (8 query heads, 2 key/value heads)". */
  label: string;
  source?: ModelSource;
  /** config.json's model_type: "llama", "mistral", "qwen2", "qwen3", "gpt2". */
  family?: string;
  /** Webview URI of config.json. */
  configUri: string;
  /** Webview URI of model.safetensors, or of model.safetensors.index.json when the weights are sharded. */
  weightsUri: string;
  /** Webview URIs of the shards, in the index's order; absent for a single model.safetensors. */
  weightShardUris?: string[];
  /**
   * The weight files (model.safetensors, or the shards in order) as the extension host reads them
   * for the panel, in pieces (`readModelFile`), with their sizes: a person's model is too large for
   * the webview's resource loading, which gives up after 30 s and holds a whole file in memory
   * several times. Absent for the bundled models, which load as resources.
   */
  weightFiles?: { path: string; bytes: number }[];
  /** Webview URI of tokenizer.json (decode mode shows generated ids as text with it). */
  tokenizerUri?: string;
  /** Webview URI of tokenizer_config.json, when the folder has one (special tokens, add_bos_token). */
  tokenizerConfigUri?: string;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  /** Context length: the most tokens one run may hold. */
  maxTokens: number;
  /** Per layer, the sliding window (keys a query sees, its own included) or null for full attention. */
  slidingWindows?: (number | null)[];
  /**
   * What each head does, measured (head-metrics.json, metrics[layer][head]: previous-token,
   * induction, sink mass, entropy); absent when the model folder has no valid file.
   */
  headMetrics?: ModelHeadMetrics;
  /**
   * Set for a model whose key/value heads the panel groups itself (src/converted-model.ts): it reads
   * the files of `baseId` and converts them once loaded, without training.
   */
  conversion?: { baseId: string; baseKeyValueHeads: number; groups: number; method: "mean" | "first" };
  /** Why `headMetrics` is absent (missing or invalid head-metrics.json), for the panel. */
  headMetricsProblem?: string;
}

/** One token of the selection. */
export interface TokenInfo {
  id: number;
  /** The token's text for labels (special tokens as written, e.g. "<|bos|>"). */
  text: string;
  /** UTF-16 offsets into the `text` of showAttention; [0, 0] for <|bos|>. */
  start: number;
  end: number;
  /** A special token of the tokenizer (BOS, end-of-text, a chat marker), added or written in the text. */
  special?: boolean;
  /**
   * The token's bytes, when they are only part of a character (a byte-level piece of an emoji, of
   * CJK or Arabic text): its `text` is then U+FFFD, and labels show the bytes ("<F0 9F>").
   */
  bytes?: number[];
}

/**
 * What the panel shows, one tab each (webview/modes.ts lists them in order): "attention" the maps
 * of one model, "compare" two models side by side on the same tokens, "decode" cached decoding
 * step by step from the text as prompt, with the KV cache.
 */
export type LensMode = "attention" | "compare" | "decode" | "stages" | "batch";

/** Decode mode's controls: one token more, one fewer, back to the prompt, generate until paused. */
export type DecodeAction = "step" | "back" | "reset" | "play" | "pause";

export type BackendSetting = "auto" | "webgpu" | "wasm";

/**
 * How the panel keeps attention maps: float32, float16, or 8 bits per cell with one float32 scale
 * per row (the row's largest weight is 255). The host picks the finest that fits the memory budget.
 */
export type MapPrecision = "float32" | "float16" | "uint8";
export type ColorScale = "linear" | "sqrt" | "log";

export interface ViewSettings {
  backend: BackendSetting;
  colorScale: ColorScale;
}

/** Where the attention of the focused token is drawn from. */
export interface HeadSelection {
  layer: number;
  /** A query head, or "mean" for the average over heads. */
  head: number | "mean";
}

/**
 * What the Attention tab's overview, head view and token view draw (webview/attention/attention-weighting.ts):
 * "attention", the softmax weights a^h_ij; "value-weighted", a^h_ij · ‖W_O^h v_j‖ per head (Kobayashi
 * et al. 2020; src/attention/value-weighted-attention.ts); "rollout", the head-averaged,
 * residual-adjusted maps multiplied through layers 0..l (Abnar and Zuidema 2020; src/attention/attention-rollout.ts).
 */
export type AttentionWeighting = "attention" | "value-weighted" | "rollout";

/**
 * What an export saves (the `attentionLens.export...` commands, the views' export buttons): a
 * picture of a view as PNG (at 2x) or SVG, or the run's attention maps as JSON (docs/maps-schema.md).
 */
export type ExportFormat = "png" | "svg" | "maps-json";

/**
 * The views of the panel that export as pictures (webview/export/view-exporter.ts): the head view,
 * the layer x head overview, compare mode's |A - B| of the selected pair and its overview, decode
 * mode's KV cache of the layer shown.
 */
export type ExportView = "head" | "overview" | "difference" | "difference-overview" | "cache";

/** Every `ExportView`, for checking a command's argument. */
export const EXPORT_VIEWS: readonly ExportView[] = ["head", "overview", "difference", "difference-overview", "cache"];

// ---------------------------------------------------------------------------------------------
// Host -> webview

export type HostToWebviewMessage =
  /** Run the model on these tokens and show the attention (replaces any earlier request). */
  | {
      type: "showAttention";
      requestId: number;
      model: ModelDescriptor;
      /** Every bundled model, for the picker. */
      models: ModelDescriptor[];
      /** The selected text the tokens index into ("\r\n" already turned into "\n", as the model was trained). */
      text: string;
      /** Where the text came from, for the panel's title line, e.g. "main.ts:12-18". */
      source: string;
      tokens: TokenInfo[];
      /**
       * Set when the selection was cut to the model's context. Both counts include <|bos|>. A very
       * long selection is cut before it is fully tokenized: then the total is estimated from the
       * part that was tokenized, and `totalIsEstimate` is true ("about N tokens").
       */
      truncation?: { keptTokens: number; totalTokens: number; totalIsEstimate?: boolean };
      /** Set when the selection was empty and the current line was used instead. */
      usedCurrentLine?: boolean;
      settings: ViewSettings;
      /** How the panel keeps this run's attention maps: the finest that fits the memory budget (default float32). */
      mapPrecision?: MapPrecision;
      /** Prefix (ending in "/") from which onnxruntime-web loads its .wasm/.mjs files. */
      wasmPaths: string;
      /** Open the panel in this mode; absent: the panel stays in the mode it is in. */
      mode?: LensMode;
      /**
       * Compare mode: the second model (model B) the host chose (Compare Models' argument or the
       * attentionLens.compareWith setting); absent: the panel picks one.
       */
      compareWith?: string;
      /**
       * Ids of the models whose tokenizer.json is identical to `model`'s (checked by the host): only
       * these may run on `tokens` in compare mode. `model` itself is in the list.
       */
      comparableModels?: string[];
      /** Stages and batch modes: a prepared example's choices, and the batch's lines (see LearningRequest). */
      learning?: LearningRequest;
      /**
       * The document the text was taken from (its URI as `Uri.toString()` writes it) and the text's
       * start in it (a UTF-16 offset in the document's own line endings). The panel saves both with
       * its state, so that after a reload the editor can follow the panel again. Absent for a text
       * that is in no open document.
       */
      documentUri?: string;
      documentStart?: number;
    }
  /** The editor cursor moved onto a token of the shown text (null: off the text). */
  | { type: "focusToken"; requestId: number; tokenIndex: number | null }
  /** A setting changed in VS Code. */
  | { type: "settingsChanged"; settings: ViewSettings }
  /** The panel is closing or a new request supersedes this one: stop work for it. */
  | { type: "cancel"; requestId: number }
  /** Decode mode: do `action` on the decoding of request `requestId` (a command or a test). */
  | { type: "decodeControl"; requestId: number; action: DecodeAction }
  /** The bytes a `readModelFile` asked for, or why they cannot be read. */
  | { type: "modelFileBytes"; readId: number; bytes?: Uint8Array; error?: string }
  /** The test hook: tell what the page shows for request `requestId` (answered with `observed`). */
  | { type: "observe"; requestId: number; request: ObservationRequest }
  /**
   * An export command: a picture of `view` (absent: the main view of the mode on screen) or the
   * run's maps, answered with `export` carrying the same `exportId`.
   */
  | { type: "requestExport"; exportId: number; format: ExportFormat; view?: ExportView };

// ---------------------------------------------------------------------------------------------
// Webview -> host

export type RunStage = "loading-model" | "building-graph" | "creating-session" | "running" | "done";

export type WebviewToHostMessage =
  /** The webview's script has started and listens (sent once per page load). */
  | { type: "ready" }
  /** Progress of a request, for the progress indicator. */
  | { type: "progress"; requestId: number; stage: RunStage; message: string }
  /**
   * What the page computed on a request, or why it could not: the one message the host's commands
   * wait for (src/extension/request-tracker.ts), a `PanelReport` of one kind.
   */
  | { type: "report"; requestId: number; report: PanelReport }
  /** The person hovers (or locks) a token in the panel: highlight it, and draw its attention. */
  | {
      type: "tokenFocused";
      requestId: number;
      tokenIndex: number | null;
      locked: boolean;
      selection: HeadSelection;
      /** Weight from the focused token (query) to every token (key), in token order. */
      weights: number[];
    }
  /** The person picked another model in the panel: the host re-tokenizes and sends showAttention. */
  | { type: "selectModel"; modelId: string }
  /** Read `length` bytes at `offset` of a weight file a model descriptor lists (`weightFiles`). */
  | { type: "readModelFile"; readId: number; path: string; offset: number; length: number }
  /** A line for the output channel. */
  | { type: "log"; level: "info" | "warn" | "error"; message: string }
  /** "Show me the code": open src/attention/<file> at the line of this anchor (src/attention/source-anchors.ts). */
  | { type: "openSource"; anchor: string }
  /** The test hook's answer to `observe` (see `Observation`). */
  | { type: "observed"; requestId: number; observation: Observation }
  /**
   * A file to save (`PanelExport`): a view's picture or the run's maps, asked for by a view's export
   * button (no `exportId`) or by `requestExport` (its `exportId`); or why there is nothing to export.
   * The host asks where with the save dialog (unless the command named a file) and writes it.
   */
  | { type: "export"; exportId?: number; export: PanelExport };

/** What the page exports, by kind. */
export type PanelExport =
  /** A view's picture: PNG bytes at 2x (`width` x `height` CSS px, so 2 x `width` device px wide) or SVG text as UTF-8 bytes. */
  | { kind: "image"; format: "png" | "svg"; view: ExportView; fileName: string; bytes: Uint8Array; width: number; height: number }
  /** The maps of the run on screen; the host writes them as the JSON of docs/maps-schema.md. */
  | { kind: "maps"; fileName: string; maps: ExportedMaps }
  /** Nothing to export (no run on screen, a mode without pictures); `message` says what to do. */
  | { kind: "failed"; message: string };

/** The run on screen as the JSON export needs it; the host adds the model's description from its config.json. */
export interface ExportedMaps {
  modelId: string;
  backend: "webgpu" | "wasm";
  /** How the panel kept the maps: the values are exact for float32, rounded for float16 and uint8 (see MapPrecision). */
  mapPrecision: MapPrecision;
  /** What the tokens' offsets index into, and where it came from ("main.ts:12-18"). */
  text: string;
  source: string;
  documentUri?: string;
  tokens: TokenInfo[];
  truncation?: { keptTokens: number; totalTokens: number; totalIsEstimate?: boolean };
  /** Query heads per layer (nh). */
  heads: number;
  /** Per layer, (nh, T, T) row-major float32: layers[l][(h * T + q) * T + k] is the weight of query q on key k. */
  layers: Float32Array[];
}

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
// The test hook: what tests read off the page besides the reports. Only an extension host running
// tests asks (src/extension/test-hook.ts, exported by activate in test mode); the page answers from
// what it shows (webview/test-hook.ts).

export type ObservationRequest =
  /** A head's (T, T) map of the run on screen, as query rows. */
  | { what: "headWeights"; layer: number; head: number }
  /** Decode mode's cache: a hash of its bytes, and the newest query row per layer and head. */
  | { what: "decodeState" }
  /** Stages mode: the selected query's row of each stage. */
  | { what: "stageRows" }
  /** The map the head view draws now, in the weighting chosen (attention, value-weighted, rollout). */
  | { what: "shownMap" };

export type Observation =
  | { what: "headWeights"; rows: number[][] }
  /** `cacheHash`: FNV-1a (hex) of every cached key and value (equal hashes, equal caches); `attentionRows[layer][head][key]`. */
  | { what: "decodeState"; cacheHash: string; attentionRows: number[][][] }
  /** rawScores, scaledScores, mask, maskedScores, weights, weightsAfterDropout, context (JSON: -Infinity as null). */
  | { what: "stageRows"; rows: Record<string, (number | null)[]> }
  /**
   * `rows`: what the head view colours (value-weighted: each row's shares of its sum); `raw`: the
   * value-weighted ‖a·vW_O‖ before that division (absent for the other weightings); `title`: the view's heading.
   */
  | { what: "shownMap"; weighting: AttentionWeighting; selection: HeadSelection; title: string; rows: number[][]; raw?: number[][] }
  /** The page shows nothing to observe of that kind. */
  | { what: ObservationRequest["what"]; error: string };

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

/** The state VS Code keeps for the panel across reloads (WebviewPanelSerializer). */
export interface PanelState {
  modelId: string;
  text: string;
  source: string;
  selection: HeadSelection;
  lockedToken: number | null;
  /** The panel's mode (absent in states saved before modes existed: "attention"). */
  mode?: LensMode;
  /** Compare mode's model B. */
  compareWith?: string;
  /** Where `text` came from, as in `showAttention` (absent in older states and for a text of no document). */
  documentUri?: string;
  documentStart?: number;
  /** Whether the person picked the selected head (false: it is the run's first head, picked again for a new text). */
  selectionChosen?: boolean;
  /** The panel's colour scale, when the person changed it in the panel. */
  colorScale?: ColorScale;
  /** Sort and filter of the heads by a metric, per mode (webview/components/head-metric-order.ts checks them). */
  headMetricViews?: { attention?: unknown; compare?: unknown };
  /** Compare mode's pairing of the heads, when the person changed it (absent: by index). */
  headAlignment?: HeadAlignment;
  /** What the Attention tab draws, when the person chose another weighting than the attention weights. */
  attentionWeighting?: AttentionWeighting;
}

/** Exhaustiveness check for switches over message unions. */
export function assertNever(value: never, what = "message"): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

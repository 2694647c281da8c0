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

/** One bundled model, as the webview needs it to load the weights. */
export interface ModelDescriptor {
  /** Stable id, e.g. "attention-lens-gqa". */
  id: string;
  /** Shown in the model picker, e.g. "GQA (8 query heads, 2 key/value heads)". */
  label: string;
  /** Webview URI of config.json. */
  configUri: string;
  /** Webview URI of model.safetensors. */
  weightsUri: string;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  /** Context length: the most tokens one run may hold. */
  maxTokens: number;
}

/** One token of the selection. */
export interface TokenInfo {
  id: number;
  /** The token's text for labels (special tokens as written, e.g. "<|bos|>"). */
  text: string;
  /** UTF-16 offsets into the `text` of showAttention; [0, 0] for <|bos|>. */
  start: number;
  end: number;
}

export type BackendSetting = "auto" | "webgpu" | "wasm";
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
      /** Prefix (ending in "/") from which onnxruntime-web loads its .wasm/.mjs files. */
      wasmPaths: string;
    }
  /** The editor cursor moved onto a token of the shown text (null: off the text). */
  | { type: "focusToken"; requestId: number; tokenIndex: number | null }
  /** A setting changed in VS Code. */
  | { type: "settingsChanged"; settings: ViewSettings }
  /** The panel is closing or a new request supersedes this one: stop work for it. */
  | { type: "cancel"; requestId: number };

// ---------------------------------------------------------------------------------------------
// Webview -> host

export type RunStage = "loading-model" | "building-graph" | "creating-session" | "running" | "done";

export type WebviewToHostMessage =
  /** The webview's script has started and listens (sent once per page load). */
  | { type: "ready" }
  /** Progress of a request, for the progress indicator. */
  | { type: "progress"; requestId: number; stage: RunStage; message: string }
  /** The model ran: which backend, how long, and a summary of what was computed. */
  | {
      type: "attentionComputed";
      requestId: number;
      modelId: string;
      backend: "webgpu" | "wasm";
      /** Why the backend is not the one asked for, if it is not. */
      fallbackReason?: string;
      milliseconds: number;
      layers: number;
      heads: number;
      tokens: number;
      /** Attention of layer 0, head 0, as rows (query) of weights over keys: for tests and exports. */
      firstHeadWeights: number[][];
    }
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
  /** Something went wrong; `message` says what and what to do. */
  | { type: "error"; requestId: number | null; message: string }
  /** A line for the output channel. */
  | { type: "log"; level: "info" | "warn" | "error"; message: string };

/** The state VS Code keeps for the panel across reloads (WebviewPanelSerializer). */
export interface PanelState {
  modelId: string;
  text: string;
  source: string;
  selection: HeadSelection;
  lockedToken: number | null;
}

/** Exhaustiveness check for switches over message unions. */
export function assertNever(value: never, what = "message"): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

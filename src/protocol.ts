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
 *
 * The names both sides use (models, tokens, modes, choices) are in protocol-types.ts, what the page
 * reports in protocol-reports.ts; both are re-exported here, so everyone imports this file.
 */

export * from "./protocol-types";
export * from "./protocol-reports";

import type { AttentionWeighting, ColorScale, DecodeAction, ExportFormat, ExportView, HeadSelection, LensMode, MapPrecision, ModelBMemoryFit, ModelDescriptor, TokenInfo, ViewSettings } from "./protocol-types";
import type { HeadAlignment, LearningRequest, PanelReport } from "./protocol-reports";

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
      /**
       * Compare mode: for each model B the panel offers (the comparable models but `model`, and
       * `model`'s conversions), whether it fits the memory budget beside `model` at these tokens and
       * `mapPrecision`. The panel marks those that do not and does not run them.
       */
      modelBMemory?: ModelBMemoryFit[];
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

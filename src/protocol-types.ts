/**
 * The vocabulary of the messages between the extension host and the webview (protocol.ts): the
 * models, tokens, modes and choices both sides name. Imported through protocol.ts.
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

/**
 * Whether compare mode's model B fits the memory budget beside the request's model A, as the host
 * plans it (src/extension/model-memory.ts, planComparisonMemory) at the request's tokens and map precision.
 */
export interface ModelBMemoryFit {
  modelId: string;
  fits: boolean;
  /** One sentence with both models' parts and the budget; when too large, what to do. */
  reason: string;
}

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
 * the layer x head overview, the lines view, compare mode's |A - B| of the selected pair and its
 * overview, decode mode's KV cache of the layer shown.
 */
export type ExportView = "head" | "overview" | "lines" | "difference" | "difference-overview" | "cache";

/** Every `ExportView`, for checking a command's argument. */
export const EXPORT_VIEWS: readonly ExportView[] = ["head", "overview", "lines", "difference", "difference-overview", "cache"];

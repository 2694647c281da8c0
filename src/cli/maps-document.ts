/**
 * The JSON document `attention-lens maps` writes (docs/maps-schema.md describes it for readers),
 * and writing it to a file row by row, so that maps of hundreds of millions of weights never have
 * to exist as one string. The panel's export (Attention Lens: Export Attention Maps as JSON,
 * src/extension/maps-export.ts) writes the same document from the maps on screen with
 * `mapsDocumentChunks`, and `readMapsDocument` reads either back.
 *
 * Key order in the file: schemaVersion, model, backend, input, text, tokens, truncated,
 * mapPrecision, lastLogits (with --logits), attentions last (the big one).
 *
 * Shape legend: L layers, nh query heads, nkv key/value heads, T tokens, V vocabulary.
 */

import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import type { DecoderConfig, ModelFamily } from "../model/config";
import type { MapPrecision } from "../protocol";
import type { MapsInputSource } from "./maps-arguments";
import type { MapsTokens, TokenRecord } from "./maps-tokens";
import type { MapsBackend } from "./prefill-decoders";

/** Bumped when a field changes meaning or is removed; adding fields keeps the version. */
export const MAPS_SCHEMA_VERSION = 1;

export interface MapsModelDescription {
  id: string;
  /** The folder the model was read from. */
  folder: string;
  family: ModelFamily;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  /** Per query head h, the K/V head it reads: floor(h / (nh / nkv)). Length nh. */
  keyValueHeadOfQueryHead: number[];
  vocabSize: number;
  /** max_position_embeddings: the most tokens one run may hold. */
  contextLength: number;
  /** Per layer, the sliding window (keys a query sees, itself included), or null for all earlier keys. */
  slidingWindows: (number | null)[];
}

/** Where the tokens came from: the command line's --text file or --ids, or the text the panel showed ("main.ts:12-18"). */
export type MapsInput = { kind: "text"; file: string } | { kind: "ids" } | { kind: "panel"; source: string; document: string | null };

export interface MapsDocumentHead {
  schemaVersion: typeof MAPS_SCHEMA_VERSION;
  model: MapsModelDescription;
  /** What ran: the command line's "wasm" or "cpu", the panel's "wasm" or "webgpu". */
  backend: MapsBackend | "webgpu";
  input: MapsInput;
  /** What tokens[i].start/end index into; null for --ids without a tokenizer. */
  text: string | null;
  tokens: TokenRecord[];
  /** Set when --max-tokens (or the panel's token limit) cut the input: how many tokens it had and how many were kept. */
  truncated: { totalTokens: number; keptTokens: number } | null;
  /**
   * How the weights were kept before they were written: "float32" (exact: the command line always,
   * the panel when the maps fit its memory budget), "float16" (3 significant digits), "uint8" (8 bits
   * per weight and a float32 scale per row: within 0.2% of the row's largest weight).
   */
  mapPrecision: MapPrecision;
}

/** One layer's maps, (1, nh, T, T) (a library Tensor is one), or the logits (1, T, V). */
export interface MapsTensor {
  shape: readonly number[];
  data: Float32Array;
}

/** The whole document, as `readMapsDocument` gives it back. */
export interface MapsDocument extends MapsDocumentHead {
  lastLogits?: number[];
  /** attentions[layer][head][query][key]. */
  attentions: number[][][][];
}

/** floor(h / (nh / nkv)) for every query head h: the GQA group picture [K0, K0, K1, K1], not [K0, K1, K0, K1]. */
export function keyValueHeadOfQueryHead(numHeads: number, numKeyValueHeads: number): number[] {
  if (numHeads % numKeyValueHeads !== 0) {
    throw new RangeError(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKeyValueHeads})`);
  }
  const groupSize = numHeads / numKeyValueHeads;
  return Array.from({ length: numHeads }, (_, head) => Math.floor(head / groupSize));
}

export function describeModel(id: string, folder: string, config: DecoderConfig): MapsModelDescription {
  return {
    id,
    folder,
    family: config.family,
    numLayers: config.numHiddenLayers,
    numHeads: config.numAttentionHeads,
    numKeyValueHeads: config.numKeyValueHeads,
    headDim: config.headDim,
    keyValueHeadOfQueryHead: keyValueHeadOfQueryHead(config.numAttentionHeads, config.numKeyValueHeads),
    vocabSize: config.vocabSize,
    contextLength: config.maxPositionEmbeddings,
    slidingWindows: [...config.slidingWindows],
  };
}

export function documentHead(
  model: MapsModelDescription,
  backend: MapsBackend,
  input: MapsInputSource,
  tokens: MapsTokens,
): MapsDocumentHead {
  return {
    schemaVersion: MAPS_SCHEMA_VERSION,
    model,
    backend,
    input: input.kind === "text" ? { kind: "text", file: input.file } : { kind: "ids" },
    text: tokens.text,
    tokens: tokens.tokens,
    truncated: tokens.totalTokens > tokens.tokens.length ? { totalTokens: tokens.totalTokens, keptTokens: tokens.tokens.length } : null,
    mapPrecision: "float32",
  };
}

/** The head's fields, one per line (and one token per line), without the closing brace. */
function headJson(head: MapsDocumentHead): string {
  const fields = Object.entries(head).map(([key, value]) => {
    if (key !== "tokens") return `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`;
    const tokens = (value as TokenRecord[]).map((token) => `    ${JSON.stringify(token)}`);
    return `  "tokens": [${tokens.length > 0 ? `\n${tokens.join(",\n")}\n  ` : ""}]`;
  });
  return `{\n${fields.join(",\n")}`;
}

/** A float32 row as JSON numbers (each float32 printed as the double it is: exact, 0 stays 0). */
function rowJson(row: Float32Array): string {
  return JSON.stringify(Array.from(row));
}

/**
 * The document's text in pieces, in file order (one piece per query row of the maps), so that a
 * writer never holds the whole text as one string.
 *
 * `attentions` are the per-layer (1, nh, T, T) maps; `logits` (1, T, V) is given only with --logits.
 */
export function* mapsDocumentChunks(head: MapsDocumentHead, attentions: readonly MapsTensor[], logits: MapsTensor | undefined): Generator<string> {
  yield headJson(head);
  if (logits) {
    const [, length, vocabulary] = logits.shape; // (1, T, V)
    yield `,\n  "lastLogits": ${rowJson(logits.data.subarray((length - 1) * vocabulary, length * vocabulary))}`;
  }
  yield `,\n  "attentions": [`;
  for (let layer = 0; layer < attentions.length; layer++) {
    const layerMaps = attentions[layer];
    const [, heads, queries, keys] = layerMaps.shape; // (1, nh, T, T)
    if (layerMaps.data.length !== heads * queries * keys) throw new Error(`layer ${layer}'s maps hold ${layerMaps.data.length} numbers; shape (${layerMaps.shape.join(", ")}) needs ${heads * queries * keys}`);
    yield `${layer === 0 ? "" : ","}\n    [`;
    for (let head = 0; head < heads; head++) {
      yield `${head === 0 ? "" : ","}\n      [`;
      for (let query = 0; query < queries; query++) {
        const offset = (head * queries + query) * keys;
        yield `${query === 0 ? "\n        " : ",\n        "}${rowJson(layerMaps.data.subarray(offset, offset + keys))}`;
      }
      yield "\n      ]";
    }
    yield "\n    ]";
  }
  yield "\n  ]\n}\n";
}

/**
 * Writes the document to `path`: first to `<path>.partial`, renamed when complete, so a failed run
 * never leaves a truncated file under the name asked for.
 */
export function writeMapsDocument(path: string, head: MapsDocumentHead, attentions: readonly MapsTensor[], logits: MapsTensor | undefined): void {
  const partial = `${path}.partial`;
  const descriptor = openSync(partial, "w");
  try {
    for (const chunk of mapsDocumentChunks(head, attentions, logits)) writeSync(descriptor, chunk);
  } catch (error) {
    closeSync(descriptor);
    rmSync(partial, { force: true });
    throw error;
  }
  closeSync(descriptor);
  renameSync(partial, path);
}

/**
 * Reads a maps document (from `attention-lens maps` or the panel's export) and checks what a script
 * relies on: the schema version, and attentions of shape (L, nh, T, T) for the model's L and nh and
 * the tokens' T. Throws, naming the field, when the text is not such a document.
 */
export function readMapsDocument(json: string): MapsDocument {
  const document = JSON.parse(json) as Partial<MapsDocument> | null;
  const fail = (what: string): never => {
    throw new Error(`not an Attention Lens maps document (docs/maps-schema.md): ${what}`);
  };
  if (typeof document !== "object" || document === null) return fail("the JSON is not an object");
  if (document.schemaVersion !== MAPS_SCHEMA_VERSION) return fail(`schemaVersion is ${JSON.stringify(document.schemaVersion)}, this reader knows ${MAPS_SCHEMA_VERSION}`);
  const { model, tokens, attentions } = document;
  if (!model || !Number.isInteger(model.numLayers) || !Number.isInteger(model.numHeads)) return fail("model.numLayers and model.numHeads are missing");
  if (!Array.isArray(tokens)) return fail("tokens is not a list");
  if (!Array.isArray(attentions) || attentions.length !== model.numLayers) return fail(`attentions has ${Array.isArray(attentions) ? attentions.length : "no"} layers, the model ${model.numLayers}`);
  const length = tokens.length;
  attentions.forEach((layer, index) => {
    if (!Array.isArray(layer) || layer.length !== model.numHeads) fail(`attentions[${index}] has ${Array.isArray(layer) ? layer.length : "no"} heads, the model ${model.numHeads}`);
    layer.forEach((map, head) => {
      if (!Array.isArray(map) || map.length !== length || map.some((row) => !Array.isArray(row) || row.length !== length)) {
        fail(`attentions[${index}][${head}] is not ${length} x ${length} (one row and one column per token)`);
      }
    });
  });
  return { ...document, mapPrecision: document.mapPrecision ?? "float32" } as MapsDocument;
}

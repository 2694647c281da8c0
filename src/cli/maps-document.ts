/**
 * The JSON document `attention-lens maps` writes (docs/maps-schema.md describes it for readers),
 * and writing it to a file row by row, so that maps of hundreds of millions of weights never have
 * to exist as one string.
 *
 * Key order in the file: schemaVersion, model, backend, input, text, tokens, truncated,
 * lastLogits (with --logits), attentions last (the big one).
 *
 * Shape legend: L layers, nh query heads, nkv key/value heads, T tokens, V vocabulary.
 */

import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import type { Tensor } from "../attention/tensor";
import type { DecoderConfig, ModelFamily } from "../model/config";
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

export interface MapsDocumentHead {
  schemaVersion: typeof MAPS_SCHEMA_VERSION;
  model: MapsModelDescription;
  backend: MapsBackend;
  input: { kind: "text"; file: string } | { kind: "ids" };
  /** What tokens[i].start/end index into; null for --ids without a tokenizer. */
  text: string | null;
  tokens: TokenRecord[];
  /** Set when --max-tokens cut the input: how many tokens it had and how many were kept. */
  truncated: { totalTokens: number; keptTokens: number } | null;
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
 * Writes the document to `path`: first to `<path>.partial`, renamed when complete, so a failed run
 * never leaves a truncated file under the name asked for.
 *
 * `attentions` are the per-layer (1, nh, T, T) maps; `logits` (1, T, V) is given only with --logits.
 */
export function writeMapsDocument(path: string, head: MapsDocumentHead, attentions: readonly Tensor[], logits: Tensor | undefined): void {
  const partial = `${path}.partial`;
  const descriptor = openSync(partial, "w");
  try {
    const write = (text: string) => writeSync(descriptor, text);
    write(headJson(head));
    if (logits) {
      const [, length, vocabulary] = logits.shape; // (1, T, V)
      write(`,\n  "lastLogits": ${rowJson(logits.data.subarray((length - 1) * vocabulary, length * vocabulary))}`);
    }
    write(`,\n  "attentions": [`);
    attentions.forEach((layerMaps, layer) => {
      const [, heads, queries, keys] = layerMaps.shape; // (1, nh, T, T)
      write(`${layer === 0 ? "" : ","}\n    [`);
      for (let head = 0; head < heads; head++) {
        write(`${head === 0 ? "" : ","}\n      [`);
        for (let query = 0; query < queries; query++) {
          const offset = (head * queries + query) * keys;
          write(`${query === 0 ? "\n        " : ",\n        "}${rowJson(layerMaps.data.subarray(offset, offset + keys))}`);
        }
        write("\n      ]");
      }
      write("\n    ]");
    });
    write("\n  ]\n}\n");
  } catch (error) {
    closeSync(descriptor);
    rmSync(partial, { force: true });
    throw error;
  }
  closeSync(descriptor);
  renameSync(partial, path);
}

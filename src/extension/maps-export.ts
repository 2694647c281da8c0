/**
 * Attention Lens: Export Attention Maps as JSON: the maps of the run on screen, as the page sent
 * them (`ExportedMaps`), written as the same document as `attention-lens maps`
 * (src/cli/maps-document.ts, docs/maps-schema.md), so that one reader reads both. What the panel
 * adds: `input` is {kind: "panel", source, document}, `backend` may be "webgpu", and `mapPrecision`
 * says how the panel kept the weights (float32 exact; float16 and uint8 rounded, see MapPrecision).
 *
 * Pure: no `vscode` import. Shape legend: L layers, nh query heads, T tokens.
 */

import type { CatalogModel } from "./catalog-model";
import { describeModel as describeMapsModel, mapsDocumentChunks, MAPS_SCHEMA_VERSION, type MapsDocumentHead } from "../cli/maps-document";
import type { ExportedMaps } from "../protocol";

/**
 * The most weights one JSON export holds (L x nh x T x T): about 20 bytes each in JSON, so some
 * 300 MB. The bundled models at 512 tokens hold 6.3 million.
 */
export const MAX_EXPORTED_WEIGHTS = 16_000_000;

/** The maps cannot be written as asked; the message says what to do. */
export class MapsExportError extends Error {}

/** The document's head: the model described from its config.json, the panel's tokens and text. */
export function panelMapsHead(maps: ExportedMaps, model: CatalogModel): MapsDocumentHead {
  const config = model.config;
  if (maps.layers.length !== config.numHiddenLayers || maps.heads !== config.numAttentionHeads) {
    throw new MapsExportError(
      `the panel sent maps of ${maps.layers.length} layers × ${maps.heads} heads, but ${model.name} has ${config.numHiddenLayers} × ${config.numAttentionHeads}; run Show Attention again, then export`,
    );
  }
  return {
    schemaVersion: MAPS_SCHEMA_VERSION,
    model: describeMapsModel(model.id, model.folder, config),
    backend: maps.backend,
    input: { kind: "panel", source: maps.source, document: maps.documentUri ?? null },
    text: maps.text,
    tokens: maps.tokens.map((token) => ({ id: token.id, text: token.text, start: token.start, end: token.end, special: token.special ?? false })),
    truncated: maps.truncation ? { totalTokens: maps.truncation.totalTokens, keptTokens: maps.truncation.keptTokens } : null,
    mapPrecision: maps.mapPrecision,
  };
}

/** The JSON document of `maps` as UTF-8 bytes. Throws MapsExportError when it is too large or does not fit the model. */
export function panelMapsDocument(maps: ExportedMaps, model: CatalogModel): Uint8Array {
  const head = panelMapsHead(maps, model);
  const tokens = maps.tokens.length;
  const weights = maps.layers.length * maps.heads * tokens * tokens;
  if (weights > MAX_EXPORTED_WEIGHTS) {
    throw new MapsExportError(
      `${model.name}'s maps of ${tokens} tokens hold ${(weights / 1e6).toFixed(1)} million weights, more than one JSON export from the panel writes ` +
        `(${MAX_EXPORTED_WEIGHTS / 1e6} million). Select fewer tokens, or run the command line on the text: ` +
        `attention-lens maps --model "${model.folder}" --text <file> --max-tokens <N> --out maps.json`,
    );
  }
  const layers = maps.layers.map((data, layer) => {
    if (data.length !== maps.heads * tokens * tokens) throw new MapsExportError(`layer ${layer} of the panel's maps holds ${data.length} weights, not ${maps.heads} × ${tokens} × ${tokens}`);
    return { shape: [1, maps.heads, tokens, tokens], data }; // (1, nh, T, T) as the command line writes it
  });
  const encoder = new TextEncoder();
  const pieces: Uint8Array[] = [];
  let length = 0;
  let pending = "";
  for (const chunk of mapsDocumentChunks(head, layers, undefined)) {
    pending += chunk;
    if (pending.length < 1 << 20) continue;
    const bytes = encoder.encode(pending);
    pieces.push(bytes);
    length += bytes.length;
    pending = "";
  }
  const last = encoder.encode(pending);
  pieces.push(last);
  length += last.length;
  const document = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    document.set(piece, offset);
    offset += piece.length;
  }
  return document;
}

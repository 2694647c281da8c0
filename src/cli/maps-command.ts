/**
 * `attention-lens maps`: read a model, tokenize a text (or take token ids), run one forward on the
 * chosen backend, and write every layer's attention maps (and optionally the last logits) as JSON.
 *
 *   --model   -> loadModelFolder        config, weights, tokenizer
 *   --text    -> mapsTokens             tokens with offsets, cut to --max-tokens, fit the context
 *   --backend -> createPrefillDecoder   the decoder graph on wasm (onnxruntime-web) or cpu (onnxruntime-node)
 *   --out     <- writeMapsDocument      the JSON of docs/maps-schema.md
 *
 * Shape legend: L layers, nh query heads, T tokens, V vocabulary.
 */

import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { formatShape } from "../attention/tensor";
import { InputError } from "./command-line-errors";
import { loadModelFolder } from "./load-model-folder";
import type { MapsOptions } from "./maps-arguments";
import { describeModel, documentHead, writeMapsDocument } from "./maps-document";
import { mapsTokens } from "./maps-tokens";
import { createPrefillDecoder, type PrefillOutputs } from "./prefill-decoders";

export interface MapsResult {
  /** The backend that ran. */
  backend: string;
  tokenCount: number;
  /** Tokens before --max-tokens cut them. */
  totalTokens: number;
  outPath: string;
}

/** Refuses an --out whose folder does not exist or that names a folder, before the (slow) model loading. */
function checkOutPath(out: string): string {
  const path = resolve(out);
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new InputError(`--out ${out}: the folder ${folder} does not exist; create it first or write somewhere else`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new InputError(`--out ${out} is a folder; pass a file name, e.g. --out ${out.replace(/[/\\]+$/, "")}/maps.json`);
  }
  return path;
}

/** Asserts what the graph returned is what the document promises: per layer (1, nh, T, T), logits (1, T, V). */
function checkOutputs(outputs: PrefillOutputs, layers: number, heads: number, tokens: number, vocabulary: number): void {
  const problem = (what: string, shape: readonly number[], expected: string) =>
    new Error(`the decoder returned ${what} of shape ${formatShape(shape)}, expected ${expected}; this is a bug in attention-lens, please report it`);
  if (outputs.attentions.length !== layers) {
    throw new Error(`the decoder returned attention maps for ${outputs.attentions.length} layers but the model has ${layers}; this is a bug in attention-lens`);
  }
  outputs.attentions.forEach((maps, layer) => {
    const [batch, mapHeads, queries, keys] = maps.shape;
    if (maps.shape.length !== 4 || batch !== 1 || mapHeads !== heads || queries !== tokens || keys !== tokens) {
      throw problem(`layer ${layer}'s maps`, maps.shape, `(1, nh=${heads}, T=${tokens}, T=${tokens})`);
    }
  });
  const [batch, length, width] = outputs.logits.shape;
  if (outputs.logits.shape.length !== 3 || batch !== 1 || length !== tokens || width !== vocabulary) {
    throw problem("logits", outputs.logits.shape, `(1, T=${tokens}, V=${vocabulary})`);
  }
}

export async function runMapsCommand(options: MapsOptions): Promise<MapsResult> {
  const outPath = checkOutPath(options.out);
  const model = await loadModelFolder(options.model);
  const tokens = mapsTokens(options.input, model, options.maxTokens);
  const { config } = model;

  const decoder = await createPrefillDecoder(options.backend, config, model.weights);
  try {
    const outputs = await decoder.prefill(tokens.tokens.map((token) => token.id));
    checkOutputs(outputs, config.numHiddenLayers, config.numAttentionHeads, tokens.tokens.length, config.vocabSize);
    const head = documentHead(describeModel(model.id, model.folder, config), decoder.backend, options.input, tokens);
    try {
      writeMapsDocument(outPath, head, outputs.attentions, options.logits ? outputs.logits : undefined);
    } catch (error) {
      throw new InputError(`cannot write --out ${options.out} (${error instanceof Error ? error.message : String(error)}); check the path and the free disk space`);
    }
    return { backend: decoder.backend, tokenCount: tokens.tokens.length, totalTokens: tokens.totalTokens, outPath };
  } finally {
    await decoder.dispose();
  }
}

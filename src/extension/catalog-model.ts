/**
 * One entry of the model catalog: a usable model, wherever it was found, with what the picker
 * shows and what the webview needs to load it (whether it fits the panel's memory: model-memory.ts).
 *
 *   source      id                              name (shown)          folder
 *   bundled     "attention-lens-gqa"            the id                media/models/attention-lens-gqa
 *   folder      "/home/ada/models/SmolLM2"      "SmolLM2"             that folder
 *   hub-cache   "HuggingFaceTB/SmolLM2-135M"    the repository id     .../snapshots/<commit>
 *
 * Pure: no `vscode` import; webview URIs come from the caller's `asWebviewUri`.
 */

import { basename } from "node:path";

import type { DecoderConfig, ModelFamily } from "../model/config";
import type { ModelHeadMetrics } from "../model/head-metrics";
import { parameterCount } from "../model/weights";
import type { ModelDescriptor, ModelSource } from "../protocol";
import type { ModelOrigin } from "../checkpoint/model-advice";
import { isInside } from "../checkpoint/model-files";
import type { GenerationSettings, ModelFolder } from "../checkpoint/model-folder";

/** A usable model of the catalog. */
export interface CatalogModel {
  /** Bundled: the folder's name; hub cache: "org/name"; a person's folder: its absolute path. */
  id: string;
  source: ModelSource;
  /** For display: the bundled id, the hub repository id, or the folder's name. */
  name: string;
  /** Absolute path of the folder that holds config.json (for the hub cache: the snapshot). */
  folder: string;
  /** The Hugging Face repository, for a model of the hub cache. */
  repositoryId?: string;
  config: DecoderConfig;
  family: ModelFamily;
  /** "GQA (9 query heads, 3 key/value heads)". */
  label: string;
  /** "30 layers, width 576, context 8192 tokens". */
  description: string;
  /** Parameters, a tied output head counted once. */
  parameterCount: number;
  /** The weights' dtypes as stored: "BF16", or "F32+F16" when mixed. */
  dtype: string;
  /** Bytes of the weight files on disk. */
  fileBytes: number;
  /** Bytes the weights take once loaded in the panel (a bf16/f16 checkpoint's matrices stay 16-bit). */
  heldWeightBytes: number;
  /** Absolute paths of the files. */
  configFile: string;
  /** The single model.safetensors, or the shards in the index's order. */
  weightFiles: string[];
  /** Bytes of each weight file, in the order of `weightFiles`. */
  weightFileSizes: number[];
  /** model.safetensors.index.json, for sharded weights. */
  weightIndexFile?: string;
  tokenizerFile: string;
  tokenizerConfigFile?: string;
  generationConfigFile?: string;
  /** generation_config.json's BOS and EOS ids, when the folder has the file. */
  generation?: GenerationSettings;
  generationConfigProblem?: string;
  /** SHA-256 of tokenizer.json: models with the same digest read the same token ids as the same text. */
  tokenizerDigest: string;
  /** head-metrics.json, checked; absent when the file is missing or wrong (then `headMetricsProblem` says why). */
  headMetrics?: ModelHeadMetrics;
  headMetricsProblem?: string;
  /** The folders the webview must be allowed to read for this model (see `localResourceRootsOf`). */
  resourceRoots: string[];
}

/** Turns an absolute file path into a URI the webview may load. */
export type AsWebviewUri = (filePath: string) => string;

/** The attention kind and head counts, as shown in the model picker. */
export function labelOfModel(config: DecoderConfig): string {
  const { numAttentionHeads: heads, numKeyValueHeads: keyValueHeads } = config;
  if (keyValueHeads === heads) return `MHA (${heads} heads)`;
  if (keyValueHeads === 1) return `MQA (${heads} query heads, 1 key/value head)`;
  return `GQA (${heads} query heads, ${keyValueHeads} key/value heads)`;
}

/** "30 layers, width 576, context 8192 tokens". */
export function describeModel(config: DecoderConfig): string {
  const layers = config.numHiddenLayers === 1 ? "1 layer" : `${config.numHiddenLayers} layers`;
  return `${layers}, width ${config.hiddenSize}, context ${config.maxPositionEmbeddings} tokens`;
}

/**
 * The catalog entry for an inspected folder. `repositoryFolder` is the hub cache's
 * models--org--name folder, whose blobs the snapshot's links point into.
 */
export function toCatalogModel(origin: ModelOrigin, folder: ModelFolder, repositoryFolder?: string): CatalogModel {
  const { config, weights } = folder;
  const root = repositoryFolder ?? origin.folder;
  return {
    id: origin.id,
    source: origin.source,
    name: origin.source === "folder" ? basename(origin.folder) : (origin.repositoryId ?? origin.id),
    folder: origin.folder,
    ...(origin.repositoryId ? { repositoryId: origin.repositoryId } : {}),
    config,
    family: config.family,
    // The uptrained bundled models (training/uptrain.py) share their kind with those trained from scratch: say which is which.
    label: origin.source === "bundled" && origin.id.endsWith("-uptrained") ? `${labelOfModel(config)}, uptrained from MHA` : labelOfModel(config),
    description: describeModel(config),
    parameterCount: parameterCount(config),
    dtype: weights.dtype,
    fileBytes: weights.fileBytes,
    heldWeightBytes: weights.heldBytes,
    configFile: folder.configFile,
    weightFiles: weights.files,
    weightFileSizes: weights.fileSizes,
    ...(weights.indexFile ? { weightIndexFile: weights.indexFile } : {}),
    tokenizerFile: folder.tokenizerFile,
    ...(folder.tokenizerConfigFile ? { tokenizerConfigFile: folder.tokenizerConfigFile } : {}),
    ...(folder.generationConfigFile ? { generationConfigFile: folder.generationConfigFile } : {}),
    ...(folder.generation ? { generation: folder.generation } : {}),
    ...(folder.generationConfigProblem ? { generationConfigProblem: folder.generationConfigProblem } : {}),
    tokenizerDigest: folder.tokenizerDigest,
    ...(folder.headMetrics ? { headMetrics: folder.headMetrics } : {}),
    ...(folder.headMetricsProblem ? { headMetricsProblem: folder.headMetricsProblem } : {}),
    resourceRoots: [root, ...folder.linkedFolders.filter((linked) => !isInside(root, linked))],
  };
}

/** The model as the webview needs it: sizes and the URIs to load it from. */
export function toModelDescriptor(model: CatalogModel, asWebviewUri: AsWebviewUri): ModelDescriptor {
  return {
    id: model.id,
    // A bundled model is known by its kind (MHA, GQA, MQA); a person's own by its name first.
    label: model.source === "bundled" ? model.label : `${model.name} · ${model.label}`,
    source: model.source,
    family: model.family,
    configUri: asWebviewUri(model.configFile),
    weightsUri: asWebviewUri(model.weightIndexFile ?? model.weightFiles[0]),
    ...(model.weightIndexFile ? { weightShardUris: model.weightFiles.map((file) => asWebviewUri(file)) } : {}),
    // A person's model is read through the host in pieces (model-file-reads.ts); the bundled ones are small.
    ...(model.source !== "bundled" ? { weightFiles: model.weightFiles.map((path, index) => ({ path, bytes: model.weightFileSizes[index] })) } : {}),
    tokenizerUri: asWebviewUri(model.tokenizerFile),
    ...(model.tokenizerConfigFile ? { tokenizerConfigUri: asWebviewUri(model.tokenizerConfigFile) } : {}),
    numLayers: model.config.numHiddenLayers,
    numHeads: model.config.numAttentionHeads,
    numKeyValueHeads: model.config.numKeyValueHeads,
    maxTokens: model.config.maxPositionEmbeddings,
    ...(model.config.slidingWindows.some((window) => window !== null) ? { slidingWindows: [...model.config.slidingWindows] } : {}),
    ...(model.headMetrics ? { headMetrics: model.headMetrics } : {}),
    ...(model.headMetricsProblem ? { headMetricsProblem: model.headMetricsProblem } : {}),
  };
}

/**
 * The folders a webview must be allowed to read (its `localResourceRoots`) to load this model: the
 * model's folder; for a hub snapshot the whole models--org--name folder, so that the blobs behind
 * the snapshot's links are readable; and the real folders behind any other links.
 */
export function localResourceRootsOf(model: CatalogModel): string[] {
  return [...model.resourceRoots];
}

/**
 * Loading a model in the webview: fetch config.json and the weights (one model.safetensors, or the
 * shards model.safetensors.index.json lists) from the webview URIs the host sends, check and decode
 * them, build the decoder graph and create its onnxruntime-web session. Each failure becomes a
 * `ModelLoadError` whose message names the file, what is wrong with it, and what to do: for a
 * bundled model, restore the extension's files; for a person's own model, check its folder.
 *
 * A model stays loaded: `DecoderCache` keeps one decoder per model id (and backend choice), so the
 * next selection only runs the prefill.
 *
 * The decoder runs layer by layer (src/runtime/layered-decoder.ts). Where its weights live depends
 * on their size: up to `RESIDENT_WEIGHTS_LIMIT_BYTES` of float32 weights, each layer's graph holds
 * its own (a second copy inside onnxruntime, and about 2x faster for the bundled models, whose
 * matrices the runtime can pre-pack); above it, one layer graph is fed each layer's weights at every
 * run, so memory holds them once (a 0.5B model's 2 GB twice would not fit wasm's 4 GB).
 */

import type { BackendSetting, ModelDescriptor, RunStage } from "../../src/protocol";
import { mergeShardTensors, parseShardIndex, ShardIndexError } from "../../src/model/checkpoint-shards";
import { ConfigError, parseModelConfig, type DecoderConfig } from "../../src/model/config";
import { readWeightTensors, SafetensorsError } from "../../src/model/safetensors";
import type { WeightTensor } from "../../src/model/half-tensor";
import { decoderWeightsFromTensors, WeightsError, type DecoderWeights } from "../../src/model/weights";
import { LayeredDecoder } from "../../src/runtime/layered-decoder";
import type { HostFileReads } from "./host-file-reads";
import { float32WeightBytes, heldWeightBytes, weightPlacement } from "../../src/runtime/weight-placement";
import { baseModelDescriptor } from "../../src/converted-model";
import { convertKeyValueHeads, describeConversion, KeyValueConversionError } from "../../src/model/key-value-conversion";

/** A model that cannot be fetched, read or loaded; the message is meant for the user. */
export class ModelLoadError extends Error {
  override name = "ModelLoadError";
}

/** Receives the stages of a load, for the progress line. `fraction` is set while downloading. */
export type ProgressReporter = (stage: RunStage, message: string, fraction?: number) => void;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** "2.1 MB", "640 kB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}

const REINSTALL = "The extension's bundled model files may be missing or damaged: reinstall Attention Lens (or restore media/models).";

/** What to do about a file of `model` that cannot be read: depends on whose model it is. */
export function whatToDoAbout(model: Pick<ModelDescriptor, "id" | "source"> | undefined): string {
  if (model === undefined || model.source === undefined || model.source === "bundled") return REINSTALL;
  return (
    `Check the model's folder (${model.id}): its files may have changed or been removed since it was listed. ` +
    "Run Attention Lens: Select Model to list it again, or download the model again."
  );
}

/**
 * Fetches `uri` completely. `name` names the file in messages ("attention-lens-gqa/model.safetensors").
 * Reports (loaded, total) while the body arrives when the server sends a Content-Length. `model`
 * chooses the advice in messages (see `whatToDoAbout`).
 */
export async function fetchBytes(
  uri: string,
  name: string,
  onBytes?: (loaded: number, total: number | undefined) => void,
  model?: Pick<ModelDescriptor, "id" | "source">,
): Promise<Uint8Array> {
  const advice = whatToDoAbout(model);
  let response: Response;
  try {
    response = await fetch(uri);
  } catch (error) {
    throw new ModelLoadError(`Could not fetch ${name} (${uri}): ${messageOf(error)}. ${advice}`);
  }
  if (!response.ok) {
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    throw new ModelLoadError(
      response.status === 404
        ? `${name} was not found (${status} for ${uri}). ${advice}`
        : `Could not fetch ${name} (${status} for ${uri}). ${advice}`,
    );
  }
  const header = Number(response.headers.get("Content-Length"));
  const total = Number.isFinite(header) && header > 0 ? header : undefined;
  if (!response.body || !onBytes) return new Uint8Array(await response.arrayBuffer());

  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      onBytes(loaded, total);
    }
  } catch (error) {
    throw new ModelLoadError(`Fetching ${name} broke off after ${formatBytes(loaded)}: ${messageOf(error)}. ${advice}`);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

export interface LoadedModelFiles {
  config: DecoderConfig;
  weights: DecoderWeights;
  /** Where the descriptor and config.json disagree (the config wins). */
  warnings: string[];
  /** What the load took, for the output channel: "read 269 MB in 4.1 s (...), decoded in 0.9 s". */
  timing: string;
}

/** The file name at the end of a URI ("model-00001-of-00002.safetensors"). */
function fileNameOf(uri: string): string {
  const path = uri.split(/[?#]/)[0];
  return decodeURIComponent(path.slice(path.lastIndexOf("/") + 1));
}

/** Fetches and decodes config.json and the weights of `model` (one file or every shard). */
export async function loadModelFiles(model: ModelDescriptor, report: ProgressReporter, hostReads?: HostFileReads): Promise<LoadedModelFiles> {
  const advice = whatToDoAbout(model);
  const configName = `${model.id}/config.json`;

  report("loading-model", `Fetching ${configName}`);
  const configBytes = await fetchBytes(model.configUri, configName, undefined, model);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (error) {
    throw new ModelLoadError(`${configName} is not valid JSON (${messageOf(error)}); the file is damaged. ${advice}`);
  }
  let config: DecoderConfig;
  try {
    config = parseModelConfig(json, configName);
  } catch (error) {
    if (error instanceof ConfigError) throw new ModelLoadError(`${error.message}. ${advice}`);
    throw error;
  }

  const weightFiles = model.weightShardUris ?? [model.weightsUri];
  const fetched: { file: string; tensors: ReadonlyMap<string, WeightTensor> }[] = [];
  const widened: string[] = [];
  let fetchedBytes = 0;
  let transferMilliseconds = 0;
  let decodeMilliseconds = 0;
  let weights: DecoderWeights;
  try {
    for (const [index, uri] of weightFiles.entries()) {
      const file = fileNameOf(uri);
      const name = `${model.id}/${file}`;
      const part = weightFiles.length > 1 ? ` (file ${index + 1} of ${weightFiles.length})` : "";
      const onBytes = (loaded: number, total: number | undefined) =>
        report(
          "loading-model",
          `Reading ${name}${part}: ${formatBytes(loaded)}${total ? ` of ${formatBytes(total)}` : ""}`,
          total ? (index + loaded / total) / weightFiles.length : undefined,
        );
      // A person's model comes through the host in pieces (host-file-reads.ts); a bundled one as a resource.
      const hostFile = model.weightFiles?.[index];
      const transferStarted = performance.now();
      const bytes =
        hostFile && hostReads
          ? await hostReads.readFile(hostFile, onBytes).catch((error: unknown) => {
              throw new ModelLoadError(`Could not read ${name}: ${messageOf(error)}. ${advice}`);
            })
          : await fetchBytes(uri, name, onBytes, model);
      fetchedBytes += bytes.byteLength;
      transferMilliseconds += performance.now() - transferStarted;
      report("building-graph", `Reading ${name} (${formatBytes(bytes.byteLength)})`);
      await nextFrame();
      const decodeStarted = performance.now();
      const read = readWeightTensors(bytes, name);
      fetched.push({ file, tensors: read.tensors });
      widened.push(...read.widened);
      decodeMilliseconds += performance.now() - decodeStarted;
    }
    let tensors: ReadonlyMap<string, WeightTensor>;
    if (model.weightShardUris) {
      const indexName = `${model.id}/${fileNameOf(model.weightsUri)}`;
      const indexBytes = await fetchBytes(model.weightsUri, indexName, undefined, model);
      let indexJson: unknown;
      try {
        indexJson = JSON.parse(new TextDecoder().decode(indexBytes));
      } catch (error) {
        throw new ModelLoadError(`${indexName} is not valid JSON (${messageOf(error)}); the file is damaged. ${advice}`);
      }
      tensors = mergeShardTensors(parseShardIndex(indexJson, indexName), fetched, indexName);
    } else {
      tensors = fetched[0].tensors;
    }
    // The bytes were read for this model alone: GPT-2's transposed matrices are written back into them.
    weights = decoderWeightsFromTensors(config, tensors, weightFiles.length > 1 ? `${model.id} (${weightFiles.length} shards)` : `${model.id}/${fetched[0].file}`, { reuseStorage: true });
  } catch (error) {
    if (error instanceof SafetensorsError || error instanceof WeightsError || error instanceof ShardIndexError) {
      throw new ModelLoadError(`${error.message.replace(/\.\s*$/, "")}. ${advice}`);
    }
    throw error;
  }
  report("building-graph", `Read ${formatBytes(fetchedBytes)} of weights`);

  const warnings: string[] = [];
  const expected: [string, number, number][] = [
    ["layers", model.numLayers, config.numHiddenLayers],
    ["query heads", model.numHeads, config.numAttentionHeads],
    ["key/value heads", model.numKeyValueHeads, config.numKeyValueHeads],
    ["context tokens", model.maxTokens, config.maxPositionEmbeddings],
  ];
  for (const [what, announced, actual] of expected) {
    if (announced !== actual) warnings.push(`${model.id}: the host says ${announced} ${what}, ${configName} says ${actual}; using ${actual}`);
  }
  if (widened.length > 0) {
    warnings.push(
      `${model.id}: ${widened.length} bfloat16 matrix(es) hold values beyond float16's range (65504) and are kept as float32, which takes twice the memory: ${widened.slice(0, 3).join(", ")}${widened.length > 3 ? ", ..." : ""}`,
    );
  }
  const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(1)} s`;
  const how = model.weightFiles && hostReads ? "through the extension host" : "as webview resources";
  const timing =
    `read ${formatBytes(fetchedBytes)} of weights ${how} in ${seconds(transferMilliseconds)}, decoded them in ${seconds(decodeMilliseconds)} ` +
    `(held in ${formatBytes(heldWeightBytes(weights))})`;
  return { config, weights, warnings, timing };
}

/** Lets the browser paint (the progress line) before a long synchronous step. */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export interface DecoderSettings {
  backend: BackendSetting;
  /** Prefix (ending in "/") of onnxruntime-web's .wasm/.mjs files. */
  wasmPaths: string;
  /** One line per backend decision and fallback. */
  log: (message: string) => void;
}

/**
 * Runs tasks one at a time, in the order given. ModelRuntime's page-wide queue already keeps two
 * onnxruntime calls from overlapping; a layer-by-layer run is many such calls, and this queue keeps
 * a whole task together: the decoders are stateless (`compute` with a past the caller keeps), so
 * interleaving would still be correct, but two runs sharing the CPU would each take twice as long,
 * and the time a task measures must not include the waits of the others. A superseded run stops at
 * its next layer (its signal), so the queue moves on quickly.
 */
export class RunQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The files of each model, fetched and read once per page: the decoder (DecoderCache) and the
 * stages' and batch's reference model (reference-model/reference-model.ts) share them, so a
 * model's weights are in memory once, however many views use it. A load that fails is forgotten.
 */
export class ModelFilesCache {
  private readonly entries = new Map<string, { weightsUri: string; files: Promise<LoadedModelFiles> }>();

  /** `hostReads`: how a person's weight files are read in the panel (absent: fetched like the rest). */
  constructor(private readonly hostReads?: HostFileReads) {}

  /** Whether `model`'s files are loaded (or loading). */
  has(model: ModelDescriptor): boolean {
    return this.entries.get(model.id)?.weightsUri === model.weightsUri;
  }

  get(model: ModelDescriptor, report: ProgressReporter): Promise<LoadedModelFiles> {
    const entry = this.entries.get(model.id);
    if (entry && entry.weightsUri === model.weightsUri) return entry.files;
    const files = model.conversion ? this.converted(model, report) : loadModelFiles(model, report, this.hostReads);
    const created = { weightsUri: model.weightsUri, files };
    this.entries.set(model.id, created);
    files.catch(() => {
      if (this.entries.get(model.id) === created) this.entries.delete(model.id);
    });
    return files;
  }

  /**
   * A converted model (src/converted-model.ts): the files of the model it comes from (read once,
   * shared with it), its key/value heads grouped. Only the grouped projections are new memory.
   */
  private async converted(model: ModelDescriptor, report: ProgressReporter): Promise<LoadedModelFiles> {
    const { conversion } = model;
    if (!conversion) throw new Error(`${model.id} is not a converted model`);
    const base = await this.get(baseModelDescriptor(model), report);
    report("building-graph", `Grouping ${conversion.baseId}'s ${conversion.baseKeyValueHeads} key/value heads into ${conversion.groups}`);
    await nextFrame();
    try {
      const { config, weights } = convertKeyValueHeads(base.config, base.weights, conversion);
      return { config, weights, warnings: [], timing: `converted from ${conversion.baseId} (${describeConversion(conversion)}), whose files: ${base.timing}` };
    } catch (error) {
      if (error instanceof KeyValueConversionError) throw new ModelLoadError(`${conversion.baseId} cannot be converted: ${error.message}.`);
      throw error;
    }
  }
}

interface CachedDecoder {
  backend: BackendSetting;
  weightsUri: string;
  decoder: Promise<LayeredDecoder>;
}

/**
 * One decoder per model id, created on first use and kept. Asking for the same model with another
 * backend setting (or other weights) replaces it. A load that fails is forgotten, so the next
 * request tries again.
 */
export class DecoderCache {
  private readonly entries = new Map<string, CachedDecoder>();

  /**
   * `queue`: the one queue of every session call in the page (see `RunQueue`); `files`: the page's
   * one cache of model files, shared with the reference model.
   */
  constructor(
    readonly queue: RunQueue = new RunQueue(),
    readonly files: ModelFilesCache = new ModelFilesCache(),
  ) {}

  /** Whether `model` is loaded (or loading) for this backend setting. */
  has(model: ModelDescriptor, backend: BackendSetting): boolean {
    const entry = this.entries.get(model.id);
    return entry !== undefined && entry.backend === backend && entry.weightsUri === model.weightsUri;
  }

  get(model: ModelDescriptor, settings: DecoderSettings, report: ProgressReporter): Promise<LayeredDecoder> {
    const entry = this.entries.get(model.id);
    if (entry && entry.backend === settings.backend && entry.weightsUri === model.weightsUri) return entry.decoder;
    if (entry) void this.forget(model.id, entry);

    const decoder = (async () => {
      const { config, weights, warnings, timing } = await this.files.get(model, report);
      for (const warning of warnings) settings.log(warning);
      settings.log(timing);
      const placement = weightPlacement(float32WeightBytes(weights));
      report(
        "creating-session",
        `Building the ONNX layer graph${placement === "initializers" ? "s" : ""} (${config.numHiddenLayers} layers, ${config.numAttentionHeads} heads) and creating the sessions (${settings.backend})`,
      );
      await nextFrame();
      try {
        return await this.queue.run(async () => {
          const sessionsStarted = performance.now();
          const created = await LayeredDecoder.create(
            config,
            weights,
            { choice: settings.backend, wasmPaths: settings.wasmPaths, log: settings.log },
            { weights: placement },
          );
          // The first run of a session pays for one-time set-up (measured: ~500 ms against ~20 ms
          // after, for 54 tokens on wasm); pay it here, so the time shown is the model's.
          const warmUp = performance.now();
          await created.compute([[config.bosTokenId ?? 0]], { fetchAttentions: false, logits: "none" });
          settings.log(
            `weights held as ${placement === "initializers" ? "the layer graphs' initializers" : "inputs fed layer by layer"}; ` +
              `sessions created in ${((warmUp - sessionsStarted) / 1000).toFixed(1)} s, first run in ${((performance.now() - warmUp) / 1000).toFixed(1)} s`,
          );
          return created;
        });
      } catch (error) {
        throw new ModelLoadError(
          `Could not start ${model.id} with onnxruntime-web (backend setting "${settings.backend}"): ${messageOf(error)}`,
        );
      }
    })();
    const cached: CachedDecoder = { backend: settings.backend, weightsUri: model.weightsUri, decoder };
    this.entries.set(model.id, cached);
    decoder.catch(() => {
      if (this.entries.get(model.id) === cached) this.entries.delete(model.id);
    });
    return decoder;
  }

  /** Releases every decoder. */
  async clear(): Promise<void> {
    await Promise.all([...this.entries].map(([id, entry]) => this.forget(id, entry)));
  }

  private async forget(id: string, entry: CachedDecoder): Promise<void> {
    if (this.entries.get(id) === entry) this.entries.delete(id);
    try {
      const decoder = await entry.decoder;
      await this.queue.run(() => decoder.dispose());
    } catch {
      // a failed load has nothing to release
    }
  }
}

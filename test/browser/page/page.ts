/**
 * The browser side of the browser test harness (../harness.ts bundles and serves this file).
 *
 * It runs `ModelRuntime` exactly as the webview will, on onnxruntime-web's files served next to the
 * page, and exposes `window.attentionLensHarness` for tests to call through playwright's
 * `page.evaluate`. Everything crossing that boundary is plain data: tensors travel as
 * { type, dims, data: number[] }, and functions (such as a failure hook) are asked for by flags.
 */

import * as ort from "onnxruntime-web";

import { parseModelConfig } from "../../../src/model/config";
import { readWeightTensors } from "../../../src/model/safetensors";
import { decoderWeightsFromTensors } from "../../../src/model/weights";
import { LayeredDecoder } from "../../../src/runtime/layered-decoder";
import { ModelRuntime, type Backend, type BackendChoice } from "../../../src/runtime/model-runtime";
import { probeWebGpu, type WebGpuProbe } from "../../../src/runtime/webgpu-probe";

/** An input tensor as a test sends it. int64 values must be safe integers; float16 values are bit patterns. */
export interface PageTensor {
  type: "float32" | "float16" | "int64" | "bool";
  dims: number[];
  data: number[];
}

/** An output tensor as the page returns it. */
export interface PageOutput {
  type: string;
  dims: number[];
  data: number[];
}

export interface PageRunSettings {
  choice: BackendChoice;
  allowFallbackAdapter?: boolean;
  /** Outputs to fetch (default: all). */
  outputNames?: string[];
  /** Runs the model this many times on the same feeds, timing each run (default 1). */
  repeat?: number;
  /**
   * Starts this many runs at once, without awaiting one before the next, and checks they all agree
   * (default 1). `ModelRuntime` must queue them: onnxruntime-web fails overlapping runs of a session.
   */
  simultaneousRuns?: number;
  /** Makes the first run on WebGPU throw (a test of the fall back to wasm in the middle of a run). */
  failFirstWebGpuRun?: boolean;
}

export interface PageRunResult {
  /** The backend that ran the last run. */
  backend: Backend;
  fallbackReason?: string;
  /** Outputs of the last run. */
  outputs: Record<string, PageOutput>;
  /** Wall time of the first run (on WebGPU it includes compiling the shaders). */
  milliseconds: number;
  /** Wall time of every run (of every group of simultaneous runs). */
  runMilliseconds: number[];
  /** Fetching the model and creating the session. */
  createMilliseconds: number;
  /** The runtime's log lines. */
  log: string[];
}

/** Cached decoding with the layer-by-layer decoder, its cache kept in the runtime between steps. */
export interface PageDecodeRequest {
  /** A config.json's contents. */
  configJson: unknown;
  /** Where the page fetches model.safetensors (serveBytes). */
  weightsUrl: string;
  prompt: number[];
  /** The tokens fed one per step after the prompt. */
  steps: number[];
  settings: PageRunSettings;
  /** Makes the n-th run on WebGPU (counting every layer's and the head's, from 1) throw: the runtime moves to wasm mid-decoding. */
  failWebGpuRun?: number;
}

export interface PageDecodeResult {
  backend: Backend;
  fallbackReason?: string;
  /** The last position's logits of the prefill, then of each step. */
  logits: number[][];
  /** Where each call's kept present keys of layer 0 lie ("gpu-buffer" on WebGPU, "cpu" on wasm). */
  presentLocations: string[];
}

export interface AttentionLensHarness {
  probeWebGpu(): Promise<WebGpuProbe>;
  runModel(modelUrl: string, feeds: Record<string, PageTensor>, settings: PageRunSettings): Promise<PageRunResult>;
  runDecoderSteps(request: PageDecodeRequest): Promise<PageDecodeResult>;
}

declare global {
  interface Window {
    attentionLensHarness?: AttentionLensHarness;
  }
}

/** The harness serves node_modules/onnxruntime-web/dist here. */
const WASM_PATHS = new URL("ort/", document.baseURI).href;

function toOrtTensor(name: string, tensor: PageTensor): ort.Tensor {
  switch (tensor.type) {
    case "float32":
      return new ort.Tensor("float32", Float32Array.from(tensor.data), tensor.dims);
    case "float16":
      return new ort.Tensor("float16", Uint16Array.from(tensor.data), tensor.dims);
    case "int64":
      return new ort.Tensor("int64", BigInt64Array.from(tensor.data, (value) => BigInt(value)), tensor.dims);
    case "bool":
      return new ort.Tensor("bool", Uint8Array.from(tensor.data, (value) => (value ? 1 : 0)), tensor.dims);
    default:
      throw new Error(`input "${name}": unsupported type "${String((tensor as PageTensor).type)}"; use float32, float16, int64 or bool`);
  }
}

function fromOrtTensor(tensor: ort.Tensor): PageOutput {
  const data = tensor.data as ArrayLike<number | bigint>;
  return { type: tensor.type, dims: [...tensor.dims], data: Array.from(data, (value) => Number(value)) };
}

async function runModel(
  modelUrl: string,
  feeds: Record<string, PageTensor>,
  settings: PageRunSettings,
): Promise<PageRunResult> {
  const createStarted = performance.now();
  const response = await fetch(modelUrl);
  if (!response.ok) throw new Error(`fetching the model ${modelUrl} failed: HTTP ${response.status}; serve it with serveBytes first`);
  const model = new Uint8Array(await response.arrayBuffer());

  const log: string[] = [];
  let injectedFailure = false;
  const runtime = await ModelRuntime.create(model, {
    choice: settings.choice,
    allowFallbackAdapter: settings.allowFallbackAdapter,
    wasmPaths: WASM_PATHS,
    log: (message) => {
      log.push(message);
      console.log(`[model-runtime] ${message}`);
    },
    onBeforeRun: settings.failFirstWebGpuRun
      ? (backend) => {
          if (backend === "webgpu" && !injectedFailure) {
            injectedFailure = true;
            throw new Error("injected failure: the first WebGPU run throws (failFirstWebGpuRun)");
          }
        }
      : undefined,
  });
  try {
    const createMilliseconds = performance.now() - createStarted;
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([name, tensor]) => [name, toOrtTensor(name, tensor)]));
    const runMilliseconds: number[] = [];
    let outputs: Record<string, PageOutput> = {};
    for (let run = 0; run < Math.max(1, settings.repeat ?? 1); run++) {
      const started = performance.now();
      const simultaneous = Array.from({ length: Math.max(1, settings.simultaneousRuns ?? 1) }, () =>
        runtime.run(ortFeeds, settings.outputNames),
      );
      const allResults = await Promise.all(simultaneous);
      runMilliseconds.push(performance.now() - started);
      const converted = allResults.map((results) =>
        Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, fromOrtTensor(tensor)])),
      );
      for (const other of converted.slice(1)) {
        if (JSON.stringify(other) !== JSON.stringify(converted[0])) {
          throw new Error("simultaneous runs on the same feeds gave different outputs");
        }
      }
      outputs = converted[0];
      for (const results of allResults) for (const tensor of Object.values(results)) tensor.dispose();
    }
    return {
      backend: runtime.backend,
      ...(runtime.fallbackReason !== undefined ? { fallbackReason: runtime.fallbackReason } : {}),
      outputs,
      milliseconds: runMilliseconds[0],
      runMilliseconds,
      createMilliseconds,
      log,
    };
  } finally {
    await runtime.dispose();
  }
}

async function runDecoderSteps(request: PageDecodeRequest): Promise<PageDecodeResult> {
  const response = await fetch(request.weightsUrl);
  if (!response.ok) throw new Error(`fetching ${request.weightsUrl} failed: HTTP ${response.status}; serve it with serveBytes first`);
  const config = parseModelConfig(request.configJson);
  const weights = decoderWeightsFromTensors(config, readWeightTensors(new Uint8Array(await response.arrayBuffer())).tensors);
  let webGpuRuns = 0;
  const decoder = await LayeredDecoder.create(config, weights, {
    choice: request.settings.choice,
    allowFallbackAdapter: request.settings.allowFallbackAdapter,
    wasmPaths: WASM_PATHS,
    log: (message) => console.log(`[layered-decoder] ${message}`),
    onBeforeRun: (backend) => {
      if (backend === "webgpu" && ++webGpuRuns === request.failWebGpuRun) throw new Error(`injected failure: WebGPU run ${webGpuRuns} throws (failWebGpuRun)`);
    },
  });
  try {
    let result = await decoder.compute([request.prompt], { logits: "last", keepPresent: true });
    const logits = [Array.from(result.logits.data)];
    const presentLocations = [String(result.present?.layer(0).key.location)];
    for (const token of request.steps) {
      const past = result.present;
      result = await decoder.compute([[token]], { past, logits: "last", keepPresent: true });
      past?.dispose();
      logits.push(Array.from(result.logits.data));
      presentLocations.push(String(result.present?.layer(0).key.location));
    }
    result.present?.dispose();
    return { backend: decoder.backend, ...(decoder.fallbackReason !== undefined ? { fallbackReason: decoder.fallbackReason } : {}), logits, presentLocations };
  } finally {
    await decoder.dispose();
  }
}

window.attentionLensHarness = { probeWebGpu: () => probeWebGpu(), runModel, runDecoderSteps };

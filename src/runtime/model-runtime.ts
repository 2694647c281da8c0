/**
 * Running ONNX models with onnxruntime-web, in the browser (the webview) and in Node (tests,
 * benchmarks): the one place that decides which backend runs a model and says which one did.
 *
 * Two backends exist:
 *
 *   webgpu   the GPU through WebGPU; fast on a real GPU, but 60-200x slower than wasm on a software
 *            "fallback adapter" such as SwiftShader (what Chromium offers when there is no GPU)
 *   wasm     the CPU through WebAssembly; works everywhere, here always single-threaded because a
 *            VS Code webview is not cross-origin isolated (no SharedArrayBuffer, so no threads)
 *
 * The user picks a `BackendChoice`: "wasm", "webgpu" (forced, but still falls back to wasm when
 * WebGPU cannot run the model) or "auto" (WebGPU only on a real GPU). `probeWebGpu` (webgpu-probe.ts)
 * asks the browser for an adapter, and the pure function `backendOrder` turns the choice and the probe into the order
 * in which to try backends.
 *
 * Given a list of execution providers, onnxruntime-web silently uses the first that works, and never
 * says which. So `ModelRuntime` creates its session with ONE provider at a time, in that order, and
 * always knows (`backend`) which one runs and, when it is not the first choice, why
 * (`fallbackReason`). If a WebGPU run fails half-way, the runtime recreates its session on wasm and
 * retries that run once there.
 *
 * Runs are serialised: a second `run` waits until the first has finished, because a session must not
 * run twice at once. In Chromium, onnxruntime-web 1.30 fails BOTH of two overlapping runs of one
 * session ("Session mismatch", "Session already started"), on wasm as on WebGPU, and with its
 * WebGPU-only build (`onnxruntime-web/webgpu`) overlapping WebGPU runs never settle. Runs of two
 * different sessions fail the same way, so the queue is page-wide: every session creation, run and
 * release of every ModelRuntime waits its turn. `dispose` waits for the queued runs and then
 * releases the session; later runs reject.
 *
 * Tensors that live across runs (past keys and values of each layer) belong to the caller, in a
 * `RuntimeKeyValues` (./runtime-key-values.ts), which the caller disposes: that matters for GPU
 * buffers, which the garbage collector does not free.
 */

import * as ort from "onnxruntime-web";
import { probeWebGpu, type WebGpuProbe } from "./webgpu-probe";

/** What the user asks for. */
export type BackendChoice = "auto" | "webgpu" | "wasm";

/** What actually runs. */
export type Backend = "webgpu" | "wasm";

const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "webgpu", "wasm"];

/** Thrown for a model that cannot be loaded or run, bad settings, and use after `dispose`. */
export class ModelRuntimeError extends Error {
  override name = "ModelRuntimeError";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// Choosing the backends

/** The backends to try, in order, and why WebGPU is not among them when it was wanted. */
export interface BackendPlan {
  order: Backend[];
  reason?: string;
}

export interface BackendOrderOptions {
  /** Let "auto" use a software fallback adapter (SwiftShader) as if it were a GPU. Default false. */
  allowFallbackAdapter?: boolean;
}

/**
 * The backends to try for `choice`, given what `probeWebGpu` found:
 *
 *   "wasm"    ["wasm"]
 *   "webgpu"  ["webgpu", "wasm"] when there is any adapter (a fallback one too), else ["wasm"]
 *   "auto"    ["webgpu", "wasm"] when there is a real GPU (or a fallback adapter and
 *             `allowFallbackAdapter`), else ["wasm"]
 *
 * wasm always comes last, so that a model that cannot run on WebGPU still runs.
 */
export function backendOrder(
  choice: BackendChoice,
  probe: WebGpuProbe,
  options: BackendOrderOptions = {},
): BackendPlan {
  if (choice === "wasm") return { order: ["wasm"] };
  if (choice !== "webgpu" && choice !== "auto") {
    throw new ModelRuntimeError(`unknown backend choice "${String(choice)}"; use one of ${BACKEND_CHOICES.join(", ")}`);
  }
  if (!probe.available) {
    return { order: ["wasm"], reason: `WebGPU is not available (${probe.reason ?? "no adapter"}); running on wasm` };
  }
  if (choice === "auto" && probe.isFallbackAdapter && !options.allowFallbackAdapter) {
    return {
      order: ["wasm"],
      reason:
        `${probe.reason ?? `the WebGPU adapter (${probe.description}) is a software fallback`}; ` +
        'running on wasm (choose "webgpu" to use it anyway)',
    };
  }
  return { order: ["webgpu", "wasm"] };
}

// ---------------------------------------------------------------------------------------------
// The runtime

export interface RuntimeSettings {
  choice: BackendChoice;
  /**
   * Where onnxruntime-web finds its `.wasm` and `.mjs` files: a prefix ending in "/", a local path
   * (Node) or a URL the page may load (in a webview, from `asWebviewUri`). Never a CDN. Needed in a
   * bundled page; in Node onnxruntime-web finds its own files. onnxruntime-web reads it once, when
   * the first session of the process or page is created.
   */
  wasmPaths?: string;
  /** Let "auto" use a software fallback WebGPU adapter (SwiftShader). Default false. */
  allowFallbackAdapter?: boolean;
  /** Receives one line for each backend decision and fallback. */
  log?: (message: string) => void;
  /** The WebGPU probe to use, when the caller has already probed; otherwise the runtime probes. */
  webGpuProbe?: WebGpuProbe;
  /**
   * A test hook, called at the start of every run (after the runs before it have finished) with the
   * backend about to run it. If it throws while the backend is "webgpu", the run is handled as a
   * failed WebGPU run: the runtime switches to wasm and retries.
   */
  onBeforeRun?: (backend: Backend) => void | Promise<void>;
}

export interface ModelRuntimeOptions {
  /**
   * Outputs that stay on the GPU under WebGPU (onnxruntime's `preferredOutputLocation`
   * "gpu-buffer"): the present keys and values, fed back as the next run's past without a round
   * trip through the CPU. `getData()` downloads one when it is read. On wasm they are CPU tensors.
   */
  gpuOutputs?: readonly string[];
}

/** Output tensors by name. */
export type TensorRecord = Record<string, ort.Tensor>;

const NO_PROBE: WebGpuProbe = {
  available: false,
  isFallbackAdapter: false,
  description: "",
  reason: "WebGPU was not probed",
};

function checkSettings(settings: RuntimeSettings): void {
  if (!BACKEND_CHOICES.includes(settings.choice)) {
    throw new ModelRuntimeError(
      `ModelRuntime: unknown backend choice "${String(settings.choice)}"; use one of ${BACKEND_CHOICES.join(", ")}`,
    );
  }
  if (settings.wasmPaths !== undefined && !settings.wasmPaths.endsWith("/")) {
    throw new ModelRuntimeError(
      `ModelRuntime: wasmPaths "${settings.wasmPaths}" must be a folder prefix ending in "/" ` +
        `(onnxruntime-web appends file names such as ort-wasm-simd-threaded.wasm to it); use "${settings.wasmPaths}/"`,
    );
  }
}

/** Global onnxruntime-web settings; they take effect when the first session is created. */
function configureOnnxRuntime(wasmPaths: string | undefined): void {
  ort.env.wasm.numThreads = 1; // webviews are not cross-origin isolated: no threads
  ort.env.wasm.proxy = false; // a proxy worker would detach (transfer) the input buffers
  if (wasmPaths !== undefined) ort.env.wasm.wasmPaths = wasmPaths;
}

/**
 * Calls into onnxruntime-web, one at a time for the whole page. In Chromium, two runs that overlap
 * fail ("Session already started") even when they belong to different sessions (two models loaded
 * at once), so every session creation, run and release of every ModelRuntime waits its turn here.
 */
let engineTail: Promise<void> = Promise.resolve();

function onEngine<T>(work: () => Promise<T>): Promise<T> {
  const result = engineTail.then(work);
  engineTail = result.then(
    () => undefined,
    () => undefined,
  );
  return result;
}

async function createSession(model: Uint8Array, backend: Backend, gpuOutputs: readonly string[] = []): Promise<ort.InferenceSession> {
  // logSeverityLevel 3 (errors only): keeps "some nodes were not assigned to the preferred
  // execution provider" (shape ops placed on the CPU, by design) out of the console.
  const preferredOutputLocation =
    backend === "webgpu" && gpuOutputs.length > 0 ? Object.fromEntries(gpuOutputs.map((name) => [name, "gpu-buffer" as const])) : undefined;
  return ort.InferenceSession.create(model, { executionProviders: [backend], logSeverityLevel: 3, ...(preferredOutputLocation ? { preferredOutputLocation } : {}) });
}

/**
 * Feeds for a wasm run: a tensor on the GPU (an output kept there by a WebGPU session, before this
 * runtime fell back to wasm) is downloaded first; wasm reads only CPU tensors.
 */
async function onTheCpu(feeds: TensorRecord): Promise<TensorRecord> {
  const moved: TensorRecord = {};
  for (const [name, tensor] of Object.entries(feeds)) {
    moved[name] = tensor.location === "cpu" ? tensor : new ort.Tensor(tensor.type as "float32", (await tensor.getData()) as Float32Array, tensor.dims);
  }
  return moved;
}

function describeModel(model: Uint8Array): string {
  return `the ONNX model (${model.byteLength} bytes)`;
}

function loadFailureAdvice(failures: readonly string[]): string {
  return failures.some((failure) => /protobuf|parsing|Failed to load model/i.test(failure))
    ? "The bytes are not a readable ONNX model: the file is corrupt, truncated or of another format; export or download it again."
    : "Check that the model uses only operators onnxruntime-web supports and that the wasm files are served at wasmPaths.";
}

/** One ONNX model, loaded on one backend, run one call at a time. */
export class ModelRuntime {
  private session: ort.InferenceSession | undefined;
  private currentBackend: Backend;
  private currentFallbackReason: string | undefined;
  /** Kept only while on WebGPU, to recreate the session on wasm if a run fails. */
  private model: Uint8Array | undefined;
  private disposal: Promise<void> | undefined;
  /** Set when a failed WebGPU run could not be moved to wasm: every later run fails with it. */
  private brokenReason: string | undefined;

  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];

  private constructor(
    model: Uint8Array,
    session: ort.InferenceSession,
    backend: Backend,
    fallbackReason: string | undefined,
    private readonly settings: RuntimeSettings,
  ) {
    this.session = session;
    this.currentBackend = backend;
    this.currentFallbackReason = fallbackReason;
    this.model = backend === "webgpu" ? model : undefined;
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
  }

  /**
   * Loads `model` (the bytes of an .onnx file) on the first backend of `backendOrder` that can
   * create a session for it. Throws `ModelRuntimeError` when none can, with each backend's error.
   */
  static async create(model: Uint8Array, settings: RuntimeSettings, options: ModelRuntimeOptions = {}): Promise<ModelRuntime> {
    checkSettings(settings);
    const log = settings.log ?? (() => {});
    if (!(model instanceof Uint8Array) || model.byteLength === 0) {
      throw new ModelRuntimeError(
        "ModelRuntime.create: the model is empty (0 bytes) or not a Uint8Array; pass the bytes of an .onnx file",
      );
    }
    configureOnnxRuntime(settings.wasmPaths);

    const probe = settings.choice === "wasm" ? NO_PROBE : (settings.webGpuProbe ?? (await probeWebGpu()));
    if (settings.choice !== "wasm") {
      log(
        probe.available
          ? `WebGPU adapter: ${probe.description}${probe.isFallbackAdapter ? " (software fallback)" : ""}`
          : `no WebGPU: ${probe.reason ?? "no adapter"}`,
      );
    }
    const plan = backendOrder(settings.choice, probe, { allowFallbackAdapter: settings.allowFallbackAdapter });
    if (plan.reason) log(plan.reason);

    const failures: string[] = [];
    for (const backend of plan.order) {
      const started = Date.now();
      try {
        const session = await onEngine(() => createSession(model, backend, options.gpuOutputs));
        log(`created the session on ${backend} in ${Date.now() - started} ms`);
        const reasons = [plan.reason, ...failures.map((failure) => `creating the session on ${failure}`)];
        const fallbackReason = reasons.filter((reason) => reason !== undefined).join("; ") || undefined;
        return new ModelRuntime(model, session, backend, fallbackReason, settings);
      } catch (error) {
        failures.push(`${backend} failed: ${messageOf(error).replace(/\.\s*$/, "")}`);
        log(`could not create the session on ${backend}: ${messageOf(error)}`);
      }
    }
    throw new ModelRuntimeError(
      `ModelRuntime.create: could not load ${describeModel(model)} on ${plan.order.join(" or ")}: ` +
        `${failures.join("; ")}. ${loadFailureAdvice(failures)}`,
    );
  }

  /** The backend that runs the model now. */
  get backend(): Backend {
    return this.currentBackend;
  }

  /** Why the model does not run on the backend that was wanted first; undefined when it does. */
  get fallbackReason(): string | undefined {
    return this.currentFallbackReason;
  }

  /** True once `dispose` has been called. */
  get disposed(): boolean {
    return this.disposal !== undefined;
  }

  /**
   * Runs the model on `feeds` (one tensor for every input name) and returns the outputs named in
   * `outputNames` (default: all). Waits for earlier runs to finish first. On WebGPU, a failed run
   * moves the runtime to wasm for good and is retried there once.
   */
  run(feeds: TensorRecord, outputNames?: readonly string[]): Promise<TensorRecord> {
    if (this.disposal) return Promise.reject(this.disposedError("run"));
    return onEngine(() => this.runNow(feeds, outputNames));
  }

  /**
   * Releases the session (and its GPU memory) once the runs already started have finished. Runs
   * started after this reject. Calling it again returns the same promise.
   */
  dispose(): Promise<void> {
    if (!this.disposal) {
      this.disposal = onEngine(async () => {
        const session = this.session;
        this.session = undefined;
        this.model = undefined;
        await session?.release();
      });
    }
    return this.disposal;
  }

  private disposedError(action: string): ModelRuntimeError {
    return new ModelRuntimeError(
      `ModelRuntime.${action}: the model runtime was disposed; create a new ModelRuntime to run the model again`,
    );
  }

  private checkNames(feeds: TensorRecord, outputNames: readonly string[] | undefined): void {
    const given = Object.keys(feeds);
    const missing = this.inputNames.filter((name) => !Object.prototype.hasOwnProperty.call(feeds, name));
    if (missing.length > 0) {
      throw new ModelRuntimeError(
        `ModelRuntime.run: missing input${missing.length > 1 ? "s" : ""} ${missing.map((name) => `"${name}"`).join(", ")}; ` +
          `the model's inputs are ${this.inputNames.join(", ")} and the feeds hold ${given.join(", ") || "nothing"}`,
      );
    }
    const unknown = given.filter((name) => !this.inputNames.includes(name));
    if (unknown.length > 0) {
      throw new ModelRuntimeError(
        `ModelRuntime.run: the feeds hold ${unknown.map((name) => `"${name}"`).join(", ")}, which the model has no input for; ` +
          `its inputs are ${this.inputNames.join(", ")}`,
      );
    }
    const unknownOutputs = (outputNames ?? []).filter((name) => !this.outputNames.includes(name));
    if (unknownOutputs.length > 0) {
      throw new ModelRuntimeError(
        `ModelRuntime.run: the model has no output ${unknownOutputs.map((name) => `"${name}"`).join(", ")}; ` +
          `its outputs are ${this.outputNames.join(", ")}`,
      );
    }
  }

  private async runOnce(feeds: TensorRecord, outputNames: readonly string[] | undefined): Promise<TensorRecord> {
    const session = this.session;
    if (!session) throw this.brokenReason ? new ModelRuntimeError(this.brokenReason) : this.disposedError("run");
    await this.settings.onBeforeRun?.(this.currentBackend);
    const fed = this.currentBackend === "wasm" ? await onTheCpu(feeds) : feeds;
    const outputs = outputNames ? await session.run(fed, [...outputNames]) : await session.run(fed);
    return outputs as TensorRecord;
  }

  private async runNow(feeds: TensorRecord, outputNames: readonly string[] | undefined): Promise<TensorRecord> {
    this.checkNames(feeds, outputNames);
    try {
      return await this.runOnce(feeds, outputNames);
    } catch (error) {
      if (this.currentBackend !== "webgpu") {
        throw new ModelRuntimeError(`ModelRuntime.run: the model failed on wasm: ${messageOf(error)}`);
      }
      await this.switchToWasm(`a run on WebGPU failed (${messageOf(error)})`);
    }
    try {
      return await this.runOnce(feeds, outputNames);
    } catch (error) {
      throw new ModelRuntimeError(
        `ModelRuntime.run: the model failed on WebGPU and then on wasm: ${messageOf(error)}`,
      );
    }
  }

  /** Replaces the WebGPU session with a wasm one, for good. */
  private async switchToWasm(reason: string): Promise<void> {
    const log = this.settings.log ?? (() => {});
    log(`${reason}; recreating the session on wasm`);
    const model = this.model;
    const webGpuSession = this.session;
    this.session = undefined;
    this.model = undefined;
    try {
      await webGpuSession?.release();
    } catch (error) {
      log(`releasing the WebGPU session failed (ignored): ${messageOf(error)}`);
    }
    try {
      if (!model) throw new Error("the model bytes were not kept");
      this.session = await createSession(model, "wasm");
    } catch (error) {
      this.brokenReason =
        `ModelRuntime.run: ${reason}, and creating the session on wasm failed too (${messageOf(error)}); ` +
        "dispose this runtime and create a new one";
      throw new ModelRuntimeError(this.brokenReason);
    }
    this.currentBackend = "wasm";
    this.currentFallbackReason = `${reason}; switched to wasm`;
    log(this.currentFallbackReason);
  }
}

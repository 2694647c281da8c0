/**
 * Probing WebGPU: does this page have an adapter, is it a real GPU or a software fallback
 * (SwiftShader), and can it compute on float16 ("shader-f16")? Never throws; what it finds decides
 * the order in which `ModelRuntime` tries backends (model-runtime.ts, `backendOrder`) and how the
 * layer-by-layer decoder feeds 16-bit weights (layered-decoder.ts, `halfWeightInputsFor`).
 */

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The part of a `GPUAdapterInfo` the probe reads (TypeScript's DOM library has no WebGPU types). */
export interface WebGpuAdapterInfoLike {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

/** The part of a `GPUAdapter` the probe reads. */
export interface WebGpuAdapterLike {
  readonly info?: WebGpuAdapterInfoLike;
  /** The adapter's optional features; "shader-f16" lets shaders compute on float16 (onnxruntime asks for it when present). */
  readonly features?: { has(feature: string): boolean };
  /** Where Chromium before 2025 put the flag; newer ones have `info.isFallbackAdapter`. */
  readonly isFallbackAdapter?: boolean;
}

/** The part of `navigator.gpu` the probe uses. */
export interface WebGpuLike {
  requestAdapter(options?: { powerPreference?: "low-power" | "high-performance" }): Promise<WebGpuAdapterLike | null>;
}

/** What `probeWebGpu` found. */
export interface WebGpuProbe {
  /** An adapter exists (a real GPU or a software fallback). */
  available: boolean;
  /** The adapter is a software rasteriser (SwiftShader): WebGPU runs, but far slower than wasm. */
  isFallbackAdapter: boolean;
  /** Vendor, architecture, device and description of the adapter, for the user; "" when none. */
  description: string;
  /** Why WebGPU is missing, or why the adapter is not a real GPU. */
  reason?: string;
  /**
   * The adapter has "shader-f16": float16 inputs can go to WebGPU. Without it (SwiftShader, some
   * GPUs) a float16 Cast fails validation and gives wrong numbers without an error, so float16
   * weights must be decoded before they are fed (runtime/layered-decoder.ts). Absent: false.
   */
  shaderF16?: boolean;
}

function defaultGpu(): WebGpuLike | undefined {
  return (globalThis as { navigator?: { gpu?: WebGpuLike } }).navigator?.gpu;
}

/**
 * Asks for a WebGPU adapter and says whether it is a real GPU. Never throws. In a browser, `gpu`
 * defaults to `navigator.gpu`; tests may pass a stand-in.
 */
export async function probeWebGpu(gpu: WebGpuLike | undefined = defaultGpu()): Promise<WebGpuProbe> {
  if (!gpu) {
    return {
      available: false,
      isFallbackAdapter: false,
      description: "",
      reason:
        "navigator.gpu is undefined: this environment has no WebGPU (Node, an older browser, or WebGPU " +
        "disabled; headless Chromium needs --enable-unsafe-webgpu)",
    };
  }
  let adapter: WebGpuAdapterLike | null;
  try {
    // No options: the same request onnxruntime-web makes, so the probe sees the adapter it will use.
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return {
      available: false,
      isFallbackAdapter: false,
      description: "",
      reason: `navigator.gpu.requestAdapter() failed: ${messageOf(error)}`,
    };
  }
  if (!adapter) {
    return {
      available: false,
      isFallbackAdapter: false,
      description: "",
      reason:
        "navigator.gpu.requestAdapter() returned no adapter: WebGPU exists but no GPU can be used " +
        "(blocklisted driver, remote session or GPU acceleration turned off)",
    };
  }
  const info = adapter.info ?? {};
  const description =
    [info.vendor, info.architecture, info.device, info.description]
      .filter((part): part is string => typeof part === "string" && part.length > 0)
      .filter((part, index, parts) => parts.indexOf(part) === index)
      .join(" ") || "unnamed WebGPU adapter";
  const isFallbackAdapter =
    info.isFallbackAdapter === true ||
    adapter.isFallbackAdapter === true ||
    /swiftshader/i.test(`${info.architecture ?? ""} ${info.device ?? ""} ${info.description ?? ""}`);
  return {
    available: true,
    isFallbackAdapter,
    description,
    shaderF16: adapter.features?.has("shader-f16") === true,
    ...(isFallbackAdapter
      ? {
          reason:
            `the WebGPU adapter (${description}) is a software fallback, not a real GPU: ` +
            "it computes on the CPU and is far slower than wasm",
        }
      : {}),
  };
}

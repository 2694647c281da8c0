/**
 * Does a model fit the panel? An estimate, from config.json alone, of the memory the panel needs to
 * run a model with today's runtime (the whole model as one ONNX graph in the webview):
 *
 *   float32 weights  W = parameters x 4 bytes (a tied output head counted once), whatever the file's
 *                    dtype: float16 and bfloat16 files are widened to float32 when read
 *   held about 3 x W at the peak: the parsed tensors (DecoderWeights), the ONNX protobuf's
 *                    initializers built from them, and onnxruntime's own copy of the initializers
 *   and W < 2 GiB:   an ONNX model is one protobuf message, and protobuf refuses messages of 2 GiB
 *                    or more; the weights are initializers inside it
 *
 *   model           parameters   W          3 x W      fits?
 *   SmolLM2-135M    135 M        0.5 GiB    1.5 GiB    yes
 *   Qwen2.5-0.5B    494 M        1.8 GiB    5.5 GiB    no: over the panel's limit
 *   Qwen3-0.6B      596 M        2.2 GiB    6.7 GiB    no: over 2 GiB of ONNX weights as well
 *
 * Models that do not fit are still listed, with these numbers and what to do. Attention maps and
 * activations come on top; their size depends on the text (src/model budgets them).
 *
 * Pure: no `vscode` import, no file access.
 */

import type { DecoderConfig } from "../model/config";
import { parameterCount } from "../model/weights";

const GIBIBYTE = 1024 ** 3;

/**
 * The most memory the panel plans to use for one model: 4 GiB. A VS Code webview is a Chromium
 * renderer process; it runs a few GB before the tab crashes ("Aw, snap" style, losing the panel)
 * or the window slows to a crawl, and it shares the machine with the editor and its extensions.
 */
export const PANEL_MEMORY_LIMIT_BYTES = 4 * GIBIBYTE;

/** Protobuf's limit on one message, and so on an ONNX model with its weights inside: 2 GiB. */
export const ONNX_PROTOBUF_LIMIT_BYTES = 2 * GIBIBYTE;

/** How many float32 copies of the weights the runtime holds at its peak (see the top of this file). */
export const FLOAT32_WEIGHT_COPIES = 3;

/** What the panel needs for a model, and whether that fits. */
export interface RunMemoryEstimate {
  /** The weights as float32: parameters x 4 bytes. */
  weightsBytesFloat32: number;
  /** The panel's peak: about `FLOAT32_WEIGHT_COPIES` x the float32 weights. */
  estimatedBytes: number;
  /** Both limits hold: the peak within `PANEL_MEMORY_LIMIT_BYTES`, the ONNX weights under 2 GiB. */
  fits: boolean;
  /** One sentence with the numbers: why it fits, or why not and what to do. */
  reason: string;
}

const WHAT_TO_DO = "Pick a smaller model (SmolLM2-135M needs about 1.5 GiB); larger models come with the layer-by-layer runtime.";

/** The memory the panel needs to run a model of `config` today. */
export function estimateRunMemory(config: DecoderConfig): RunMemoryEstimate {
  const weightsBytesFloat32 = parameterCount(config) * 4;
  const estimatedBytes = FLOAT32_WEIGHT_COPIES * weightsBytesFloat32;
  const weights = `its float32 weights take ${formatGibibytes(weightsBytesFloat32)}`;
  if (weightsBytesFloat32 >= ONNX_PROTOBUF_LIMIT_BYTES) {
    return {
      weightsBytesFloat32,
      estimatedBytes,
      fits: false,
      reason:
        `Too large for the panel: ${weights}, and an ONNX model (one protobuf message) holds less than ${formatGibibytes(ONNX_PROTOBUF_LIMIT_BYTES)}; ` +
        `the panel would also need about ${formatGibibytes(estimatedBytes)}, more than its ${formatGibibytes(PANEL_MEMORY_LIMIT_BYTES)}. ${WHAT_TO_DO}`,
    };
  }
  if (estimatedBytes > PANEL_MEMORY_LIMIT_BYTES) {
    return {
      weightsBytesFloat32,
      estimatedBytes,
      fits: false,
      reason:
        `Too large for the panel: ${weights}, held about ${FLOAT32_WEIGHT_COPIES} times while it runs (the parsed tensors, the ONNX model's ` +
        `initializers, onnxruntime's copy): about ${formatGibibytes(estimatedBytes)}, more than the ${formatGibibytes(PANEL_MEMORY_LIMIT_BYTES)} ` +
        `a VS Code webview tolerates. ${WHAT_TO_DO}`,
    };
  }
  return {
    weightsBytesFloat32,
    estimatedBytes,
    fits: true,
    reason: `Fits: ${weights}; the panel needs about ${formatGibibytes(estimatedBytes)} of its ${formatGibibytes(PANEL_MEMORY_LIMIT_BYTES)}.`,
  };
}

/** "1.5 GiB"; below 0.1 GiB "12 MiB" or "257 KiB", so a small model does not read as 0.0 GiB. */
export function formatGibibytes(bytes: number): string {
  if (bytes >= 0.1 * GIBIBYTE) return `${(bytes / GIBIBYTE).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)} MiB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}

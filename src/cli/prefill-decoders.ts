/**
 * The two backends `maps` can run the decoder graph on, behind one small interface: a full forward
 * of one sequence (no cache), returning the logits and every layer's attention maps.
 *
 *   wasm  onnxruntime-web in Node, through the project's runtime (LayeredDecoder + ModelRuntime):
 *         the same engine, layer by layer, and numbers as the extension's panel; single-threaded
 *   cpu   onnxruntime-node's native CPU provider (NodeCpuDecoder): the whole model as one graph
 *         (decoder-graph.ts), faster, for models under the 2 GB protobuf limit
 *
 * Shape legend: T tokens, V vocabulary, nh query heads.
 */

import type { Tensor } from "../attention/tensor";
import type { DecoderConfig } from "../model/config";
import type { DecoderWeights } from "../model/weights";
import { LayeredDecoder } from "../runtime/layered-decoder";
import { float32WeightBytes, weightPlacement } from "../runtime/weight-placement";
import { NodeCpuDecoder } from "./node-cpu-decoder";

export const MAPS_BACKENDS = ["wasm", "cpu"] as const;
export type MapsBackend = (typeof MAPS_BACKENDS)[number];

export interface PrefillOutputs {
  /** (1, T, V). */
  logits: Tensor;
  /** Per layer, (1, nh, T, T): post-softmax weights, one map per query head. */
  attentions: Tensor[];
}

export interface PrefillDecoder {
  /** The backend that actually runs. */
  readonly backend: MapsBackend;
  /** Runs one sequence of token ids from an empty cache. */
  prefill(inputIds: readonly number[]): Promise<PrefillOutputs>;
  dispose(): Promise<void>;
}

export async function createPrefillDecoder(backend: MapsBackend, config: DecoderConfig, weights: DecoderWeights): Promise<PrefillDecoder> {
  switch (backend) {
    case "wasm": {
      const decoder = await LayeredDecoder.create(config, weights, { choice: "wasm" }, { weights: weightPlacement(float32WeightBytes(weights)) });
      if (!decoder.hasAttentionOutputs) throw new Error("the wasm decoder graph was built without attention maps; this is a bug in attention-lens");
      return {
        backend: "wasm",
        prefill: async (inputIds) => decoder.compute([inputIds], { fetchAttentions: true }),
        dispose: () => decoder.dispose(),
      };
    }
    case "cpu": {
      const decoder = await NodeCpuDecoder.create(config, weights);
      return {
        backend: "cpu",
        prefill: async (inputIds) => decoder.compute([inputIds]),
        dispose: () => decoder.dispose(),
      };
    }
    default: {
      const unknown: never = backend;
      throw new Error(`unknown backend "${String(unknown)}"; use one of ${MAPS_BACKENDS.join(", ")}`);
    }
  }
}

/**
 * The decoder graph (model/onnx/decoder-graph.ts) on onnxruntime-node's CPU provider: the same
 * graph bytes `OnnxDecoder` runs on onnxruntime-web, fed by the same `prepareGraphStep`
 * (model/onnx/graph-inputs.ts), for a full forward without a cache (what a script that wants every
 * attention map runs). Native code, several threads: much faster than wasm for long inputs.
 *
 * Shape legend: B batch, T tokens, V vocabulary, nh query heads, nkv key/value heads, hs head size.
 */

import * as ort from "onnxruntime-node";
import { Tensor } from "../attention/tensor";
import type { TokenMask } from "../attention/left-padding";
import type { DecoderConfig } from "../model/config";
import { encodeDecoderGraph, GraphNames } from "../model/onnx/decoder-graph";
import { prepareGraphStep } from "../model/onnx/graph-inputs";
import type { DecoderWeights } from "../model/weights";

export interface NodeCpuDecoderStep {
  /** (B, T, V). */
  logits: Tensor;
  /** Per layer, softmax weights (B, nh, T, T), one map per query head. */
  attentions: Tensor[];
  /** RoPE positions of the tokens, (B, T). */
  positions: number[][];
  /** Real (1) / pad (0) for every key slot, (B, T). */
  keyMask: number[][];
}

export class NodeCpuDecoder {
  private constructor(
    readonly config: DecoderConfig,
    private readonly session: ort.InferenceSession,
  ) {}

  /** Builds the graph for these weights (with every attention map as an output) and loads it on the CPU. */
  static async create(config: DecoderConfig, weights: DecoderWeights): Promise<NodeCpuDecoder> {
    const model = encodeDecoderGraph(config, weights, { attention: "primitive", outputAttentions: true });
    let session: ort.InferenceSession;
    try {
      // logSeverityLevel 3: errors only.
      session = await ort.InferenceSession.create(model, { executionProviders: ["cpu"], logSeverityLevel: 3 });
    } catch (error) {
      throw new Error(
        `onnxruntime-node could not load the decoder graph (${model.byteLength} bytes): ${error instanceof Error ? error.message : String(error)}; ` +
          "use --backend wasm, or reinstall onnxruntime-node (npm install) if its native binary is missing",
      );
    }
    return new NodeCpuDecoder(config, session);
  }

  /** Runs the tokens from an empty cache: (B, T) ids, optional (B, T) left-padding mask. */
  async compute(inputIds: readonly (readonly number[])[], attentionMask?: TokenMask): Promise<NodeCpuDecoderStep> {
    const prepared = prepareGraphStep(this.config, { inputIds, attentionMask });
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(prepared.feeds)) feeds[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
    const outputs = await this.session.run(feeds);

    const toTensor = (name: string): Tensor => {
      const output = outputs[name];
      if (output === undefined) throw new Error(`the decoder graph has no output "${name}"; was it built without attention maps?`);
      return new Tensor(new Float32Array(output.data as Float32Array), output.dims);
    };
    const attentions = Array.from({ length: this.config.numHiddenLayers }, (_, layer) => toTensor(GraphNames.attentions(layer)));
    const logits = toTensor(GraphNames.logits);
    for (const tensor of Object.values(outputs)) tensor.dispose();
    return { logits, attentions, positions: prepared.positions, keyMask: prepared.keyMask };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

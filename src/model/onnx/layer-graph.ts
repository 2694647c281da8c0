/**
 * The decoder as small graphs that run one after the other, for models of real size (100M-1.5B
 * parameters): ONE decoder-layer graph per model shape whose weights are graph inputs, fed layer by
 * layer, and one output-head graph. Memory then holds the weights once (in JavaScript) plus one
 * layer's weights and activations inside the runtime, instead of every weight as an initializer of
 * one protobuf (capped at 2 GB, and copied by the runtime).
 *
 * The layer graph computes exactly what one layer of decoder-graph.ts computes (it is built by the
 * same `buildDecoderLayer`, with `GraphBuilder.weightsAsInputs`):
 *
 * Inputs:
 *   hidden_states             float (B, T, C)         the layer's input (the embeddings for layer 0)
 *   attention_mask            int64 (B, S)            1 real / 0 left padding, for past + new slots
 *   rope.cos, rope.sin        float (B, 1, T, hs)     RoPE of the new tokens' positions (RoPE families)
 *   past_key_values.0.key     float (B, nkv, P, hs)   this layer's cached keys; P = 0 for a prefill
 *   past_key_values.0.value   float (B, nkv, P, hs)
 *   model.layers.0.*          float                   this layer's weights, as the checkpoint stores
 *                                                     them ((out, in) matrices, norms, biases)
 * Outputs:
 *   hidden_states_out         float (B, T, C)
 *   attentions.0              float (B, nh, T, S)     softmax weights (primitive variant only)
 *   present.0.key             float (B, nkv, S, hs)
 *   present.0.value           float (B, nkv, S, hs)
 *
 * The names say layer 0 whatever layer is fed. Layers differ only by their sliding window, which is
 * part of the mask, so a model with full and sliding layers has one layer graph per distinct window.
 * The token embeddings (and GPT-2's learned positions) are rows looked up in TypeScript, and so are
 * RoPE's cos and sin, for the positions of this run only.
 *
 * The output head: final norm, then the logits of the rows asked for (all, or the last only):
 *   hidden_states (B, N, C) -> norm -> x lm_head^T -> logits (B, N, V)
 * (fed as inputs, lm_head may be a slice of the vocabulary's rows, giving those columns of the logits)
 *
 * Shape legend: B batch, T new tokens, P past slots, S = P + T, C model width, V vocabulary,
 * N rows whose logits are wanted, nh query heads, nkv key/value heads, hs head size.
 */

import { transposeLastTwo } from "../../attention/tensor-operations";
import type { DecoderConfig } from "../config";
import { float32Of } from "../half-tensor";
import type { DecoderLayerWeights, DecoderWeights } from "../weights";
import { buildDecoderLayer } from "./decoder-graph";
import type { AttentionVariant } from "./graph-attention";
import { GraphBuilder, type FedWeight } from "./graph-builder";
import { buildAttentionMasks } from "./graph-masks";
import { GraphNames } from "./graph-names";
import { buildNorm } from "./graph-norms";
import { DataType, type DataTypeCode, encodeModel, type ModelSpec, type ValueInfoSpec } from "./onnx-proto";

/** Names of the layer and head graphs' own inputs and outputs (the rest are in GraphNames). */
export const LayerGraphNames = {
  hiddenStates: "hidden_states",
  hiddenStatesOut: "hidden_states_out",
  ropeCosine: "rope.cos",
  ropeSine: "rope.sin",
} as const;

export interface LayerGraphOptions {
  /** "primitive" (default) exposes the attention maps; "fused" uses ONNX Attention-23. */
  attention?: AttentionVariant;
  /**
   * "inputs" (default): the weights are graph inputs, fed at every run. "initializers": the graph
   * holds the weights of the layer it is built with (one graph per layer, loaded once).
   */
  weights?: "inputs" | "initializers";
  /** Float16 weights as float16 inputs (default true); see `GraphBuilderOptions.halfWeightInputs`. */
  halfWeightInputs?: boolean;
}

/** A built graph and the weights it takes as inputs (from the layer it was built with). */
export interface FedGraph {
  bytes: Uint8Array;
  /** Every weight input, with its name in the graph and the tensor of the layer used to build it. */
  weights: FedWeight[];
}

/** A weight input's element type: float16 for weights fed at 16 bits (Cast to float in the graph). */
function elementTypeOf(weight: FedWeight): DataTypeCode {
  return weight.fedAs === "float16" ? DataType.FLOAT16 : DataType.FLOAT;
}

/** The config as the one layer of a layer graph sees it: one layer, with this sliding window. */
function oneLayerConfig(config: DecoderConfig, window: number | null): DecoderConfig {
  return { ...config, numHiddenLayers: 1, slidingWindows: [window] };
}

/**
 * Builds the layer graph for layers with sliding window `window` (null: full attention), taking its
 * weight inputs' shapes from `layerWeights` (any layer of the model: they all have the same shapes).
 */
export function buildLayerGraph(config: DecoderConfig, window: number | null, layerWeights: DecoderLayerWeights, options: LayerGraphOptions = {}): FedGraph {
  const { spec, graph } = layerGraphSpec(config, window, layerWeights, options);
  return { bytes: encodeModel(spec), weights: graph.fedWeights };
}

/** The weight inputs of the layer graph for one layer's weights: what a run feeds. */
export function layerWeightInputs(config: DecoderConfig, layerWeights: DecoderLayerWeights, options: Pick<LayerGraphOptions, "halfWeightInputs"> = {}): FedWeight[] {
  const graph = new GraphBuilder({ weightsAsInputs: true, halfWeightInputs: options.halfWeightInputs });
  addLayer(graph, config, null, layerWeights, "primitive");
  return graph.fedWeights;
}

function addLayer(graph: GraphBuilder, config: DecoderConfig, window: number | null, layerWeights: DecoderLayerWeights, variant: AttentionVariant): string {
  const layerConfig = oneLayerConfig(config, window);
  const [mask] = buildAttentionMasks(graph, layerConfig, variant, LayerGraphNames.hiddenStates); // (B, 1, T, S)
  const rotary = config.positionEncoding === "rope" ? { cosine: LayerGraphNames.ropeCosine, sine: LayerGraphNames.ropeSine } : undefined; // (B, 1, T, hs) each
  return buildDecoderLayer(graph, LayerGraphNames.hiddenStates, layerWeights, {
    config: layerConfig,
    layer: 0,
    mask,
    rotary,
    variant,
    outputAttentions: variant === "primitive",
  }); // (B, T, C)
}

function layerGraphSpec(
  config: DecoderConfig,
  window: number | null,
  layerWeights: DecoderLayerWeights,
  options: LayerGraphOptions,
): { spec: ModelSpec; graph: GraphBuilder } {
  const variant = options.attention ?? "primitive";
  const graph = new GraphBuilder({ weightsAsInputs: (options.weights ?? "inputs") === "inputs", halfWeightInputs: options.halfWeightInputs });
  const output = addLayer(graph, config, window, layerWeights, variant);
  graph.op("Identity", [output], { name: "layer_output", outputNames: [LayerGraphNames.hiddenStatesOut] }); // (B, T, C)

  const { hiddenSize: C, numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: hs } = config;
  const inputs: ValueInfoSpec[] = [
    { name: LayerGraphNames.hiddenStates, elementType: DataType.FLOAT, shape: ["batch", "sequence", C] },
    { name: GraphNames.attentionMask, elementType: DataType.INT64, shape: ["batch", "total_sequence"] },
  ];
  if (config.positionEncoding === "rope") {
    inputs.push(
      { name: LayerGraphNames.ropeCosine, elementType: DataType.FLOAT, shape: ["batch", 1, "sequence", hs] },
      { name: LayerGraphNames.ropeSine, elementType: DataType.FLOAT, shape: ["batch", 1, "sequence", hs] },
    );
  }
  inputs.push(
    { name: GraphNames.pastKey(0), elementType: DataType.FLOAT, shape: ["batch", nkv, "past_sequence", hs] },
    { name: GraphNames.pastValue(0), elementType: DataType.FLOAT, shape: ["batch", nkv, "past_sequence", hs] },
    ...graph.fedWeights.map((weight): ValueInfoSpec => ({ name: weight.name, elementType: elementTypeOf(weight), shape: [...weight.tensor.shape] })),
  );
  const outputs: ValueInfoSpec[] = [{ name: LayerGraphNames.hiddenStatesOut, elementType: DataType.FLOAT, shape: ["batch", "sequence", C] }];
  if (variant === "primitive") {
    outputs.push({ name: GraphNames.attentions(0), elementType: DataType.FLOAT, shape: ["batch", nh, "sequence", "total_sequence"] });
  }
  outputs.push(
    { name: GraphNames.presentKey(0), elementType: DataType.FLOAT, shape: ["batch", nkv, "total_sequence", hs] },
    { name: GraphNames.presentValue(0), elementType: DataType.FLOAT, shape: ["batch", nkv, "total_sequence", hs] },
  );
  const spec: ModelSpec = {
    irVersion: variant === "fused" ? 11 : 10,
    opsetImports: [{ domain: "", version: variant === "fused" ? 23 : 21 }],
    producerName: "attention-lens",
    producerVersion: "1",
    docString: `one ${config.family} decoder layer, nh=${nh}, nkv=${nkv}, hs=${hs}, window ${window ?? "full"}, ${variant} attention, weights as inputs`,
    metadata: { attention_variant: variant, model_family: config.family, sliding_window: String(window ?? "full") },
    graph: { name: `${config.family}_decoder_layer`, nodes: graph.nodes, initializers: graph.initializers, inputs, outputs },
  };
  return { spec, graph };
}

/** The output head graph: final norm, then the logits of the rows given. */
export function buildOutputHeadGraph(
  config: DecoderConfig,
  weights: Pick<DecoderWeights, "finalNorm" | "finalNormBias" | "lmHead">,
  options: Pick<LayerGraphOptions, "weights" | "halfWeightInputs"> = {},
): FedGraph {
  const graph = new GraphBuilder({ weightsAsInputs: (options.weights ?? "inputs") === "inputs", halfWeightInputs: options.halfWeightInputs });
  const normalized = buildNorm(graph, config, LayerGraphNames.hiddenStates, weights.finalNorm, weights.finalNormBias, "model.norm"); // (B, N, C)
  const head = graph.weightsAsInputs
    ? graph.op("Transpose", [graph.weight("lm_head.weight", weights.lmHead)], { name: "lm_head/weight_transposed", attributes: { perm: [1, 0] } }) // (V, C) -> (C, V)
    : graph.weight("lm_head.weight^T", transposeLastTwo(float32Of(weights.lmHead))); // (C, V)
  graph.op("MatMul", [normalized, head], { name: "lm_head", outputNames: [GraphNames.logits] }); // (B, N, C) x (C, V) -> (B, N, V)
  const spec: ModelSpec = {
    irVersion: 10,
    opsetImports: [{ domain: "", version: 21 }],
    producerName: "attention-lens",
    producerVersion: "1",
    docString: `${config.family} output head: final norm and lm_head, weights as inputs`,
    graph: {
      name: `${config.family}_output_head`,
      nodes: graph.nodes,
      initializers: graph.initializers,
      inputs: [
        { name: LayerGraphNames.hiddenStates, elementType: DataType.FLOAT, shape: ["batch", "rows", config.hiddenSize] },
        // The head matrix may come in slices of the vocabulary (runtime/layered-decoder.ts).
        ...graph.fedWeights.map((weight): ValueInfoSpec => ({
          name: weight.name,
          elementType: elementTypeOf(weight),
          shape: weight.name === "lm_head.weight" ? ["vocabulary", config.hiddenSize] : [...weight.tensor.shape],
        })),
      ],
      outputs: [{ name: GraphNames.logits, elementType: DataType.FLOAT, shape: ["batch", "rows", "vocabulary"] }],
    },
  };
  return { bytes: encodeModel(spec), weights: graph.fedWeights };
}

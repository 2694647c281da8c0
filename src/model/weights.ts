/**
 * The weights of a decoder, whatever the family, in one layout the decoder and the ONNX graph read.
 * Every matrix is stored (out_features, in_features), as PyTorch's nn.Linear stores it:
 *
 *   embedTokens                     (V, C)
 *   positionEmbeddings              (maxPositions, C)   learned positions (GPT-2) only
 *   layers[N].inputNorm             (C)                 + inputNormBias (C) for LayerNorm
 *   layers[N].attention.query       (nh * hs, C)        + queryBias (nh * hs) when the family has one
 *   layers[N].attention.key         (nkv * hs, C)       + keyBias (nkv * hs)
 *   layers[N].attention.value       (nkv * hs, C)       + valueBias (nkv * hs)
 *   layers[N].attention.output      (C, nh * hs)        + outputBias (C)
 *   layers[N].attention.queryNorm   (hs)                Qwen3's q_norm (and keyNorm, k_norm)
 *   layers[N].postAttentionNorm     (C)                 + postAttentionNormBias (C)
 *   layers[N].mlp.gate              (I, C)              SwiGLU only
 *   layers[N].mlp.up                (I, C)              + upBias (I), and gateBias, downBias
 *   layers[N].mlp.down              (C, I)
 *   finalNorm                       (C)                 + finalNormBias (C)
 *   lmHead                          (V, C)              the same tensor as embedTokens when tied
 *
 * The checkpoint's names differ by family (weight-names.ts): Llama, Mistral and Qwen name them as
 * `model.layers.N.self_attn.q_proj.weight`; GPT-2 stores fused, transposed matrices
 * (`transformer.h.N.attn.c_attn.weight`, (C, 3C)) that are split and transposed here.
 *
 * Matrices are float32 or float16 bits (`WeightTensor`, half-tensor.ts: a 16-bit checkpoint stays
 * 16-bit); vectors (norm gains, biases) are float32 `Tensor`s.
 *
 * Loading is strict: a tensor the family needs and the file lacks, a tensor the file has and the
 * family does not use, and a tensor of the wrong shape are errors that list them.
 */

import { seededRandom } from "../attention/seeded-random";
import { formatShape, Tensor } from "../attention/tensor";
import type { DecoderConfig } from "./config";
import { float32Of, HalfTensor, storageOf, transposeWeight, type WeightTensor } from "./half-tensor";
import { checkpointTensorLayout, GPT2_UNUSED_BUFFERS, type CheckpointTensor } from "./weight-names";

export class WeightsError extends Error {
  override name = "WeightsError";
}

export interface DecoderAttentionWeights {
  query: WeightTensor;
  key: WeightTensor;
  value: WeightTensor;
  output: WeightTensor;
  queryBias?: Tensor;
  keyBias?: Tensor;
  valueBias?: Tensor;
  outputBias?: Tensor;
  /** (hs): RMSNorm gain of every query head, before RoPE (Qwen3). */
  queryNorm?: Tensor;
  /** (hs): RMSNorm gain of every key head, before RoPE (Qwen3). */
  keyNorm?: Tensor;
}

export interface MlpWeights {
  /** (I, C): the gate of SwiGLU; absent in a plain MLP (GPT-2). */
  gate?: WeightTensor;
  up: WeightTensor;
  down: WeightTensor;
  gateBias?: Tensor;
  upBias?: Tensor;
  downBias?: Tensor;
}

/** The attention weights with every matrix as float32: what the TypeScript reference computes with. */
export type Float32AttentionWeights = { [Field in keyof DecoderAttentionWeights]: Tensor };
/** The MLP weights with every matrix as float32. */
export type Float32MlpWeights = { [Field in keyof MlpWeights]: Tensor };

export interface DecoderLayerWeights {
  inputNorm: Tensor;
  inputNormBias?: Tensor;
  attention: DecoderAttentionWeights;
  postAttentionNorm: Tensor;
  postAttentionNormBias?: Tensor;
  mlp: MlpWeights;
}

/** A layer's weights with every matrix as float32. */
export interface Float32LayerWeights extends Omit<DecoderLayerWeights, "attention" | "mlp"> {
  attention: Float32AttentionWeights;
  mlp: Float32MlpWeights;
}

/** Whether every matrix of the layer is float32 already (then `float32LayerWeights` copies nothing). */
export function isFloat32Layer(layer: DecoderLayerWeights): boolean {
  return [...Object.values(layer.attention), ...Object.values(layer.mlp)].every((tensor) => !(tensor instanceof HalfTensor));
}

/** The layer's weights with its float16 matrices decoded to float32 (new arrays); float32 ones as they are. */
export function float32LayerWeights(layer: DecoderLayerWeights): Float32LayerWeights {
  const decoded = <Part extends object>(part: Part) =>
    Object.fromEntries(Object.entries(part).map(([field, tensor]) => [field, float32Of(tensor as WeightTensor)])) as { [Field in keyof Part]: Tensor };
  return { ...layer, attention: decoded(layer.attention), mlp: decoded(layer.mlp) };
}

export interface DecoderWeights {
  embedTokens: WeightTensor;
  /** (maxPositions, C): learned position embeddings (GPT-2). */
  positionEmbeddings?: WeightTensor;
  layers: DecoderLayerWeights[];
  finalNorm: Tensor;
  finalNormBias?: Tensor;
  /** The output head; the same tensor as `embedTokens` when the embeddings are tied. */
  lmHead: WeightTensor;
}

/** Every tensor a checkpoint of this config holds, by its name in the file, with its shape there. */
export function expectedWeightShapes(config: DecoderConfig, prefix?: string): Map<string, number[]> {
  return new Map(checkpointTensorLayout(config, prefix).map((tensor) => [tensor.name, tensor.shape]));
}

/** The parameters of the model (a tied output head counted once). */
export function parameterCount(config: DecoderConfig): number {
  let count = 0;
  for (const shape of expectedWeightShapes(config).values()) count += shape.reduce((product, size) => product * size, 1);
  return count;
}

function listNames(names: readonly string[]): string {
  return names.slice(0, 6).join(", ") + (names.length > 6 ? ` and ${names.length - 6} more` : "");
}

/**
 * The bytes a checkpoint's weights take once loaded, from its tensors' dtypes alone (the headers):
 * 2 per value of an F16 or BF16 matrix, kept at 16 bits (half-tensor.ts), 4 per other value (F32
 * tensors, and vectors, read as float32); a tied output head counted once. A BF16 matrix with a
 * value beyond float16's range is widened when read, which the headers cannot tell: rare, not counted.
 */
export function heldBytesOfCheckpoint(config: DecoderConfig, dtypes: ReadonlyMap<string, string>): number {
  const prefix = config.family === "gpt2" ? gpt2Prefix(dtypes.keys()) : undefined;
  let bytes = 0;
  for (const [name, shape] of expectedWeightShapes(config, prefix)) {
    const values = shape.reduce((product, size) => product * size, 1);
    const dtype = dtypes.get(name);
    bytes += values * (shape.length >= 2 && (dtype === "F16" || dtype === "BF16") ? 2 : 4);
  }
  return bytes;
}

/**
 * GPT-2 checkpoints name their tensors with or without "transformer." in front (the original
 * OpenAI-converted files have none): the prefix is whichever the file uses.
 */
function gpt2Prefix(names: Iterable<string>): string {
  for (const name of names) if (name.startsWith("transformer.")) return "transformer.";
  return "";
}

/**
 * Names in a checkpoint that carry no weights of the model and are skipped: RoPE's `inv_freq` in
 * old Llama exports, GPT-2's causal-mask buffers, and a duplicate output head of a tied model.
 */
function isIgnorable(config: DecoderConfig, name: string): boolean {
  if (name.endsWith(".rotary_emb.inv_freq")) return true;
  if (config.family === "gpt2" && GPT2_UNUSED_BUFFERS.some((suffix) => name.endsWith(suffix))) return true;
  return config.tieWordEmbeddings && name === "lm_head.weight";
}

/**
 * Checks a checkpoint's tensor names and shapes against the config, without reading any data:
 * returns the problems (empty when it fits). `shapes` is the union of every file's header.
 */
export function checkCheckpointTensors(config: DecoderConfig, shapes: ReadonlyMap<string, readonly number[]>, source = "model.safetensors"): string[] {
  const prefix = config.family === "gpt2" ? gpt2Prefix(shapes.keys()) : undefined;
  const expected = expectedWeightShapes(config, prefix);
  const problems: string[] = [];
  const missing = [...expected.keys()].filter((name) => !shapes.has(name));
  if (missing.length > 0) {
    problems.push(
      `${source} lacks ${missing.length} tensor(s) a ${config.family} model of this config.json needs: ${listNames(missing)}. ` +
        "Does config.json belong to these weights? A partly downloaded model lacks shards: download it again",
    );
  }
  const unused = [...shapes.keys()].filter((name) => !expected.has(name) && !isIgnorable(config, name));
  if (unused.length > 0) {
    problems.push(
      `${source} holds ${unused.length} tensor(s) a ${config.family} model of this config.json does not use: ${listNames(unused)}. ` +
        `Check "model_type" and the fields that add weights (attention_bias, mlp_bias, tie_word_embeddings)`,
    );
  }
  for (const [name, shape] of expected) {
    const found = shapes.get(name);
    if (found && formatShape(found) !== formatShape(shape)) {
      problems.push(`${source}: ${name} is ${formatShape(found)} but config.json needs ${formatShape(shape)}`);
    }
  }
  return problems;
}

export interface DecoderWeightsOptions {
  /**
   * The tensors' arrays belong to this call (a file read for it, its map dropped after): GPT-2's
   * transposed and split matrices are written back into them instead of into copies, so the file's
   * memory holds them once. The tensors given must not be used afterwards. Default false.
   */
  reuseStorage?: boolean;
}

/**
 * Picks the decoder's weights out of a checkpoint's tensors (as read by `readWeightTensors`),
 * splitting and transposing GPT-2's fused Conv1D matrices. Throws `WeightsError` listing every problem.
 */
export function decoderWeightsFromTensors(
  config: DecoderConfig,
  tensors: ReadonlyMap<string, WeightTensor>,
  source = "model.safetensors",
  options: DecoderWeightsOptions = {},
): DecoderWeights {
  const inPlace = options.reuseStorage ?? false;
  const shapes = new Map([...tensors].map(([name, tensor]) => [name, tensor.shape]));
  const problems = checkCheckpointTensors(config, shapes, source);
  if (problems.length > 0) throw new WeightsError(problems.join(". "));
  const prefix = config.family === "gpt2" ? gpt2Prefix(tensors.keys()) : undefined;
  // Vectors are float32 whatever the file holds; matrices stay as read (float32 or float16 bits).
  const tensorOf = (tensor: CheckpointTensor): WeightTensor => {
    const found = tensors.get(tensor.name)!;
    return found.shape.length < 2 ? float32Of(found) : found;
  };
  const layout = checkpointTensorLayout(config, prefix);

  const layers: DecoderLayerWeights[] = Array.from({ length: config.numHiddenLayers }, () => ({
    inputNorm: undefined!,
    attention: {} as DecoderAttentionWeights,
    postAttentionNorm: undefined!,
    mlp: {} as MlpWeights,
  }));
  const weights: Partial<DecoderWeights> = {};
  for (const entry of layout) {
    const tensor = tensorOf(entry);
    const target = entry.target;
    switch (target.kind) {
      case "model":
        (weights as Record<string, WeightTensor>)[target.field] = tensor;
        break;
      case "layer":
        (layers[target.layer] as unknown as Record<string, WeightTensor>)[target.field] = tensor;
        break;
      case "attention":
        (layers[target.layer].attention as unknown as Record<string, WeightTensor>)[target.field] = tensor;
        break;
      case "mlp":
        (layers[target.layer].mlp as unknown as Record<string, WeightTensor>)[target.field] = target.transposed ? transposeWeight(tensor, inPlace) : tensor;
        break;
      case "fused-attention":
        Object.assign(layers[target.layer].attention, splitFusedAttention(config, tensor, target.part, inPlace));
        break;
      case "attention-output":
        layers[target.layer].attention.output = transposeWeight(tensor, inPlace); // Conv1D (in, out) -> (out, in)
        break;
    }
  }
  storeAlikeAcrossLayers(layers);
  return {
    embedTokens: weights.embedTokens!,
    ...(weights.positionEmbeddings ? { positionEmbeddings: weights.positionEmbeddings } : {}),
    layers,
    finalNorm: weights.finalNorm!,
    ...(weights.finalNormBias ? { finalNormBias: weights.finalNormBias } : {}),
    lmHead: config.tieWordEmbeddings ? weights.embedTokens! : weights.lmHead!,
  };
}

/**
 * GPT-2's `c_attn`: one Conv1D whose weight (C, 3C) holds W_q^T, W_k^T and W_v^T side by side (and
 * whose bias (3C) holds the three biases): split into three (C, C) matrices stored (out, in), in new
 * arrays or (`inPlace`) one after the other over the fused weight's own array, the same size.
 */
function splitFusedAttention(config: DecoderConfig, tensor: WeightTensor, part: "weight" | "bias", inPlace: boolean): Partial<DecoderAttentionWeights> {
  const width = config.numAttentionHeads * config.headDim;
  if (part === "bias") {
    const bias = float32Of(tensor);
    const slice = (index: number) => new Tensor(bias.data.slice(index * width, (index + 1) * width), [width]);
    return { queryBias: slice(0), keyBias: slice(1), valueBias: slice(2) };
  }
  const [inputs, outputs] = tensor.shape; // (C, 3C)
  const storage = storageOf(tensor);
  const source = inPlace ? storage.slice() : storage;
  const column = (index: number): WeightTensor => {
    const size = width * inputs;
    const out = inPlace ? storage.subarray(index * size, (index + 1) * size) : storage instanceof Uint16Array ? new Uint16Array(size) : new Float32Array(size); // (C_out, C_in)
    for (let row = 0; row < width; row++) {
      for (let input = 0; input < inputs; input++) out[row * inputs + input] = source[input * outputs + index * width + row];
    }
    return out instanceof Uint16Array ? new HalfTensor(out, [width, inputs]) : new Tensor(out, [width, inputs]);
  };
  return { query: column(0), key: column(1), value: column(2) };
}

/**
 * One layer graph serves every layer (model/onnx/layer-graph.ts), so each weight must be stored
 * alike in every layer: where one layer's copy is float32 (a BF16 matrix beyond float16's range,
 * half-tensor.ts) and another's is float16, every layer's copy of that weight becomes float32.
 */
function storeAlikeAcrossLayers(layers: DecoderLayerWeights[]): void {
  for (const part of ["attention", "mlp"] as const) {
    const fields = new Set(layers.flatMap((layer) => Object.keys(layer[part])));
    for (const field of fields) {
      const kinds = new Set(layers.map((layer) => (layer[part] as unknown as Record<string, WeightTensor | undefined>)[field] instanceof HalfTensor));
      if (kinds.size < 2) continue;
      for (const layer of layers) {
        const stored = layer[part] as unknown as Record<string, WeightTensor | undefined>;
        const tensor = stored[field];
        if (tensor) stored[field] = float32Of(tensor);
      }
    }
  }
}

/** The inverse: checkpoint names to tensors, ready for `writeSafetensors` (safetensors-writer.ts) (GPT-2's matrices fused and transposed back). */
export function decoderWeightsToTensors(config: DecoderConfig, weights: DecoderWeights): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const entry of checkpointTensorLayout(config)) {
    const target = entry.target;
    let tensor: Tensor | undefined;
    switch (target.kind) {
      case "model":
        tensor = optionalFloat32(weights[target.field]);
        break;
      case "layer":
        tensor = weights.layers[target.layer][target.field] as Tensor | undefined;
        break;
      case "attention":
        tensor = optionalFloat32(weights.layers[target.layer].attention[target.field]);
        break;
      case "mlp": {
        const matrix = optionalFloat32(weights.layers[target.layer].mlp[target.field]);
        tensor = matrix && target.transposed ? (transposeWeight(matrix) as Tensor) : matrix;
        break;
      }
      case "fused-attention": {
        const attention = weights.layers[target.layer].attention;
        tensor =
          target.part === "bias"
            ? new Tensor(Float32Array.from([...attention.queryBias!.data, ...attention.keyBias!.data, ...attention.valueBias!.data]), entry.shape)
            : fuseAttention(attention);
        break;
      }
      case "attention-output":
        tensor = transposeWeight(float32Of(weights.layers[target.layer].attention.output)) as Tensor;
        break;
    }
    if (!tensor) throw new WeightsError(`decoderWeightsToTensors: the weights lack ${entry.name}`);
    tensors.set(entry.name, tensor);
  }
  return tensors;
}

function optionalFloat32(tensor: WeightTensor | undefined): Tensor | undefined {
  return tensor && float32Of(tensor);
}

/** W_q, W_k, W_v (C, C) each, stored (out, in) -> one Conv1D weight (C, 3C). */
function fuseAttention(attention: DecoderAttentionWeights): Tensor {
  const [width, inputs] = attention.query.shape;
  const parts = [attention.query, attention.key, attention.value].map(float32Of);
  return Tensor.fromFunction([inputs, 3 * width], ([input, column]) => parts[Math.floor(column / width)].data[(column % width) * inputs + input]);
}

/** A seeded standard normal sample per call (Box-Muller). */
export function seededNormal(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => {
    const u = Math.max(uniform(), Number.MIN_VALUE);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/**
 * Untrained weights for tests and demonstrations: normal(0, std) matrices and biases, norm gains
 * near 1 (`normJitter` moves them off 1 so a test notices a norm weight that is not applied).
 */
export function randomDecoderWeights(config: DecoderConfig, seed: number, std = 0.02, normJitter = 0): DecoderWeights {
  const normal = seededNormal(seed);
  const tensors = new Map<string, Tensor>();
  for (const entry of checkpointTensorLayout(config)) {
    const isGain = entry.role === "norm";
    tensors.set(entry.name, Tensor.fromFunction(entry.shape, () => (isGain ? 1 + normJitter * normal() : std * normal())));
  }
  return decoderWeightsFromTensors(config, tensors, "random weights");
}

/**
 * The model configuration, read from a Hugging Face `config.json`, for every decoder family this
 * project runs. `model_type` says the family; the fields are then read with that family's names and
 * defaults, so a GPT-2 config is never asked for Llama's fields.
 *
 *   family    model_type   what it adds to the Llama decoder
 *   llama     "llama"      attention_bias (q, k, v and o), mlp_bias, head_dim, RoPE scaling
 *                          ("default", "linear", "llama3")
 *   mistral   "mistral"    sliding_window: each query sees only the most recent keys
 *   qwen2     "qwen2"      q/k/v biases; use_sliding_window on some layers
 *   qwen3     "qwen3"      RMSNorm of every query and key head (q_norm, k_norm) before RoPE
 *   gpt2      "gpt2"       learned position embeddings, LayerNorm with bias, GELU MLP,
 *                          biases everywhere, multi-head attention
 *
 * The sizes, in the shape legend's letters:
 *
 *   hidden_size / n_embd              C    model width
 *   num_attention_heads / n_head      nh   query heads
 *   num_key_value_heads               nkv  key/value heads (nh: MHA, 1: MQA, in between: GQA)
 *   num_hidden_layers / n_layer       L    decoder layers
 *   intermediate_size / n_inner       I    width of the MLP
 *   head_dim                          hs   features per head (default C / nh)
 *   vocab_size                        V    tokens in the vocabulary
 *   max_position_embeddings / n_positions  longest sequence the model was made for
 */

import type { RopeScaling } from "../attention/rotary-embedding";

export type { RopeScaling } from "../attention/rotary-embedding";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The decoder families, by their `model_type`. */
export const MODEL_FAMILIES = ["llama", "mistral", "qwen2", "qwen3", "gpt2"] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

/** The nonlinearity of the MLP: SiLU (in SwiGLU), GELU with the tanh approximation, or exact GELU. */
export type MlpActivation = "silu" | "gelu-tanh" | "gelu";

export interface DecoderConfig {
  family: ModelFamily;
  hiddenSize: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  numHiddenLayers: number;
  intermediateSize: number;
  headDim: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** "rms": RMSNorm, a gain only (Llama, Mistral, Qwen); "layer": LayerNorm with gain and bias (GPT-2). */
  normalization: "rms" | "layer";
  /** The epsilon of every norm (rms_norm_eps, or layer_norm_epsilon for GPT-2). */
  normEpsilon: number;
  /** "rope": rotary embeddings of queries and keys; "learned": a position embedding table added to the tokens. */
  positionEncoding: "rope" | "learned";
  /** The RoPE base (unused with learned positions). */
  ropeTheta: number;
  ropeScaling: RopeScaling;
  /** SwiGLU (down(act(gate x) * up x)) when true; a plain two-layer MLP (down(act(up x))) when false. */
  gatedMlp: boolean;
  activation: MlpActivation;
  /** Biases on the q, k and v projections. */
  queryKeyValueBias: boolean;
  /** A bias on the output projection o_proj. */
  outputBias: boolean;
  /** Biases on the MLP's projections. */
  mlpBias: boolean;
  /** RMSNorm of each query and key head, over hs, before RoPE (Qwen3's q_norm and k_norm). */
  queryKeyNorm: boolean;
  /**
   * Per layer: how many of the most recent key slots a query may see (its own included), or null for
   * every earlier slot. Length L.
   */
  slidingWindows: (number | null)[];
  bosTokenId?: number;
  eosTokenId?: number;
  padTokenId?: number;
}

type Fields = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Field readers: each names the field and the file in its message.

function isPresent(fields: Fields, field: string): boolean {
  return fields[field] !== undefined && fields[field] !== null;
}

function positiveInteger(fields: Fields, field: string, source: string): number {
  const value = fields[field];
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${source}: "${field}" must be a positive integer, found ${JSON.stringify(value)}`);
  }
  return value;
}

function positiveNumber(fields: Fields, field: string, source: string): number {
  const value = fields[field];
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new ConfigError(`${source}: "${field}" must be a positive number, found ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalPositiveInteger(fields: Fields, field: string, source: string, fallback: number): number {
  return isPresent(fields, field) ? positiveInteger(fields, field, source) : fallback;
}

function optionalBoolean(fields: Fields, field: string, source: string, fallback: boolean): boolean {
  const value = fields[field] ?? fallback;
  if (typeof value !== "boolean") throw new ConfigError(`${source}: "${field}" must be true or false, found ${JSON.stringify(value)}`);
  return value;
}

function optionalTokenId(fields: Fields, field: string, source: string): number | undefined {
  const value = fields[field];
  if (value === undefined || value === null) return undefined;
  // Some configs list several end-of-sequence ids; the first is the one used for padding and display.
  const id = Array.isArray(value) ? value[0] : value;
  if (id === undefined) return undefined;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
    throw new ConfigError(`${source}: "${field}" must be a token id (a non-negative integer), found ${JSON.stringify(value)}`);
  }
  return id;
}

function requireFields(fields: Fields, required: readonly string[], family: string, source: string): void {
  const missing = required.filter((field) => fields[field] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(`${source} is missing ${missing.map((field) => `"${field}"`).join(", ")}; a ${family} config.json needs them`);
  }
}

// ---------------------------------------------------------------------------------------------
// RoPE: the base and the scaling, from `rope_parameters` (transformers 5) or `rope_theta` and
// `rope_scaling` (transformers 4).

const SUPPORTED_ROPE_TYPES = `"default", "linear" and "llama3"`;

function readRope(fields: Fields, source: string): { ropeTheta: number; ropeScaling: RopeScaling } {
  const parameters = isPresent(fields, "rope_parameters") ? fields.rope_parameters : fields.rope_scaling;
  const parametersField = isPresent(fields, "rope_parameters") ? "rope_parameters" : "rope_scaling";
  let ropeTheta = isPresent(fields, "rope_theta") ? positiveNumber(fields, "rope_theta", source) : 10000;
  if (parameters === undefined || parameters === null) return { ropeTheta, ropeScaling: { type: "default" } };
  if (typeof parameters !== "object" || Array.isArray(parameters)) {
    throw new ConfigError(`${source}: "${parametersField}" must be an object`);
  }
  const rope = parameters as Fields;
  const where = `${source} ${parametersField}`;
  if (isPresent(rope, "rope_theta")) ropeTheta = positiveNumber(rope, "rope_theta", where);
  const ropeType = rope.rope_type ?? rope.type ?? "default";
  switch (ropeType) {
    case "default":
      return { ropeTheta, ropeScaling: { type: "default" } };
    case "linear":
      return { ropeTheta, ropeScaling: { type: "linear", factor: positiveNumber(rope, "factor", where) } };
    case "llama3": {
      const lowFrequencyFactor = positiveNumber(rope, "low_freq_factor", where);
      const highFrequencyFactor = positiveNumber(rope, "high_freq_factor", where);
      if (!(highFrequencyFactor > lowFrequencyFactor)) {
        throw new ConfigError(`${where}: "high_freq_factor" (${highFrequencyFactor}) must be larger than "low_freq_factor" (${lowFrequencyFactor})`);
      }
      return {
        ropeTheta,
        ropeScaling: {
          type: "llama3",
          factor: positiveNumber(rope, "factor", where),
          lowFrequencyFactor,
          highFrequencyFactor,
          originalMaxPositionEmbeddings: positiveInteger(rope, "original_max_position_embeddings", where),
        },
      };
    }
    default:
      throw new ConfigError(
        `${where}: RoPE type ${JSON.stringify(ropeType)} is not supported; Attention Lens computes ${SUPPORTED_ROPE_TYPES} RoPE. ` +
          "Use a model without this scaling, or one whose config.json sets one of those types",
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Sliding windows, per layer.

/**
 * Which layers use a sliding window: `layer_types` ("sliding_attention" / "full_attention") when the
 * config lists them (transformers 5), else the family's rule: Mistral every layer when
 * `sliding_window` is set; Qwen2/Qwen3 the layers from `max_window_layers` on, when
 * `use_sliding_window` is true.
 */
function readSlidingWindows(fields: Fields, family: ModelFamily, layers: number, source: string): (number | null)[] {
  const full = () => Array.from({ length: layers }, (): number | null => null);
  if (family === "llama" || family === "gpt2") return full();
  const usesWindow = family === "mistral" ? isPresent(fields, "sliding_window") : fields.use_sliding_window === true;
  if (!usesWindow) return full();
  const window = positiveInteger(fields, "sliding_window", source);
  const layerTypes = fields.layer_types;
  if (isPresent(fields, "layer_types")) {
    if (!Array.isArray(layerTypes) || layerTypes.length !== layers) {
      throw new ConfigError(`${source}: "layer_types" must list one type per layer (${layers}), found ${JSON.stringify(layerTypes)}`);
    }
    return layerTypes.map((type, layer) => {
      if (type === "sliding_attention") return window;
      if (type === "full_attention") return null;
      throw new ConfigError(`${source}: layer_types[${layer}] is ${JSON.stringify(type)}; expected "sliding_attention" or "full_attention"`);
    });
  }
  if (family === "mistral") return Array.from({ length: layers }, () => window);
  const firstWindowLayer = optionalPositiveInteger(fields, "max_window_layers", source, 28);
  return Array.from({ length: layers }, (_, layer) => (layer >= firstWindowLayer ? window : null));
}

// ---------------------------------------------------------------------------------------------
// The families

const ROPE_FAMILY_REQUIRED = [
  "hidden_size",
  "num_attention_heads",
  "num_hidden_layers",
  "intermediate_size",
  "vocab_size",
  "max_position_embeddings",
  "rms_norm_eps",
] as const;

/** Heads and head size, shared by every family: nkv must divide nh; hs from head_dim or C / nh. */
function readHeads(
  fields: Fields,
  source: string,
  names: { width: string; heads: string },
  needsEvenHeadSize: boolean,
): { hiddenSize: number; numAttentionHeads: number; numKeyValueHeads: number; headDim: number } {
  const hiddenSize = positiveInteger(fields, names.width, source);
  const numAttentionHeads = positiveInteger(fields, names.heads, source);
  const numKeyValueHeads = optionalPositiveInteger(fields, "num_key_value_heads", source, numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    throw new ConfigError(`${source}: num_key_value_heads (${numKeyValueHeads}) must divide ${names.heads} (${numAttentionHeads})`);
  }
  let headDim: number;
  if (isPresent(fields, "head_dim")) {
    headDim = positiveInteger(fields, "head_dim", source);
  } else {
    if (hiddenSize % numAttentionHeads !== 0) {
      throw new ConfigError(`${source}: ${names.width} (${hiddenSize}) is not divisible by ${names.heads} (${numAttentionHeads}); set head_dim`);
    }
    headDim = hiddenSize / numAttentionHeads;
  }
  if (needsEvenHeadSize && headDim % 2 !== 0) throw new ConfigError(`${source}: the head size (${headDim}) must be even for RoPE`);
  return { hiddenSize, numAttentionHeads, numKeyValueHeads, headDim };
}

function tokenIds(fields: Fields, source: string): Pick<DecoderConfig, "bosTokenId" | "eosTokenId" | "padTokenId"> {
  return {
    bosTokenId: optionalTokenId(fields, "bos_token_id", source),
    eosTokenId: optionalTokenId(fields, "eos_token_id", source),
    padTokenId: optionalTokenId(fields, "pad_token_id", source),
  };
}

/** Llama, Mistral, Qwen2 and Qwen3: RMSNorm, RoPE, SwiGLU, grouped-query attention. */
function parseRopeFamily(fields: Fields, family: Exclude<ModelFamily, "gpt2">, source: string): DecoderConfig {
  requireFields(fields, ROPE_FAMILY_REQUIRED, family, source);
  if (isPresent(fields, "hidden_act") && fields.hidden_act !== "silu") {
    throw new ConfigError(`${source}: hidden_act ${JSON.stringify(fields.hidden_act)} is not supported; the ${family} family uses "silu"`);
  }
  const heads = readHeads(fields, source, { width: "hidden_size", heads: "num_attention_heads" }, true);
  const numHiddenLayers = positiveInteger(fields, "num_hidden_layers", source);
  // Which projections carry biases: Llama's attention_bias covers q, k, v and o; Qwen2 always has
  // q/k/v biases and none on o; Qwen3 follows attention_bias like Llama; Mistral has none.
  const attentionBias = family === "mistral" ? false : optionalBoolean(fields, "attention_bias", source, false);
  const queryKeyValueBias = family === "qwen2" ? true : attentionBias;
  const outputBias = family === "qwen2" ? false : attentionBias;
  const mlpBias = family === "llama" ? optionalBoolean(fields, "mlp_bias", source, false) : false;
  return {
    family,
    ...heads,
    numHiddenLayers,
    intermediateSize: positiveInteger(fields, "intermediate_size", source),
    vocabSize: positiveInteger(fields, "vocab_size", source),
    maxPositionEmbeddings: positiveInteger(fields, "max_position_embeddings", source),
    // LlamaConfig, MistralConfig, Qwen2Config and Qwen3Config all default to untied.
    tieWordEmbeddings: optionalBoolean(fields, "tie_word_embeddings", source, false),
    normalization: "rms",
    normEpsilon: positiveNumber(fields, "rms_norm_eps", source),
    positionEncoding: "rope",
    ...readRope(fields, source),
    gatedMlp: true,
    activation: "silu",
    queryKeyValueBias,
    outputBias,
    mlpBias,
    queryKeyNorm: family === "qwen3",
    slidingWindows: readSlidingWindows(fields, family, numHiddenLayers, source),
    ...tokenIds(fields, source),
  };
}

const GPT2_REQUIRED = ["n_embd", "n_head", "n_layer", "n_positions", "vocab_size"] as const;

const GPT2_ACTIVATIONS: Record<string, MlpActivation> = {
  gelu_new: "gelu-tanh",
  gelu_pytorch_tanh: "gelu-tanh",
  gelu_fast: "gelu-tanh",
  gelu: "gelu",
};

/** GPT-2: learned positions, LayerNorm, a GELU MLP, biases everywhere, multi-head attention. */
function parseGpt2(fields: Fields, source: string): DecoderConfig {
  requireFields(fields, GPT2_REQUIRED, "gpt2", source);
  if (isPresent(fields, "num_key_value_heads")) {
    throw new ConfigError(`${source}: a gpt2 config has no "num_key_value_heads"; GPT-2 is multi-head attention`);
  }
  const activationName = fields.activation_function ?? "gelu_new";
  const activation = GPT2_ACTIVATIONS[String(activationName)];
  if (activation === undefined) {
    throw new ConfigError(
      `${source}: activation_function ${JSON.stringify(activationName)} is not supported; GPT-2 models use one of ${Object.keys(GPT2_ACTIVATIONS).map((name) => `"${name}"`).join(", ")}`,
    );
  }
  if (fields.scale_attn_by_inverse_layer_idx === true) {
    throw new ConfigError(`${source}: "scale_attn_by_inverse_layer_idx": true is not supported; it is false in GPT-2 checkpoints`);
  }
  if (fields.scale_attn_weights === false) {
    throw new ConfigError(`${source}: "scale_attn_weights": false is not supported; GPT-2 scales scores by 1 / sqrt(head size)`);
  }
  const heads = readHeads(fields, source, { width: "n_embd", heads: "n_head" }, false);
  const numHiddenLayers = positiveInteger(fields, "n_layer", source);
  return {
    family: "gpt2",
    ...heads,
    numHiddenLayers,
    intermediateSize: optionalPositiveInteger(fields, "n_inner", source, 4 * heads.hiddenSize),
    vocabSize: positiveInteger(fields, "vocab_size", source),
    maxPositionEmbeddings: positiveInteger(fields, "n_positions", source),
    tieWordEmbeddings: optionalBoolean(fields, "tie_word_embeddings", source, true),
    normalization: "layer",
    normEpsilon: isPresent(fields, "layer_norm_epsilon") ? positiveNumber(fields, "layer_norm_epsilon", source) : 1e-5,
    positionEncoding: "learned",
    ropeTheta: 10000,
    ropeScaling: { type: "default" },
    gatedMlp: false,
    activation,
    queryKeyValueBias: true,
    outputBias: true,
    mlpBias: true,
    queryKeyNorm: false,
    slidingWindows: Array.from({ length: numHiddenLayers }, () => null),
    ...tokenIds(fields, source),
  };
}

/**
 * Reads a parsed `config.json`. `model_type` first (absent means "llama", as the bundled models and
 * older Llama exports write it), then that family's fields. Every problem names the field and the file.
 */
export function parseModelConfig(json: unknown, source = "config.json"): DecoderConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(`${source}: expected a JSON object with the model's sizes`);
  }
  const fields = json as Fields;
  const modelType = fields.model_type ?? "llama";
  if (typeof modelType !== "string") throw new ConfigError(`${source}: "model_type" must be a string, found ${JSON.stringify(modelType)}`);
  switch (modelType) {
    case "llama":
    case "mistral":
    case "qwen2":
    case "qwen3":
      return parseRopeFamily(fields, modelType, source);
    case "gpt2":
      return parseGpt2(fields, source);
    default:
      throw new ConfigError(
        `${source}: model_type ${JSON.stringify(modelType)} is not supported; Attention Lens runs ${MODEL_FAMILIES.map((family) => `"${family}"`).join(", ")} models`,
      );
  }
}

/** "GQA", "MQA" or "MHA", from the head counts. */
export function attentionKind(config: Pick<DecoderConfig, "numAttentionHeads" | "numKeyValueHeads">): "MHA" | "GQA" | "MQA" {
  if (config.numKeyValueHeads === config.numAttentionHeads) return "MHA";
  return config.numKeyValueHeads === 1 ? "MQA" : "GQA";
}

/** The `config.json` a Hugging Face `LlamaForCausalLM` loads (the bundled models and exports are Llama). */
export function toHuggingFaceConfig(config: DecoderConfig): Record<string, unknown> {
  if (config.family !== "llama" || config.ropeScaling.type !== "default" || config.queryKeyValueBias || config.mlpBias) {
    throw new ConfigError(`toHuggingFaceConfig writes plain Llama configs only; this one is ${config.family} with extras`);
  }
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: config.hiddenSize,
    num_attention_heads: config.numAttentionHeads,
    num_key_value_heads: config.numKeyValueHeads,
    num_hidden_layers: config.numHiddenLayers,
    intermediate_size: config.intermediateSize,
    head_dim: config.headDim,
    hidden_act: "silu",
    rope_theta: config.ropeTheta,
    rope_scaling: null,
    rms_norm_eps: config.normEpsilon,
    vocab_size: config.vocabSize,
    max_position_embeddings: config.maxPositionEmbeddings,
    tie_word_embeddings: config.tieWordEmbeddings,
    attention_bias: false,
    mlp_bias: false,
    ...(config.bosTokenId === undefined ? {} : { bos_token_id: config.bosTokenId }),
    ...(config.eosTokenId === undefined ? {} : { eos_token_id: config.eosTokenId }),
    ...(config.padTokenId === undefined ? {} : { pad_token_id: config.padTokenId }),
    torch_dtype: "float32",
  };
}

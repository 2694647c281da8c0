/**
 * The model configuration, read from and written to a Hugging Face `config.json` of the Llama
 * family (model_type "llama"), so a checkpoint folder works here and in `transformers` alike.
 *
 *   hidden_size              C    model width
 *   num_attention_heads      nh   query heads
 *   num_key_value_heads      nkv  key/value heads (nh: MHA, 1: MQA, in between: GQA)
 *   num_hidden_layers        L    decoder layers
 *   intermediate_size             width of the SwiGLU MLP
 *   head_dim                 hs   features per head (default C / nh)
 *   rope_theta                    RoPE base
 *   rms_norm_eps                  epsilon of RMSNorm
 *   vocab_size               V    tokens in the vocabulary
 *   max_position_embeddings       longest sequence the model was made for
 *   tie_word_embeddings           the output head reuses the token embedding matrix
 */

export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface DecoderConfig {
  hiddenSize: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  numHiddenLayers: number;
  intermediateSize: number;
  headDim: number;
  ropeTheta: number;
  normEpsilon: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenId?: number;
  padTokenId?: number;
}

/** Fields that must be present: without them the weights cannot be read. */
const REQUIRED_FIELDS = [
  "hidden_size",
  "num_attention_heads",
  "num_hidden_layers",
  "intermediate_size",
  "vocab_size",
  "max_position_embeddings",
  "rms_norm_eps",
] as const;

/** Fields Hugging Face's DecoderConfig gives a default, with that default. */
const DEFAULTS = { rope_theta: 10000, tie_word_embeddings: false } as const;

function positiveInteger(json: Record<string, unknown>, field: string, source: string): number {
  const value = json[field];
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${source}: "${field}" must be a positive integer, found ${JSON.stringify(value)}`);
  }
  return value;
}

function positiveNumber(json: Record<string, unknown>, field: string, source: string): number {
  const value = json[field];
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new ConfigError(`${source}: "${field}" must be a positive number, found ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalTokenId(json: Record<string, unknown>, field: string, source: string): number | undefined {
  const value = json[field];
  if (value === undefined || value === null) return undefined;
  // Some configs list several end-of-sequence ids; the first is the one used for padding and display.
  const id = Array.isArray(value) ? value[0] : value;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
    throw new ConfigError(`${source}: "${field}" must be a token id (a non-negative integer), found ${JSON.stringify(value)}`);
  }
  return id;
}

/**
 * The RoPE base: `rope_theta` at the top level (transformers 4), or inside `rope_parameters`
 * (transformers 5), whose `rope_type` must be "default" (no scaling).
 */
function readRopeTheta(fields: Record<string, unknown>, source: string): number {
  const parameters = fields.rope_parameters;
  if (parameters !== undefined && parameters !== null) {
    if (typeof parameters !== "object" || Array.isArray(parameters)) {
      throw new ConfigError(`${source}: "rope_parameters" must be an object`);
    }
    const ropeParameters = parameters as Record<string, unknown>;
    const ropeType = ropeParameters.rope_type ?? "default";
    if (ropeType !== "default") {
      throw new ConfigError(`${source}: rope_type "${String(ropeType)}" is not supported; only "default" RoPE is`);
    }
    if (ropeParameters.rope_theta !== undefined) return positiveNumber(ropeParameters, "rope_theta", `${source} rope_parameters`);
  }
  return fields.rope_theta === undefined ? DEFAULTS.rope_theta : positiveNumber(fields, "rope_theta", source);
}

/** Reads a parsed `config.json`. Every problem names the field and the file. */
export function parseModelConfig(json: unknown, source = "config.json"): DecoderConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(`${source}: expected a JSON object with the model's sizes`);
  }
  const fields = json as Record<string, unknown>;
  const missing = REQUIRED_FIELDS.filter((field) => fields[field] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(`${source} is missing ${missing.map((field) => `"${field}"`).join(", ")}; a Llama-family config.json needs them`);
  }
  const modelType = fields.model_type;
  if (modelType !== undefined && modelType !== "llama") {
    throw new ConfigError(`${source}: model_type "${String(modelType)}" is not supported; this decoder reads Llama-family models ("llama")`);
  }
  if (fields.hidden_act !== undefined && fields.hidden_act !== "silu") {
    throw new ConfigError(`${source}: hidden_act "${String(fields.hidden_act)}" is not supported; Llama uses "silu"`);
  }
  if (fields.rope_scaling !== undefined && fields.rope_scaling !== null) {
    throw new ConfigError(`${source}: rope_scaling is not supported; remove it or set it to null`);
  }
  const ropeTheta = readRopeTheta(fields, source);
  if (fields.attention_bias === true || fields.mlp_bias === true) {
    throw new ConfigError(`${source}: attention_bias and mlp_bias are not supported (Llama has no biases)`);
  }

  const hiddenSize = positiveInteger(fields, "hidden_size", source);
  const numAttentionHeads = positiveInteger(fields, "num_attention_heads", source);
  const numKeyValueHeads =
    fields.num_key_value_heads === undefined || fields.num_key_value_heads === null
      ? numAttentionHeads
      : positiveInteger(fields, "num_key_value_heads", source);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    throw new ConfigError(
      `${source}: num_key_value_heads (${numKeyValueHeads}) must divide num_attention_heads (${numAttentionHeads})`,
    );
  }
  let headDim: number;
  if (fields.head_dim === undefined || fields.head_dim === null) {
    if (hiddenSize % numAttentionHeads !== 0) {
      throw new ConfigError(`${source}: hidden_size (${hiddenSize}) is not divisible by num_attention_heads (${numAttentionHeads}); set head_dim`);
    }
    headDim = hiddenSize / numAttentionHeads;
  } else {
    headDim = positiveInteger(fields, "head_dim", source);
  }
  if (headDim % 2 !== 0) throw new ConfigError(`${source}: the head size (${headDim}) must be even for RoPE`);

  const tie = fields.tie_word_embeddings ?? DEFAULTS.tie_word_embeddings;
  if (typeof tie !== "boolean") {
    throw new ConfigError(`${source}: "tie_word_embeddings" must be true or false, found ${JSON.stringify(tie)}`);
  }
  return {
    hiddenSize,
    numAttentionHeads,
    numKeyValueHeads,
    numHiddenLayers: positiveInteger(fields, "num_hidden_layers", source),
    intermediateSize: positiveInteger(fields, "intermediate_size", source),
    headDim,
    ropeTheta,
    normEpsilon: positiveNumber(fields, "rms_norm_eps", source),
    vocabSize: positiveInteger(fields, "vocab_size", source),
    maxPositionEmbeddings: positiveInteger(fields, "max_position_embeddings", source),
    tieWordEmbeddings: tie,
    bosTokenId: optionalTokenId(fields, "bos_token_id", source),
    eosTokenId: optionalTokenId(fields, "eos_token_id", source),
    padTokenId: optionalTokenId(fields, "pad_token_id", source),
  };
}

/** The `config.json` a Hugging Face `LlamaForCausalLM` loads. */
export function toHuggingFaceConfig(config: DecoderConfig): Record<string, unknown> {
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

/**
 * The names of the decoder graph's inputs and outputs (as in Hugging Face ONNX exports), by layer.
 * The graph (decoder-graph.ts), its input preparation (graph-inputs.ts) and the runtime
 * (runtime/onnx-decoder.ts) all use these.
 */

export const GraphNames = {
  inputIds: "input_ids",
  attentionMask: "attention_mask",
  positionIds: "position_ids",
  logits: "logits",
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
  attentions: (layer: number) => `attentions.${layer}`,
} as const;

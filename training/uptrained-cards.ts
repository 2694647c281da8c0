/**
 * The model card of an uptrained model (training/uptrain.py): a grouped-query or multi-query model
 * made from the multi-head model by pooling its key/value heads, then trained a little more. The
 * card reports each number at three points: the multi-head model before conversion, the converted
 * model right after it (no training), and after uptraining. Validation losses come from
 * training.json (uptrain.py measured them); head scores are measured here with the extension's
 * own code (src/model/head-metrics.ts) on the three models, the converted one made by the
 * extension's own conversion (src/model/key-value-conversion.ts).
 *
 * Used by training/model-cards.ts, which writes every bundled model's card.
 */

import type { DecoderConfig } from "../src/model/config";
import type { ModelHeadMetrics } from "../src/model/head-metrics";

/** What uptrain.py wrote to training.json. */
export interface UptrainingRecord {
  variant: string;
  num_key_value_heads: number;
  uptrained_from: string;
  conversion: "mean" | "first";
  fraction_of_source_tokens: number;
  source_tokens_seen: number;
  steps: number;
  batch_size: number;
  context: number;
  tokens_seen: number;
  learning_rate: number;
  warmup_steps: number;
  weight_decay: number;
  seed: number;
  data_mix?: "phased" | "overall";
  repeat_fraction: number;
  /** Share of rows read in short pieces, each piece twice (train.py's --dense-repeat-fraction). */
  dense_repeat_fraction?: number;
  torch_version?: string;
  before_conversion: Evaluation;
  after_conversion: Evaluation;
  history: (Evaluation & { step: number; tokens_seen: number; train_loss: number })[];
  /** Runs that were tried and not kept, with what they reached. */
  experiments?: { description: string; outcome: string }[];
}

interface Evaluation {
  validation_loss_prose: number;
  validation_loss_code: number;
  best_induction?: number;
  best_previous_token?: number;
}

export function isUptrainingRecord(record: unknown): record is UptrainingRecord {
  return typeof record === "object" && record !== null && typeof (record as UptrainingRecord).uptrained_from === "string";
}

/** One model's facts the card needs, at one of the three points. */
export interface CardPoint {
  metrics: ModelHeadMetrics;
  validationProse: number;
  validationCode: number;
}

export interface UptrainedCardInput {
  id: string;
  config: DecoderConfig;
  training: UptrainingRecord;
  parameters: number;
  fileBytes: number;
  /** The multi-head model, the converted model (no training), the uptrained model. */
  before: CardPoint;
  converted: CardPoint;
  after: CardPoint;
  /** The from-scratch model with the same key/value heads, when there is one. */
  fromScratch?: { id: string; point: CardPoint; tokensSeen: number };
  headTable: (metrics: ModelHeadMetrics) => string;
  best: (metrics: ModelHeadMetrics, key: "previousToken" | "induction") => { value: number; layer: number; head: number };
  targets: { previousToken: number; induction: number };
}

const fixed = (value: number, digits = 3) => value.toFixed(digits);
const millions = (tokens: number) => `${(tokens / 1e6).toFixed(2)}M`;
const signed = (value: number) => `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(3)}`;

/** The shares of rows that hold text twice: a span twice, or short pieces each twice. */
function repeatedRows(training: UptrainingRecord): string {
  const spans = `${Math.round(training.repeat_fraction * 100)}% of the rows hold a span of text twice`;
  const dense = training.dense_repeat_fraction ?? 0;
  return dense > 0 ? `${spans} and ${Math.round(dense * 100)}% read their text in pieces of 8-64 tokens, each piece twice` : spans;
}

export function uptrainedCard(input: UptrainedCardInput): string {
  const { id, config, training, before, converted, after, fromScratch, best, targets } = input;
  const kind = config.numKeyValueHeads === 1 ? "multi-query attention (MQA)" : "grouped-query attention (GQA)";
  const method = training.conversion === "mean" ? "the mean of the heads it replaces" : "the first of the heads it replaces";
  const row = (label: string, point: CardPoint) => {
    const previous = best(point.metrics, "previousToken");
    const induction = best(point.metrics, "induction");
    return `| ${label} | ${fixed(point.validationProse)} | ${fixed(point.validationCode)} | ${fixed(previous.value)} (layer ${previous.layer} head ${previous.head}) | ${fixed(induction.value)} (layer ${induction.layer} head ${induction.head}) |`;
  };
  const verdict = (value: number, target: number) => (value >= target ? `meets the target of ${target}` : `below the target of ${target}`);
  const afterPrevious = best(after.metrics, "previousToken").value;
  const afterInduction = best(after.metrics, "induction").value;
  return `# ${id}

A small Llama-style decoder with ${kind}: ${config.numAttentionHeads} query heads and ${config.numKeyValueHeads} key/value head(s) in each of ${config.numHiddenLayers} layers, **uptrained from ${training.uptrained_from}** as Ainslie et al. (2023, "GQA: Training Generalized Multi-Query Transformer Models from Multi-Head Checkpoints") do: each group of ${config.numAttentionHeads / config.numKeyValueHeads} key (and value) heads of the multi-head model became one, ${method}, and the converted model was trained on ${Math.round(training.fraction_of_source_tokens * 100)}% of the multi-head model's training tokens. Bundled with Attention Lens beside the models trained from scratch; a plain Hugging Face checkpoint (\`LlamaForCausalLM\`).

## Before conversion, right after it, after uptraining

| model | validation loss, prose | validation loss, code | best previous-token head | best induction head |
| --- | --- | --- | --- | --- |
${row(`${training.uptrained_from} (before conversion)`, before)}
${row("converted, no training", converted)}
${row(`${id} (after uptraining)`, after)}
${fromScratch ? `${row(`${fromScratch.id} (from scratch, ${millions(fromScratch.tokensSeen)} tokens)`, fromScratch.point)}\n` : ""}
Losses in nats per token on the held-out prose and code (measured by \`training/uptrain.py\`); head
scores measured by \`training/model-cards.ts\` with the extension's own code, the converted model made
by the extension's own conversion (\`src/model/key-value-conversion.ts\`, the same that "Attention Lens:
Convert to GQA..." applies in the panel). After uptraining: previous-token ${fixed(afterPrevious)} (${verdict(afterPrevious, targets.previousToken)}),
induction ${fixed(afterInduction)} (${verdict(afterInduction, targets.induction)}).

Grouping the heads without training costs ${fixed(converted.validationProse - before.validationProse, 2)} nats per token on prose and
${fixed(converted.validationCode - before.validationCode, 2)} on code, and breaks the heads that depended on their own keys; ${millions(training.tokens_seen)} tokens of
training bring the loss back to ${fixed(after.validationProse)} and ${fixed(after.validationCode)}, ${signed(after.validationProse - before.validationProse)} and ${signed(after.validationCode - before.validationCode)} from ${training.uptrained_from}'s.

## Uptraining

- Conversion: \`training/key_value_conversion.py\` (${training.conversion === "mean" ? "mean-pooled" : "first head of each group"}), then \`training/uptrain.py\`, resumable from \`training/checkpoints/\`.
- ${training.steps.toLocaleString("en-US")} steps of ${training.batch_size} x ${training.context} tokens: **${millions(training.tokens_seen)} tokens**, ${Math.round(training.fraction_of_source_tokens * 100)}% of the ${millions(training.source_tokens_seen)} that ${training.uptrained_from} saw.
- The same corpus and tokenizer; windows at offsets of their own (seed ${training.seed}); ${
    training.data_mix === "overall"
      ? `${repeatedRows(training)}, ${training.uptrained_from}'s shares over its whole run`
      : `rows holding text twice as ${training.uptrained_from}'s run had them, its phases compressed into these steps (in all, ${repeatedRows(training)})`
  }.
- AdamW (betas 0.9, 0.95, weight decay ${training.weight_decay}), peak learning rate ${training.learning_rate}, ${training.warmup_steps} warm-up steps then cosine decay to a tenth; gradient clipping at 1. PyTorch ${training.torch_version ?? ""} on 2 CPU cores. The grouped-query and multi-query models were uptrained identically.

| step | tokens | train loss | validation prose | validation code | best previous-token | best induction |
| --- | --- | --- | --- | --- | --- | --- |
| 0 (converted) | 0 | | ${fixed(training.after_conversion.validation_loss_prose)} | ${fixed(training.after_conversion.validation_loss_code)} | ${fixed(training.after_conversion.best_previous_token ?? 0)} | ${fixed(training.after_conversion.best_induction ?? 0)} |
${training.history.map((entry) => `| ${entry.step} | ${millions(entry.tokens_seen)} | ${fixed(entry.train_loss)} | ${fixed(entry.validation_loss_prose)} | ${fixed(entry.validation_loss_code)} | ${fixed(entry.best_previous_token ?? 0)} | ${fixed(entry.best_induction ?? 0)} |`).join("\n")}

(The head scores in this table come from \`train.py\`'s quicker measurement on another random sequence.)
${
  training.experiments && training.experiments.length > 0
    ? `
Runs tried before this one and not kept:

${training.experiments.map((experiment) => `- ${experiment.description}: ${experiment.outcome}`).join("\n")}
`
    : ""
}
## Heads

Computed with the extension's own code (\`src/model/head-metrics.ts\`): previous-token score, sink
mass and entropy on a fixed text (a paragraph of prose and a TypeScript function, after <|bos|>);
induction score on 50 random tokens repeated twice after <|bos|>.

${input.headTable(after.metrics)}

## Limits

A model this small knows little; it is here to show what attention does, and what grouping the
key/value heads does to it, not to answer questions.
`;
}

/**
 * Writes the model card of every bundled model, and the side-by-side comparison, from the model
 * folders themselves: the head metrics are computed here by the project's TypeScript code
 * (src/model/head-metrics.ts, the same code the extension uses), the training numbers come from
 * the `training.json` that training/train.py wrote beside the weights.
 *
 *   npx tsx training/model-cards.ts            # every folder under media/models
 *
 * Writes media/models/<id>/README.md, media/models/<id>/head-metrics.json and media/models/README.md.
 */

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseModelConfig, type DecoderConfig } from "../src/model/config";
import { measureHeads, type ModelHeadMetrics } from "../src/model/head-metrics";
import { DecoderModel } from "../src/model/decoder-model";
import { readSafetensors } from "../src/model/safetensors";
import { TextTokenizer } from "../src/model/tokenizer";
import { convertKeyValueHeads } from "../src/model/key-value-conversion";
import { decoderWeightsFromTensors } from "../src/model/weights";
import { isUptrainingRecord, uptrainedCard, type CardPoint, type UptrainingRecord } from "./uptrained-cards";

// training/ is an ES module package (training/package.json), so there is no __dirname.
const MODELS = resolve(dirname(fileURLToPath(import.meta.url)), "..", "media", "models");

/** The text the previous-token, sink and entropy metrics are measured on: prose, then code. */
export const METRICS_TEXT = `The committee met on Tuesday to review the budget. After a long debate, the members agreed that
the new library would open in the spring, and that the old reading room would stay open until then.

export function mergeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const merged: Range[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.start <= last.end) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}
`;

/** Thresholds the project asks of every bundled model. */
const PREVIOUS_TOKEN_TARGET = 0.5;
const INDUCTION_TARGET = 0.3;

interface TrainingPhase {
  from_step: number;
  to_step: number;
  peak_learning_rate: number;
  warmup_steps: number;
  /** Share of training rows holding a span of text twice (`--repeat-fraction`). */
  repeat_fraction: number;
  /** Share of training rows read in short pieces, each piece twice (`--dense-repeat-fraction`). */
  dense_repeat_fraction?: number;
  /** The phase started from the saved float16 weights with a fresh optimizer (`--start-from-folder`). */
  optimizer_restarted?: boolean;
}

interface TrainingRecord {
  variant: string;
  num_key_value_heads: number;
  steps: number;
  batch_size: number;
  context: number;
  tokens_seen: number;
  learning_rate: number;
  warmup_steps: number;
  weight_decay: number;
  seed: number;
  torch_version?: string;
  /** Later phases (`--continue-from`): from `from_step`, a new warm-up to the peak and a cosine decay. */
  phases?: TrainingPhase[];
  /** Runs that were tried after these weights and not kept, with what they reached. */
  experiments?: { description: string; outcome: string }[];
  /** Wall-clock minutes the three side-by-side runs took (recorded by hand from the logs). */
  wall_minutes?: number;
  history: {
    step: number;
    tokens_seen: number;
    train_loss: number;
    validation_loss_prose: number;
    validation_loss_code: number;
    best_induction?: number;
    best_previous_token?: number;
  }[];
}

interface ModelSummary {
  id: string;
  config: DecoderConfig;
  training: TrainingRecord | UptrainingRecord;
  metrics: ModelHeadMetrics;
  parameters: number;
  fileBytes: number;
}

function best(metrics: ModelHeadMetrics, key: "previousToken" | "induction"): { value: number; layer: number; head: number } {
  let found = { value: -1, layer: 0, head: 0 };
  metrics.forEach((heads, layer) =>
    heads.forEach((head, index) => {
      if (head[key] > found.value) found = { value: head[key], layer, head: index };
    }),
  );
  return found;
}

const fixed = (value: number, digits = 3) => value.toFixed(digits);

/** The head metrics of `model` on the metrics text and the repeated random tokens. */
function metricsOf(model: DecoderModel, tokenizer: TextTokenizer): ModelHeadMetrics {
  const textIds = tokenizer.encode(METRICS_TEXT, { addBos: true }).ids;
  return measureHeads(model, { textIds, firstTokenId: tokenizer.bosTokenId!, repeatLength: 50, seed: 0, firstOrdinaryId: 3 });
}

function summarize(id: string): ModelSummary {
  const folder = join(MODELS, id);
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${id}/config.json`);
  const weightsBytes = readFileSync(join(folder, "model.safetensors"));
  const file = readSafetensors(weightsBytes, `${id}/model.safetensors`);
  const model = DecoderModel.fromTensors(config, file.tensors, `${id}/model.safetensors`);
  const tokenizer = TextTokenizer.fromJson(readFileSync(join(folder, "tokenizer.json"), "utf8"), `${id}/tokenizer.json`);
  const metrics = metricsOf(model, tokenizer);
  const training = JSON.parse(readFileSync(join(folder, "training.json"), "utf8")) as TrainingRecord | UptrainingRecord;
  const parameters = [...file.tensors.values()].reduce((sum, tensor) => sum + tensor.size, 0);
  return { id, config, training, metrics, parameters, fileBytes: weightsBytes.byteLength };
}

/** What a phase's rows held besides ordinary windows of the corpus, or "" for ordinary rows only. */
function phaseRows(phase: TrainingPhase): string {
  const parts = [];
  if (phase.repeat_fraction > 0) parts.push(`${Math.round(phase.repeat_fraction * 100)}% of the rows hold a span of text twice (\`--repeat-fraction\`)`);
  if ((phase.dense_repeat_fraction ?? 0) > 0)
    parts.push(`${Math.round(phase.dense_repeat_fraction! * 100)}% of the rows read their text in pieces of 8-64 tokens, each piece twice (\`--dense-repeat-fraction\`)`);
  return parts.join("; ");
}

/** What each phase with repeated text did to the best induction score (the training-time metric). */
function repeatPhaseNote(training: TrainingRecord): string {
  const scoreAt = (step: number) => [...training.history].reverse().find((entry) => entry.step <= step)?.best_induction;
  const lines = (training.phases ?? [])
    .filter((phase) => phaseRows(phase) !== "")
    .map((phase) => {
      const before = scoreAt(phase.from_step);
      const after = scoreAt(phase.to_step);
      const tokens = (((phase.to_step - phase.from_step) * training.batch_size * training.context) / 1e6).toFixed(1);
      const change = before === undefined || after === undefined ? "" : `: the best induction score went from ${fixed(before)} to ${fixed(after)}`;
      return `- steps ${phase.from_step.toLocaleString("en-US")}-${phase.to_step.toLocaleString("en-US")} (${tokens}M tokens), ${phaseRows(phase).replace(/ \(`[^`]*`\)/g, "")}${change}`;
    });
  if (lines.length === 0) return "";
  return `Training phases in which rows hold text twice reward copying from context, the job of an
induction head (scores from \`train.py\` during training):

${lines.join("\n")}
`;
}

/** For a model that has an induction head: when it formed. */
function inductionFormed(training: TrainingRecord): string {
  const first = training.history.find((entry) => (entry.best_induction ?? 0) >= INDUCTION_TARGET * 0.5);
  const note = repeatPhaseNote(training);
  if (!first && !note) return "";
  return `## When the induction head formed

${first ? `The best induction score first passed ${INDUCTION_TARGET * 0.5} at step ${first.step.toLocaleString("en-US")} (${(first.tokens_seen / 1e6).toFixed(1)}M tokens).\n\n` : ""}${note}
`;
}

function headTable(metrics: ModelHeadMetrics): string {
  const rows = ["| layer | head | previous-token | induction | sink mass | entropy (nats) |", "| --- | --- | --- | --- | --- | --- |"];
  metrics.forEach((heads, layer) =>
    heads.forEach((head, index) =>
      rows.push(`| ${layer} | ${index} | ${fixed(head.previousToken)} | ${fixed(head.induction)} | ${fixed(head.sinkMass)} | ${fixed(head.entropy, 2)} |`),
    ),
  );
  return rows.join("\n");
}

function modelCard(summary: ModelSummary & { training: TrainingRecord }, reference: ModelSummary | undefined): string {
  const { config, training, metrics } = summary;
  const last = training.history[training.history.length - 1];
  const previous = best(metrics, "previousToken");
  const induction = best(metrics, "induction");
  const kind = config.numKeyValueHeads === config.numAttentionHeads ? "multi-head attention (MHA)" : config.numKeyValueHeads === 1 ? "multi-query attention (MQA)" : "grouped-query attention (GQA)";
  const verdict = (value: number, target: number) => (value >= target ? `meets the target of ${target}` : `below the target of ${target}`);
  return `# ${summary.id}

A small Llama-style decoder with ${kind}: ${config.numAttentionHeads} query heads and ${config.numKeyValueHeads} key/value head(s) in each of ${config.numHiddenLayers} layers. It is one of three models trained identically except for the number of key/value heads, so that comparing them compares the attention variants. Bundled with Attention Lens; a plain Hugging Face checkpoint (\`LlamaForCausalLM\`).

## Architecture

| | |
| --- | --- |
| layers | ${config.numHiddenLayers} |
| model width C | ${config.hiddenSize} |
| query heads / key-value heads / head size | ${config.numAttentionHeads} / ${config.numKeyValueHeads} / ${config.headDim} |
| MLP (SwiGLU) width | ${config.intermediateSize} |
| context | ${config.maxPositionEmbeddings} tokens |
| positions | RoPE, theta ${config.ropeTheta} |
| vocabulary | ${config.vocabSize} (byte-level BPE trained by the project, \`tokenizer.json\`) |
| embeddings | tied (${config.tieWordEmbeddings}) |
| parameters | ${summary.parameters.toLocaleString("en-US")} |
| weights file | ${(summary.fileBytes / 1048576).toFixed(2)} MiB (float16) |
| KV cache per token | ${(2 * config.numHiddenLayers * config.numKeyValueHeads * config.headDim * 4).toLocaleString("en-US")} bytes in float32 |

## Training

- Data: English prose (State of the Union addresses, WordNet glosses, the CIA World Factbook) and
  JavaScript/TypeScript source of permissively licensed npm packages, assembled by
  \`training/corpus/build-corpus.mjs\`; sources and licences in \`CORPUS.md\`. About 2% of the documents
  of each kind are held out for validation.
- ${training.steps.toLocaleString("en-US")} steps of ${training.batch_size} x ${training.context} tokens: **${(training.tokens_seen / 1e6).toFixed(1)}M tokens seen**.
- AdamW (betas 0.9, 0.95, weight decay ${training.weight_decay}), peak learning rate ${training.learning_rate}, ${training.warmup_steps} warm-up steps then cosine decay to a tenth; gradient clipping at 1; seed ${training.seed}; the same windows of the corpus in the same order for all three variants. PyTorch ${training.torch_version ?? ""} on 2 CPU cores, one thread per model.${(training.phases ?? [])
    .map(
      (phase, index) => `
- Phase ${index + 2}, from step ${phase.from_step.toLocaleString("en-US")}: ${phase.warmup_steps} warm-up steps back up to ${phase.peak_learning_rate}, then cosine decay to a tenth of it at step ${phase.to_step.toLocaleString("en-US")} (\`--continue-from ${phase.from_step}\`)${
        phaseRows(phase) ? `; ${phaseRows(phase)}` : ""
      }${phase.optimizer_restarted ? `; started from the saved float16 weights of step ${phase.from_step.toLocaleString("en-US")} with a fresh optimizer (\`--start-from-folder\`)` : ""}.`,
    )
    .join("")}
- Script: \`training/train.py\` (resumable from \`training/checkpoints/\`). The three runs were started with a
  14,000-step schedule and restarted from their step-500 checkpoints with the final 9,000-step
  schedule (same warm-up; the learning rates of steps 300-500 differed by less than 0.2%), identically
  for all three.

${
  training.experiments && training.experiments.length > 0
    ? `Runs tried and not kept:

${training.experiments.map((experiment) => `- ${experiment.description}: ${experiment.outcome}`).join("\n")}

`
    : ""
}## Results

| | value |
| --- | --- |
| validation loss, prose | ${fixed(last.validation_loss_prose)} nats/token |
| validation loss, code | ${fixed(last.validation_loss_code)} nats/token |
| best previous-token head | layer ${previous.layer} head ${previous.head}: ${fixed(previous.value)} (${verdict(previous.value, PREVIOUS_TOKEN_TARGET)}) |
| best induction head | layer ${induction.layer} head ${induction.head}: ${fixed(induction.value)} (${verdict(induction.value, INDUCTION_TARGET)}) |

Loss and the best head scores during training (every evaluation; the head scores here come from
\`train.py\` on another random sequence than the table below):

| step | tokens | train loss | validation prose | validation code | best previous-token | best induction |
| --- | --- | --- | --- | --- | --- | --- |
${training.history.map((entry) => `| ${entry.step} | ${(entry.tokens_seen / 1e6).toFixed(2)}M | ${fixed(entry.train_loss)} | ${fixed(entry.validation_loss_prose)} | ${fixed(entry.validation_loss_code)} | ${entry.best_previous_token === undefined ? "" : fixed(entry.best_previous_token)} | ${entry.best_induction === undefined ? "" : fixed(entry.best_induction)} |`).join("\n")}

## Heads

Computed by \`training/model-cards.ts\` with the extension's own code (\`src/model/head-metrics.ts\`):
previous-token score, sink mass and entropy on a fixed text (a paragraph of prose and a TypeScript
function, after <|bos|>); induction score on 50 random tokens repeated twice after <|bos|>.

${headTable(metrics)}

${induction.value >= INDUCTION_TARGET ? inductionFormed(training) : `## Why no induction head

No head reaches the induction target of ${INDUCTION_TARGET}; the best is ${fixed(induction.value)} (layer ${induction.layer}, head ${induction.head}).
${repeatPhaseNote(training)}${
    reference && reference.id !== summary.id && best(reference.metrics, "induction").value >= INDUCTION_TARGET
      ? `
${reference.id}, trained identically, did form one (${fixed(best(reference.metrics, "induction").value)}, layer ${best(reference.metrics, "induction").layer} head ${best(reference.metrics, "induction").head}), so the data
and schedule can teach it: what differs is that here ${config.numAttentionHeads / config.numKeyValueHeads} query heads share each key/value head. A
likely reason: an induction head needs keys that carry the token *before* each position (written
there by a previous-token head of an earlier layer), and with shared key/value heads those keys
must also serve the other query heads of their group; in this budget it did not form.`
      : ""
  }
A published estimate (Aoyama et al., 2025) puts the appearance of induction heads near
10^5.7 x sqrt(batch x context) tokens, about ${((Math.pow(10, 5.7) * Math.sqrt(training.batch_size * training.context)) / 1e6).toFixed(0)}M for ${training.batch_size} x ${training.context}; this model saw ${(training.tokens_seen / 1e6).toFixed(1)}M.
The three models trained side by side on two CPU cores, one thread each${training.wall_minutes ? `, for ${training.wall_minutes} minutes in
all (at most ${Math.round((training.wall_minutes * 2) / 3)} CPU-minutes per model)` : ""}, about the budget of two CPU hours per model that the
project set. Likely next steps, each several CPU hours here or minutes on a GPU: a longer phase with
repeated spans, a wider model (head size 32 with 8 query heads means width 256), and a larger batch.

`}## Limits

A model this small, trained for minutes on a CPU, writes locally plausible English and JavaScript but
knows little; it is here to show what attention does, not to answer questions.
`;
}

/** The multi-head model, the reference the others are compared with. */
function multiHead(summaries: ModelSummary[]): ModelSummary | undefined {
  return summaries.find((summary) => summary.config.numKeyValueHeads === summary.config.numAttentionHeads);
}

function comparison(summaries: ModelSummary[]): string {
  const mha = multiHead(summaries);
  const fractions = [...new Set(summaries.flatMap((summary) => (isUptrainingRecord(summary.training) ? [summary.training.fraction_of_source_tokens] : [])))];
  const share = fractions.map((fraction) => `${Math.round(fraction * 100)}%`).join(" or ");
  const rows = summaries.map((summary) => {
    const last = summary.training.history[summary.training.history.length - 1];
    const relative = (value: number, reference: number | undefined) =>
      reference === undefined ? "" : ` (${value >= reference ? "+" : ""}${(((value - reference) / reference) * 100).toFixed(1)}%)`;
    const mhaLast = mha?.training.history[mha.training.history.length - 1];
    return `| ${summary.id} | ${summary.config.numKeyValueHeads} | ${summary.parameters.toLocaleString("en-US")} | ${fixed(last.validation_loss_prose)}${relative(last.validation_loss_prose, mhaLast?.validation_loss_prose)} | ${fixed(last.validation_loss_code)}${relative(last.validation_loss_code, mhaLast?.validation_loss_code)} | ${fixed(best(summary.metrics, "previousToken").value)} | ${fixed(best(summary.metrics, "induction").value)} | ${2 * summary.config.numHiddenLayers * summary.config.numKeyValueHeads * summary.config.headDim * 4} |`;
  });
  return `# Bundled models

Three decoders trained from scratch identically (same data, order, seed, steps and schedule) except
for the number of key/value heads (\`training/train.py\`), and two uptrained from the multi-head one
(\`-uptrained\`: its key/value heads grouped, then trained on ${share} of its tokens; \`training/uptrain.py\`).
Each folder is a Hugging Face checkpoint with a model card (README.md) and the per-head metrics the
extension shows (head-metrics.json). Regenerate these cards with \`npx tsx training/model-cards.ts\`.

| model | K/V heads | parameters | validation loss, prose (vs MHA) | validation loss, code (vs MHA) | best previous-token head | best induction head | KV cache bytes per token (float32) |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}
`;
}

/** The model `record` was uptrained from, converted again as uptrain.py converted it: its head metrics, with no training. */
function convertedMetrics(record: UptrainingRecord): ModelHeadMetrics {
  const folder = join(MODELS, record.uptrained_from);
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${record.uptrained_from}/config.json`);
  const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
  const converted = convertKeyValueHeads(config, weights, { groups: record.num_key_value_heads, method: record.conversion });
  const tokenizer = TextTokenizer.fromJson(readFileSync(join(folder, "tokenizer.json"), "utf8"), `${record.uptrained_from}/tokenizer.json`);
  return metricsOf(new DecoderModel(converted.config, converted.weights), tokenizer);
}

function pointOf(metrics: ModelHeadMetrics, evaluation: { validation_loss_prose: number; validation_loss_code: number }): CardPoint {
  return { metrics, validationProse: evaluation.validation_loss_prose, validationCode: evaluation.validation_loss_code };
}

function cardOf(summary: ModelSummary, summaries: ModelSummary[]): string {
  const { training } = summary;
  if (!isUptrainingRecord(training)) return modelCard(summary as ModelSummary & { training: TrainingRecord }, multiHead(summaries));
  const source = summaries.find((candidate) => candidate.id === training.uptrained_from);
  if (!source) throw new Error(`${summary.id} was uptrained from ${training.uptrained_from}, which is not in ${MODELS}`);
  const scratch = summaries.find(
    (candidate) => !isUptrainingRecord(candidate.training) && candidate.config.numKeyValueHeads === summary.config.numKeyValueHeads,
  );
  const lastOf = (record: { history: { validation_loss_prose: number; validation_loss_code: number }[] }) => record.history[record.history.length - 1];
  return uptrainedCard({
    id: summary.id,
    config: summary.config,
    training,
    parameters: summary.parameters,
    fileBytes: summary.fileBytes,
    before: pointOf(source.metrics, training.before_conversion),
    converted: pointOf(convertedMetrics(training), training.after_conversion),
    after: pointOf(summary.metrics, lastOf(training)),
    ...(scratch ? { fromScratch: { id: scratch.id, point: pointOf(scratch.metrics, lastOf(scratch.training)), tokensSeen: scratch.training.tokens_seen } } : {}),
    headTable,
    best,
    targets: { previousToken: PREVIOUS_TOKEN_TARGET, induction: INDUCTION_TARGET },
  });
}

function main(): void {
  const ids = readdirSync(MODELS, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(MODELS, entry.name, "config.json")))
    .map((entry) => entry.name)
    .sort();
  const summaries = ids.map(summarize);
  for (const summary of summaries) {
    writeFileSync(join(MODELS, summary.id, "README.md"), cardOf(summary, summaries));
    writeFileSync(join(MODELS, summary.id, "head-metrics.json"), JSON.stringify({ text: METRICS_TEXT, repeatLength: 50, seed: 0, layers: summary.metrics }, null, 1) + "\n");
    console.log(`${summary.id}: previous-token ${fixed(best(summary.metrics, "previousToken").value)}, induction ${fixed(best(summary.metrics, "induction").value)}`);
  }
  writeFileSync(join(MODELS, "README.md"), comparison(summaries));
}

main();

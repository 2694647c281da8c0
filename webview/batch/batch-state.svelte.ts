/**
 * The batch view's state: the request's lines (each tokenized on its own by the host) as one
 * left-padded batch through the TypeScript reference model, the same batch right-padded for
 * contrast, and the person's choice of sequence, layer and head. Its first result is reported to
 * the host (`learningComputed`).
 */

import type { PaddedBatch } from "../../src/attention/padded-batch";
import type { LlamaConfig } from "../../src/model/config";
import { compareNextTokenReads, type PaddingComparison } from "../../src/model/padding-comparison";
import { TextTokenizer } from "../../src/model/tokenizer";
import type { BatchLine, HostToWebviewMessage, WebviewToHostMessage } from "../../src/protocol";
import { fetchBytes, nextFrame } from "../runtime/model-loading";
import { REFERENCE_MODEL_NAME, type ReferenceModels } from "../stages/reference-model";
import { batchReport, maxPadWeights } from "./batch-report";

type ShowAttention = Extract<HostToWebviewMessage, { type: "showAttention" }>;

export interface BatchStateHost {
  request: () => ShowAttention | null;
  isCurrent: (requestId: number) => boolean;
  post: (message: WebviewToHostMessage) => void;
  models: ReferenceModels;
}

export interface BatchRun {
  requestId: number;
  modelId: string;
  config: LlamaConfig;
  lines: BatchLine[];
  comparison: PaddingComparison;
  left: PaddedBatch;
  right: PaddedBatch;
  /** Per row, the largest weight on a pad (0 expected). */
  maxPadWeight: number[];
  /** What a token id reads as ("PAD" for the pad token). */
  tokenText: (id: number) => string;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class BatchState {
  status = $state.raw<string | null>(null);
  error = $state.raw<string | null>(null);
  /** The last finished batch. */
  result = $state.raw<BatchRun | null>(null);
  /** Which sequence, layer and head the weights grid shows. */
  row = $state(0);
  layer = $state(0);
  head = $state(0);

  private runningFor: number | null = null;

  constructor(private readonly host: BatchStateHost) {}

  onRequest(_request: ShowAttention, active: boolean): void {
    if (active) this.run();
  }

  cancel(requestId: number): void {
    if (this.runningFor === requestId) {
      this.runningFor = null;
      this.status = null;
    }
  }

  run(): void {
    const request = this.host.request();
    if (!request || this.result?.requestId === request.requestId || this.runningFor === request.requestId) return;
    void this.compute(request);
  }

  /**
   * Token texts: the model's tokenizer.json when the host gave its URI (the predicted next tokens
   * can be any token), else the texts of the lines' own tokens and "#id" for others.
   */
  private async tokenTexts(request: ShowAttention, lines: readonly BatchLine[], padTokenId: number): Promise<(id: number) => string> {
    const known = new Map<number, string>(lines.flatMap((line) => line.tokens.map((token): [number, string] => [token.id, token.text])));
    let tokenizer: TextTokenizer | undefined;
    const uri = request.model.tokenizerUri;
    if (uri) {
      let cached = this.tokenizers.get(uri);
      if (!cached) {
        cached = fetchBytes(uri, `${request.model.id}/tokenizer.json`).then((bytes) => TextTokenizer.fromJson(new TextDecoder().decode(bytes), `${request.model.id}/tokenizer.json`));
        this.tokenizers.set(uri, cached);
      }
      tokenizer = await cached.catch(() => undefined);
    }
    return (id) => (id === padTokenId ? "PAD" : (known.get(id) ?? tokenizer?.tokenText(id) ?? `#${id}`));
  }

  private readonly tokenizers = new Map<string, Promise<TextTokenizer>>();

  private async compute(request: ShowAttention): Promise<void> {
    const { requestId, model } = request;
    const batch = request.learning?.batch;
    this.runningFor = requestId;
    this.error = null;
    try {
      if (!batch) {
        throw new Error("This text was not sent as a batch: select two or more lines and run \"Attention Lens: Show Batch and Masks\".");
      }
      if ("error" in batch) throw new Error(batch.error);
      this.status = `Loading ${model.label} (TypeScript reference model)`;
      const llama = await this.host.models.get(model, (_stage, message) => {
        if (this.runningFor === requestId) this.status = message;
      });
      if (!this.host.isCurrent(requestId) || this.runningFor !== requestId) return;
      this.status = `Running ${batch.lines.length} lines padded on the left, then on the right`;
      await nextFrame();
      const sequences = batch.lines.map((line) => line.tokens.map((token) => token.id));
      const comparison = compareNextTokenReads(llama, sequences, batch.padTokenId);
      const tokenText = await this.tokenTexts(request, batch.lines, batch.padTokenId);
      if (!this.host.isCurrent(requestId) || this.runningFor !== requestId) return;
      this.result = {
        requestId,
        modelId: model.id,
        config: llama.config,
        lines: batch.lines,
        comparison,
        left: comparison.left.batch,
        right: comparison.right.batch,
        maxPadWeight: maxPadWeights(comparison.left.batch, comparison.left.forward.attentions),
        tokenText,
      };
      const lengths = comparison.left.batch.lengths;
      this.row = lengths.indexOf(Math.min(...lengths)); // the shortest line has the most pads
      this.status = null;
      this.host.post({ type: "learningComputed", requestId, report: batchReport(model.id, comparison, REFERENCE_MODEL_NAME) });
    } catch (error) {
      if (this.runningFor !== requestId) return;
      this.status = null;
      this.error = messageOf(error);
      this.host.post({ type: "learningComputed", requestId, report: { mode: "batch", error: this.error } });
    } finally {
      if (this.runningFor === requestId) this.runningFor = null;
    }
  }
}

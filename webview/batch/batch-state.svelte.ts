/**
 * The batch view's state: the request's lines (each tokenized on its own by the host) as one
 * left-padded batch through the TypeScript reference model, the same batch right-padded for
 * contrast, and the person's choice of sequence, layer and head. Its first result is reported to
 * the host (a learning report).
 */

import type { PaddedBatch } from "../../src/attention/padded-batch";
import type { DecoderConfig } from "../../src/model/config";
import type { DecoderModel } from "../../src/model/decoder-model";
import { compareNextTokenReads, type PaddingComparison } from "../../src/model/padding-comparison";
import type { TextTokenizer } from "../../src/model/tokenizer";
import { labelledTokenOf, type LabelledToken } from "../heatmap/token-labels";
import { tokenizerOf } from "../runtime/tokenizer-loading";
import type { BatchLine } from "../../src/protocol";
import { REFERENCE_MODEL_NAME } from "../reference-model/reference-model";
import { ReferenceModelRun, type ReferenceModelRunHost, type ShowAttention } from "../reference-model/reference-model-run.svelte";
import { batchReport, maxPadWeights } from "./batch-report";

export type BatchStateHost = ReferenceModelRunHost;

export interface BatchRun {
  requestId: number;
  modelId: string;
  config: DecoderConfig;
  lines: BatchLine[];
  comparison: PaddingComparison;
  left: PaddedBatch;
  right: PaddedBatch;
  /** Per row, the largest weight on a pad (0 expected). */
  maxPadWeight: number[];
  /** What a token id reads as ("PAD" for the pad token). */
  /** A token as labels need it, for any id (the predicted next tokens can be any token). */
  tokenOf: (id: number) => LabelledToken;
}

export class BatchState extends ReferenceModelRun<BatchRun> {
  /** The last finished batch. */
  result = $state.raw<BatchRun | null>(null);
  /** Which sequence, layer and head the weights grid shows. */
  row = $state(0);
  layer = $state(0);
  head = $state(0);


  constructor(host: BatchStateHost) {
    super(host, "batch");
  }

  onRequest(_request: ShowAttention, active: boolean): void {
    if (active) this.run();
  }

  protected shownRequestId(): number | undefined {
    return this.result?.requestId;
  }

  protected check(request: ShowAttention): void {
    const batch = request.learning?.batch;
    if (!batch) {
      throw new Error("This text was not sent as a batch: select two or more lines and run \"Attention Lens: Show Batch and Masks\".");
    }
    if ("error" in batch) throw new Error(batch.error);
  }

  protected runningMessage(request: ShowAttention): string {
    return `Running ${this.batchOf(request).lines.length} lines padded on the left, then on the right`;
  }

  protected async compute(request: ShowAttention, model: DecoderModel): Promise<BatchRun> {
    const batch = this.batchOf(request);
    const sequences = batch.lines.map((line) => line.tokens.map((token) => token.id));
    const comparison = compareNextTokenReads(model, sequences, batch.padTokenId);
    return {
      requestId: request.requestId,
      modelId: request.model.id,
      config: model.config,
      lines: batch.lines,
      comparison,
      left: comparison.left.batch,
      right: comparison.right.batch,
      maxPadWeight: maxPadWeights(comparison.left.batch, comparison.left.forward.attentions),
      tokenOf: await this.tokensOf(request, batch.lines, batch.padTokenId),
    };
  }

  protected show(request: ShowAttention, result: BatchRun): void {
    this.result = result;
    const lengths = result.left.lengths;
    this.row = lengths.indexOf(Math.min(...lengths)); // the shortest line has the most pads
    this.host.post({ type: "report", requestId: request.requestId, report: { kind: "learning", report: batchReport(request.model.id, result.comparison, REFERENCE_MODEL_NAME) } });
  }

  /** The request's batch (`check` made sure there is one). */
  private batchOf(request: ShowAttention): { lines: BatchLine[]; padTokenId: number } {
    const batch = request.learning?.batch;
    if (!batch || "error" in batch) throw new Error("no batch in the request");
    return batch;
  }

  /**
   * Tokens by id: the lines' own tokens, the model's tokenizer.json for any other id when the host
   * gave its URI, else "#id".
   */
  private async tokensOf(request: ShowAttention, lines: readonly BatchLine[], padTokenId: number): Promise<(id: number) => LabelledToken> {
    const known = new Map<number, LabelledToken>(lines.flatMap((line) => line.tokens.map((token): [number, LabelledToken] => [token.id, token])));
    const tokenizer: TextTokenizer | undefined = request.model.tokenizerUri ? await tokenizerOf(request.model).catch(() => undefined) : undefined;
    return (id) => {
      if (id === padTokenId) return { text: "PAD" };
      const token = known.get(id) ?? (tokenizer ? labelledTokenOf(tokenizer, id) : undefined);
      return token ?? { text: `#${id}` };
    };
  }
}

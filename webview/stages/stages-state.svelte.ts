/**
 * The stages view's state: the request's tokens through the TypeScript reference model with every
 * stage traced, and the person's choice of layer, head, query, key and dropout. The numbers shown
 * are the library's own (src/model/stage-inspection.ts, src/attention/stage-formulas.ts).
 *
 * The trace runs when the panel is in stages mode and a request arrives (or the mode is opened
 * later); its first result is reported to the host (a learning report), for the log and tests.
 */

import { queryKeyBreakdown, type QueryKeyBreakdown } from "../../src/attention/query-key-breakdown";
import type { AttentionStages } from "../../src/attention/scaled-dot-product-attention";
import { stageFormulas, type StageFormula } from "../../src/attention/stage-formulas";
import type { DecoderConfig } from "../../src/model/config";
import type { DecoderModel } from "../../src/model/decoder-model";
import { inspectStages, traceModelStages, type StageInspection } from "../../src/model/stage-inspection";
import type { Observation, StagesChoice, TokenInfo } from "../../src/protocol";
import { REFERENCE_MODEL_NAME } from "../reference-model/reference-model";
import { ReferenceModelRun, type ReferenceModelRunHost, type ShowAttention } from "../reference-model/reference-model-run.svelte";
import { clampSelection, parseDropout, stageRows, stagesReport, type StagesSelection } from "./stages-report";

export type StagesStateHost = ReferenceModelRunHost;

/** A finished trace of one request. */
interface StagesTrace {
  requestId: number;
  modelId: string;
  config: DecoderConfig;
  tokens: TokenInfo[];
  layerStages: AttentionStages[];
}

export class StagesState extends ReferenceModelRun<StagesTrace> {
  trace = $state.raw<StagesTrace | null>(null);
  selection = $state.raw<StagesSelection>({ layer: 0, head: 0, query: 0, key: 0 });
  /** The dropout controls as typed. */
  dropoutRateText = $state("0");
  dropoutSeedText = $state("0");
  /** The part of the view to scroll to. */
  section = $state.raw<StagesChoice["section"]>("stages");

  dropout = $derived(parseDropout(this.dropoutRateText, this.dropoutSeedText));

  /** The selected layer, head and query with every stage; null while there is no trace. */
  inspection = $derived.by((): StageInspection | null => {
    const trace = this.trace;
    if (!trace) return null;
    const dropout = "error" in this.dropout ? undefined : this.dropout;
    const { layer, head, query } = this.selection;
    return inspectStages(trace.config, trace.layerStages, { layer, head, query, dropout });
  });

  /** The selected query and key of the selected layer, for every head (the query · key section). */
  queryKey = $derived.by((): QueryKeyBreakdown | null => {
    const inspection = this.inspection;
    const trace = this.trace;
    if (!inspection || !trace) return null;
    return queryKeyBreakdown(inspection.stages, trace.config.numKeyValueHeads, { batch: 0, query: this.selection.query, key: this.selection.key });
  });

  formulas = $derived.by((): StageFormula[] => {
    const inspection = this.inspection;
    const trace = this.trace;
    if (!inspection || !trace) return [];
    const keyIsPad = false; // a single text has no pads
    return stageFormulas(inspection.trace, { key: this.selection.key, dropoutRate: inspection.dropout?.rate ?? 0, keyIsPad });
  });

  private reportedFor: number | null = null;
  private choice: StagesChoice | undefined;

  constructor(host: StagesStateHost) {
    super(host, "stages");
  }

  /** A new request: trace it now when the panel shows this mode, else when it is opened. */
  onRequest(request: ShowAttention, active: boolean): void {
    this.choice = request.learning?.stages;
    if (this.choice) {
      this.dropoutRateText = String(this.choice.dropoutRate ?? 0);
      this.dropoutSeedText = String(this.choice.dropoutSeed ?? 0);
      this.section = this.choice.section ?? "stages";
    }
    if (active) this.run();
  }

  select(change: Partial<StagesSelection>): void {
    const trace = this.trace;
    if (!trace) return;
    this.selection = clampSelection({ ...this.selection, ...change }, trace.config.numHiddenLayers, trace.config.numAttentionHeads, trace.tokens.length);
  }

  /** "Show me the code": the host opens the line. */
  showCode(anchor: string): void {
    this.host.post({ type: "openSource", anchor });
  }

  protected shownRequestId(): number | undefined {
    return this.trace?.requestId;
  }

  protected check(request: ShowAttention): void {
    if (request.tokens.length === 0) throw new Error("There are no tokens: select some text and run Show Attention Stages again.");
  }

  protected runningMessage(request: ShowAttention): string {
    return `Tracing every stage of ${request.tokens.length} tokens`;
  }

  protected compute(request: ShowAttention, model: DecoderModel): StagesTrace {
    const { requestId, tokens } = request;
    const layerStages = traceModelStages(model, [tokens.map((token) => token.id)]);
    return { requestId, modelId: request.model.id, config: model.config, tokens, layerStages };
  }

  protected show(request: ShowAttention, trace: StagesTrace): void {
    this.trace = trace;
    this.selection = clampSelection(this.choice, trace.config.numHiddenLayers, trace.config.numAttentionHeads, trace.tokens.length);
    this.report(request.requestId);
  }

  /** Sends the first result of a request to the host. */
  private report(requestId: number): void {
    const inspection = this.inspection;
    const trace = this.trace;
    if (this.reportedFor === requestId || !inspection || !trace) return;
    this.reportedFor = requestId;
    this.host.post({
      type: "report",
      requestId,
      report: { kind: "learning", report: stagesReport(trace.modelId, inspection, this.selection.key, this.formulas, REFERENCE_MODEL_NAME) },
    });
  }

  /** The test hook's view: the selected query's row of each stage (JSON: -Infinity as null). */
  observe(): Observation {
    return this.inspection ? { what: "stageRows", rows: stageRows(this.inspection) } : { what: "stageRows", error: "no stages are on screen" };
  }
}

/**
 * The stages view's state: the request's tokens through the TypeScript reference model with every
 * stage traced, and the person's choice of layer, head, query, key and dropout. The numbers shown
 * are the library's own (src/model/stage-inspection.ts, src/attention/stage-formulas.ts).
 *
 * The trace runs when the panel is in stages mode and a request arrives (or the mode is opened
 * later); its first result is reported to the host (`learningComputed`), for the log and tests.
 */

import type { AttentionStages } from "../../src/attention/scaled-dot-product-attention";
import { stageFormulas, type StageFormula } from "../../src/attention/stage-formulas";
import type { LlamaConfig } from "../../src/model/config";
import { inspectStages, traceModelStages, type StageInspection } from "../../src/model/stage-inspection";
import type { HostToWebviewMessage, StagesChoice, TokenInfo, WebviewToHostMessage } from "../../src/protocol";
import { nextFrame } from "../runtime/model-loading";
import { REFERENCE_MODEL_NAME, type ReferenceModels } from "./reference-model";
import { clampSelection, parseDropout, stagesReport, type StagesSelection } from "./stages-report";

type ShowAttention = Extract<HostToWebviewMessage, { type: "showAttention" }>;

export interface StagesStateHost {
  request: () => ShowAttention | null;
  isCurrent: (requestId: number) => boolean;
  post: (message: WebviewToHostMessage) => void;
  models: ReferenceModels;
}

/** A finished trace of one request. */
interface StagesTrace {
  requestId: number;
  modelId: string;
  config: LlamaConfig;
  tokens: TokenInfo[];
  layerStages: AttentionStages[];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class StagesState {
  /** What is loading or running; null when idle. */
  status = $state.raw<string | null>(null);
  error = $state.raw<string | null>(null);
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

  formulas = $derived.by((): StageFormula[] => {
    const inspection = this.inspection;
    const trace = this.trace;
    if (!inspection || !trace) return [];
    const keyIsPad = false; // a single text has no pads
    return stageFormulas(inspection.trace, { key: this.selection.key, dropoutRate: inspection.dropout?.rate ?? 0, keyIsPad });
  });

  private runningFor: number | null = null;
  private reportedFor: number | null = null;
  private choice: StagesChoice | undefined;

  constructor(private readonly host: StagesStateHost) {}

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

  cancel(requestId: number): void {
    if (this.runningFor === requestId) {
      this.runningFor = null;
      this.status = null;
    }
  }

  /** Traces the current request unless it is already traced or tracing. */
  run(): void {
    const request = this.host.request();
    if (!request || this.trace?.requestId === request.requestId || this.runningFor === request.requestId) return;
    void this.traceRequest(request);
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

  private async traceRequest(request: ShowAttention): Promise<void> {
    const { requestId, model, tokens } = request;
    this.runningFor = requestId;
    this.error = null;
    try {
      if (tokens.length === 0) throw new Error("There are no tokens: select some text and run Show Attention Stages again.");
      this.status = `Loading ${model.label} (TypeScript reference model)`;
      const llama = await this.host.models.get(model, (_stage, message) => {
        if (this.runningFor === requestId) this.status = message;
      });
      if (!this.host.isCurrent(requestId) || this.runningFor !== requestId) return;
      this.status = `Tracing every stage of ${tokens.length} tokens`;
      await nextFrame();
      const layerStages = traceModelStages(llama, [tokens.map((token) => token.id)]);
      if (!this.host.isCurrent(requestId) || this.runningFor !== requestId) return;
      this.trace = { requestId, modelId: model.id, config: llama.config, tokens, layerStages };
      this.selection = clampSelection(this.choice, llama.config.numHiddenLayers, llama.config.numAttentionHeads, tokens.length);
      this.status = null;
      this.report(requestId);
    } catch (error) {
      if (this.runningFor !== requestId) return;
      this.status = null;
      this.error = messageOf(error);
      this.host.post({ type: "learningComputed", requestId, report: { mode: "stages", error: this.error } });
    } finally {
      if (this.runningFor === requestId) this.runningFor = null;
    }
  }

  /** Sends the first result of a request to the host. */
  private report(requestId: number): void {
    const inspection = this.inspection;
    const trace = this.trace;
    if (this.reportedFor === requestId || !inspection || !trace) return;
    this.reportedFor = requestId;
    this.host.post({
      type: "learningComputed",
      requestId,
      report: stagesReport(trace.modelId, inspection, this.selection.key, this.formulas, REFERENCE_MODEL_NAME),
    });
  }
}

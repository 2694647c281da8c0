/**
 * What the stages and batch views share: each runs the request's tokens through the TypeScript
 * reference model (reference-model.ts) when the panel shows its mode, says what it is loading or
 * running, drops a run the panel has moved past, and reports a failure to the host as its mode's
 * learning report with the error. A subclass says what to check first, what to compute and what to show.
 */

import type { DecoderModel } from "../../src/model/decoder-model";
import type { HostToWebviewMessage, WebviewToHostMessage } from "../../src/protocol";
import { nextFrame } from "../runtime/model-loading";
import type { ReferenceModels } from "./reference-model";

export type ShowAttention = Extract<HostToWebviewMessage, { type: "showAttention" }>;

/** What a reference-model view needs from the panel's session. */
export interface ReferenceModelRunHost {
  request: () => ShowAttention | null;
  isCurrent: (requestId: number) => boolean;
  post: (message: WebviewToHostMessage) => void;
  models: ReferenceModels;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export abstract class ReferenceModelRun<Computed> {
  /** What is loading or running; null when idle. */
  status = $state.raw<string | null>(null);
  error = $state.raw<string | null>(null);

  private runningFor: number | null = null;

  constructor(
    protected readonly host: ReferenceModelRunHost,
    private readonly mode: "stages" | "batch",
  ) {}

  /** The request whose result the view shows, if any. */
  protected abstract shownRequestId(): number | undefined;
  /** Throws, with a message for the person, when the request cannot run in this mode. */
  protected abstract check(request: ShowAttention): void;
  /** The status line while `compute` runs. */
  protected abstract runningMessage(request: ShowAttention): string;
  /** The numbers of the view, from the loaded reference model. */
  protected abstract compute(request: ShowAttention, model: DecoderModel): Computed | Promise<Computed>;
  /** Shows what `compute` gave (only while the request is still current) and reports it to the host. */
  protected abstract show(request: ShowAttention, computed: Computed): void;

  cancel(requestId: number): void {
    if (this.runningFor === requestId) {
      this.runningFor = null;
      this.status = null;
    }
  }

  /** Runs the current request unless it is already shown or running. */
  run(): void {
    const request = this.host.request();
    if (!request || this.shownRequestId() === request.requestId || this.runningFor === request.requestId) return;
    void this.runRequest(request);
  }

  private async runRequest(request: ShowAttention): Promise<void> {
    const { requestId, model } = request;
    const stillWanted = () => this.host.isCurrent(requestId) && this.runningFor === requestId;
    this.runningFor = requestId;
    this.error = null;
    try {
      this.check(request);
      this.status = `Loading ${model.label} (TypeScript reference model)`;
      const llama = await this.host.models.get(model, (_stage, message) => {
        if (this.runningFor === requestId) this.status = message;
      });
      if (!stillWanted()) return;
      this.status = this.runningMessage(request);
      await nextFrame(); // let the status paint before the CPU-bound run
      const computed = await this.compute(request, llama);
      if (!stillWanted()) return;
      this.status = null;
      this.show(request, computed);
    } catch (error) {
      if (this.runningFor !== requestId) return;
      this.status = null;
      this.error = messageOf(error);
      this.host.post({ type: "report", requestId, report: { kind: "learning", report: { mode: this.mode, error: this.error } } });
    } finally {
      if (this.runningFor === requestId) this.runningFor = null;
    }
  }
}

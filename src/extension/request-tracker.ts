/**
 * Request ids for `showAttention`, and the promise each request's caller waits on.
 *
 * Every run gets a new id; starting a run supersedes the one before it (the caller sends `cancel`
 * for it). Each request ends exactly once, with one of four outcomes:
 *
 *   computed     the webview answered `attentionComputed`
 *   failed       the webview answered `error`
 *   superseded   a newer request started first
 *   cancelled    the panel closed (or the extension stopped) before an answer
 *
 * so whoever awaits a run is never left hanging. Answers for ids that are not pending (already
 * ended, superseded, unknown) are refused: `complete`/`fail` return false and change nothing.
 *
 * Ids come from one counter for the whole extension host (`nextRequestId`), not one per tracker: a
 * new panel (each has its tracker) goes on counting, so the log and scripts never see two requests
 * with one id.
 *
 * Pure: no `vscode` import.
 */

export type RunOutcome<Result> =
  | { kind: "computed"; requestId: number; result: Result }
  | { kind: "failed"; requestId: number; message: string }
  | { kind: "superseded"; requestId: number; by: number }
  | { kind: "cancelled"; requestId: number; reason: string };

export interface StartedRequest<Result> {
  requestId: number;
  /** Settles once, with the run's outcome; never rejects. */
  outcome: Promise<RunOutcome<Result>>;
  /** The request this one superseded while it was still pending: send `cancel` for it. */
  supersededId?: number;
}

let lastRequestId = 0;

/** The next request id of this extension host: 1, 2, 3, ... shared by every tracker. */
export function nextRequestId(): number {
  return ++lastRequestId;
}

export class RequestTracker<Result> {
  private currentId: number | undefined;
  private readonly pending = new Map<number, (outcome: RunOutcome<Result>) => void>();

  /** `newId`: where ids come from; the host-wide counter unless a test gives its own. */
  constructor(private readonly newId: () => number = nextRequestId) {}

  /** The newest request's id (pending or not), undefined before the first. */
  get current(): number | undefined {
    return this.currentId;
  }

  /** True for the newest request: only its messages are acted on. */
  isCurrent(requestId: number): boolean {
    return requestId === this.currentId;
  }

  /** True while nobody has answered the request yet. */
  isPending(requestId: number): boolean {
    return this.pending.has(requestId);
  }

  /** How many requests are waiting for an answer (0 or 1 in normal use). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Starts a request: a new id, and the end of the one before it. */
  start(): StartedRequest<Result> {
    const requestId = this.newId();
    let supersededId: number | undefined;
    for (const oldId of [...this.pending.keys()]) {
      this.settle({ kind: "superseded", requestId: oldId, by: requestId });
      supersededId = oldId;
    }
    this.currentId = requestId;
    const outcome = new Promise<RunOutcome<Result>>((resolve) => this.pending.set(requestId, resolve));
    return supersededId === undefined ? { requestId, outcome } : { requestId, outcome, supersededId };
  }

  /** The webview computed request `requestId`; false if that request is not pending. */
  complete(requestId: number, result: Result): boolean {
    return this.settle({ kind: "computed", requestId, result });
  }

  /** The webview failed request `requestId`; false if that request is not pending. */
  fail(requestId: number, message: string): boolean {
    return this.settle({ kind: "failed", requestId, message });
  }

  /** Ends request `requestId` as cancelled (the person cancelled it); false if it is not pending. */
  cancel(requestId: number, reason: string): boolean {
    return this.settle({ kind: "cancelled", requestId, reason });
  }

  /** Ends every pending request as cancelled (the panel closed); returns their ids. */
  cancelAll(reason: string): number[] {
    const ids = [...this.pending.keys()];
    for (const requestId of ids) this.settle({ kind: "cancelled", requestId, reason });
    return ids;
  }

  private settle(outcome: RunOutcome<Result>): boolean {
    const resolve = this.pending.get(outcome.requestId);
    if (!resolve) return false;
    this.pending.delete(outcome.requestId);
    resolve(outcome);
    return true;
  }
}

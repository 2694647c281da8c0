/**
 * Request ids for `showAttention`, and the one way to wait for what the panel reports on a request.
 *
 * Every run gets a new id; starting a run supersedes the one before it (the caller sends `cancel`
 * for it). A request has reports of several kinds (`PanelReports` in attention-panel.ts: the run
 * itself, the comparison, each decoding step, the stages or batch report). Whoever waits for one,
 * with `wait(requestId, kind)`, gets exactly one of four outcomes:
 *
 *   computed     the panel reported it
 *   failed       the panel said it could not compute it
 *   superseded   a newer request started first
 *   cancelled    the request was cancelled, or the panel closed (or the extension stopped)
 *
 * so nobody is left hanging. The run's own wait starts with the request (`StartedRequest.outcome`);
 * the other kinds are waited for after the request is sent (a decoding step after each control).
 * Reports for any request but the newest are refused (`report`/`fail` return false).
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

/** The kinds of report a request has, each with its result; `run` is the request's run itself. */
export interface ReportKinds {
  run: unknown;
}

export interface StartedRequest<Run> {
  requestId: number;
  /** Settles once, with the run's outcome; never rejects. */
  outcome: Promise<RunOutcome<Run>>;
  /** The request this one superseded while something of it was still awaited: send `cancel` for it. */
  supersededId?: number;
}

let lastRequestId = 0;

/** The next request id of this extension host: 1, 2, 3, ... shared by every tracker. */
export function nextRequestId(): number {
  return ++lastRequestId;
}

interface Waiter<Reports extends ReportKinds> {
  kind: keyof Reports;
  settle: (outcome: RunOutcome<unknown>) => void;
}

export class RequestTracker<Reports extends ReportKinds> {
  private currentId: number | undefined;
  /** Why the current request was cancelled, once it was. */
  private cancelledWhy: string | undefined;
  private waiters: Waiter<Reports>[] = [];

  /** `newId`: where ids come from; the host-wide counter unless a test gives its own. */
  constructor(private readonly newId: () => number = nextRequestId) {}

  /** The newest request's id (ended or not), undefined before the first. */
  get current(): number | undefined {
    return this.currentId;
  }

  /** True for the newest request: only its messages are acted on. */
  isCurrent(requestId: number): boolean {
    return requestId === this.currentId;
  }

  /** How many waits have not settled yet. */
  get waitingCount(): number {
    return this.waiters.length;
  }

  /** Whether anyone waits for `kind` of request `requestId` (for the run: it is still running). */
  isAwaited(requestId: number, kind: keyof Reports): boolean {
    return this.isCurrent(requestId) && this.waiters.some((waiter) => waiter.kind === kind);
  }

  /** Starts a request: a new id, and the end of every wait for the one before it. */
  start(): StartedRequest<Reports["run"]> {
    const requestId = this.newId();
    const previous = this.currentId;
    const supersede = this.waiters.splice(0);
    for (const waiter of supersede) waiter.settle({ kind: "superseded", requestId: previous as number, by: requestId });
    this.currentId = requestId;
    this.cancelledWhy = undefined;
    const outcome = this.wait(requestId, "run");
    return supersede.length > 0 && previous !== undefined ? { requestId, outcome, supersededId: previous } : { requestId, outcome };
  }

  /**
   * The next report of `kind` for request `requestId`. Settles at once as superseded for an older
   * request, and as cancelled for a cancelled one. Never rejects.
   */
  wait<Kind extends keyof Reports>(requestId: number, kind: Kind): Promise<RunOutcome<Reports[Kind]>> {
    if (this.currentId === undefined || requestId !== this.currentId) {
      return Promise.resolve({ kind: "superseded", requestId, by: this.currentId ?? requestId });
    }
    if (this.cancelledWhy !== undefined) return Promise.resolve({ kind: "cancelled", requestId, reason: this.cancelledWhy });
    return new Promise((settle) => this.waiters.push({ kind, settle: settle as (outcome: RunOutcome<unknown>) => void }));
  }

  /** The panel reported `kind` of request `requestId`; false (and nothing changes) for an older request. */
  report<Kind extends keyof Reports>(requestId: number, kind: Kind, result: Reports[Kind]): boolean {
    if (!this.isCurrent(requestId)) return false;
    this.settle(kind, { kind: "computed", requestId, result });
    return true;
  }

  /** The panel could not compute `kind` of request `requestId`; false for an older request. */
  fail(requestId: number, kind: keyof Reports, message: string): boolean {
    if (!this.isCurrent(requestId)) return false;
    this.settle(kind, { kind: "failed", requestId, message });
    return true;
  }

  /**
   * Cancels request `requestId` (the person cancelled it): every wait for it ends as cancelled, and
   * so does every later one. False when it is not the current request or nothing of it was awaited.
   */
  cancel(requestId: number, reason: string): boolean {
    if (!this.isCurrent(requestId) || this.cancelledWhy !== undefined) return false;
    this.cancelledWhy = reason;
    const waiting = this.waiters.splice(0);
    for (const waiter of waiting) waiter.settle({ kind: "cancelled", requestId, reason });
    return waiting.length > 0;
  }

  /** The panel closed: the current request is cancelled; returns its id when something of it was awaited. */
  cancelAll(reason: string): number[] {
    const requestId = this.currentId;
    return requestId !== undefined && this.cancel(requestId, reason) ? [requestId] : [];
  }

  private settle(kind: keyof Reports, outcome: RunOutcome<unknown>): void {
    const chosen = this.waiters.filter((waiter) => waiter.kind === kind);
    this.waiters = this.waiters.filter((waiter) => waiter.kind !== kind);
    for (const waiter of chosen) waiter.settle(outcome);
  }
}

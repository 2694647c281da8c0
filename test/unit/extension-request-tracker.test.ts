import assert from "node:assert/strict";

import { RequestTracker, type RunOutcome } from "../../src/extension/request-tracker";

/** The outcome if the promise has settled by now, else "pending". */
async function peek<T>(promise: Promise<T>): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((resolve) => setImmediate(() => resolve("pending")))]);
}

/** A run's result, a comparison's and a decoding step's, as strings. */
interface Reports {
  run: string;
  comparison: string;
  decode: string;
}

describe("extension: request ids and the reports awaited on them", () => {
  it("gives each request a new id; the newest is current", () => {
    const tracker = new RequestTracker<Reports>();
    assert.equal(tracker.current, undefined);
    const first = tracker.start();
    const second = tracker.start();
    assert.ok(second.requestId > first.requestId);
    assert.equal(tracker.current, second.requestId);
    assert.ok(tracker.isCurrent(second.requestId));
    assert.ok(!tracker.isCurrent(first.requestId));
  });

  it("keeps counting across trackers (one per panel), so no two requests of the extension host share an id", () => {
    const firstPanel = new RequestTracker<Reports>();
    const ids = [firstPanel.start().requestId, firstPanel.start().requestId];
    const secondPanel = new RequestTracker<Reports>(); // the panel was closed and a new one opened
    ids.push(secondPanel.start().requestId, secondPanel.start().requestId);
    assert.ok(ids[0] >= 1, `ids start at 1 or later, got ${ids[0]}`);
    for (let index = 1; index < ids.length; index++) assert.equal(ids[index], ids[index - 1] + 1, `ids ${ids.join(", ")} do not go on counting`);
  });

  it("takes its ids from the source it is given", () => {
    let next = 100;
    const tracker = new RequestTracker<Reports>(() => next++);
    assert.equal(tracker.start().requestId, 100);
    assert.equal(tracker.start().requestId, 101);
  });

  it("the run's outcome is the panel's report of it; the request stays current after it", async () => {
    const tracker = new RequestTracker<Reports>();
    const run = tracker.start();
    assert.equal(await peek(run.outcome), "pending");
    assert.ok(tracker.isAwaited(run.requestId, "run"));
    assert.ok(tracker.report(run.requestId, "run", "weights"));
    assert.deepEqual(await run.outcome, { kind: "computed", requestId: run.requestId, result: "weights" });
    assert.equal(tracker.waitingCount, 0);
    assert.ok(!tracker.isAwaited(run.requestId, "run"));
    assert.ok(tracker.isCurrent(run.requestId), "still current after it ended (for focusToken)");
  });

  it("each kind settles with its own report: a comparison does not end the run, a decoding step waits for the next", async () => {
    const tracker = new RequestTracker<Reports>();
    const run = tracker.start();
    const comparison = tracker.wait(run.requestId, "comparison");
    tracker.report(run.requestId, "run", "maps");
    assert.equal(await peek(comparison), "pending");
    tracker.report(run.requestId, "comparison", "A vs B");
    assert.deepEqual(await comparison, { kind: "computed", requestId: run.requestId, result: "A vs B" });
    const step = tracker.wait(run.requestId, "decode");
    tracker.report(run.requestId, "decode", "step 1");
    const next = tracker.wait(run.requestId, "decode");
    assert.equal(await peek(next), "pending", "a report settles the waits made before it, not later ones");
    tracker.report(run.requestId, "decode", "step 2");
    assert.deepEqual([(await step).kind, await next], ["computed", { kind: "computed", requestId: run.requestId, result: "step 2" }]);
  });

  it("a later request supersedes every wait of the one before: the outcome says by which, and its id is given for cancel", async () => {
    const tracker = new RequestTracker<Reports>();
    const first = tracker.start();
    const comparison = tracker.wait(first.requestId, "comparison");
    const second = tracker.start();
    assert.equal(second.supersededId, first.requestId);
    assert.deepEqual(await first.outcome, { kind: "superseded", requestId: first.requestId, by: second.requestId });
    assert.deepEqual(await comparison, { kind: "superseded", requestId: first.requestId, by: second.requestId });
    // The old request's reports arrive late: refused, and the new one is untouched.
    assert.equal(tracker.report(first.requestId, "run", "late"), false);
    assert.equal(tracker.fail(first.requestId, "run", "late"), false);
    assert.equal(await peek(second.outcome), "pending");
    assert.ok(tracker.report(second.requestId, "run", "fresh"));
    assert.equal(((await second.outcome) as Extract<RunOutcome<string>, { kind: "computed" }>).result, "fresh");
    // Waiting for an older request's report now settles at once.
    assert.deepEqual(await tracker.wait(first.requestId, "decode"), { kind: "superseded", requestId: first.requestId, by: second.requestId });
  });

  it("no cancel is needed for a request of which nothing is awaited any more", () => {
    const tracker = new RequestTracker<Reports>();
    const first = tracker.start();
    tracker.report(first.requestId, "run", "done");
    const second = tracker.start();
    assert.equal(second.supersededId, undefined);
  });

  it("a failure ends that kind's waits with the panel's message; a second answer changes nothing", async () => {
    const tracker = new RequestTracker<Reports>();
    const run = tracker.start();
    const comparison = tracker.wait(run.requestId, "comparison");
    assert.ok(tracker.fail(run.requestId, "comparison", "model B has another tokenizer"));
    assert.deepEqual(await comparison, { kind: "failed", requestId: run.requestId, message: "model B has another tokenizer" });
    assert.equal(await peek(run.outcome), "pending", "the run goes on");
    tracker.fail(run.requestId, "run", "WebGPU device lost; run again");
    tracker.report(run.requestId, "run", "too late");
    assert.deepEqual(await run.outcome, { kind: "failed", requestId: run.requestId, message: "WebGPU device lost; run again" });
  });

  it("cancelling a request ends every wait for it, and every later one, as cancelled", async () => {
    const tracker = new RequestTracker<Reports>();
    const run = tracker.start();
    const decode = tracker.wait(run.requestId, "decode");
    assert.ok(tracker.cancel(run.requestId, "cancelled from the progress notification"));
    const reason = "cancelled from the progress notification";
    assert.deepEqual(await run.outcome, { kind: "cancelled", requestId: run.requestId, reason });
    assert.deepEqual(await decode, { kind: "cancelled", requestId: run.requestId, reason });
    assert.deepEqual(await tracker.wait(run.requestId, "decode"), { kind: "cancelled", requestId: run.requestId, reason });
    assert.equal(tracker.cancel(run.requestId, "again"), false, "cancelled once only");
  });

  it("closing the panel cancels what is awaited, so nobody waits forever", async () => {
    const tracker = new RequestTracker<Reports>();
    const done = tracker.start();
    tracker.report(done.requestId, "run", "ok");
    const running = tracker.start();
    assert.deepEqual(tracker.cancelAll("the panel was closed"), [running.requestId]);
    assert.deepEqual(await running.outcome, { kind: "cancelled", requestId: running.requestId, reason: "the panel was closed" });
    assert.equal(tracker.waitingCount, 0);
    assert.deepEqual(tracker.cancelAll("again"), [], "nothing left");
  });

  it("unknown ids are refused", async () => {
    const tracker = new RequestTracker<Reports>();
    assert.equal(tracker.report(42, "run", "x"), false);
    assert.equal(tracker.isAwaited(42, "run"), false);
    assert.deepEqual(await tracker.wait(42, "comparison"), { kind: "superseded", requestId: 42, by: 42 });
  });
});

import assert from "node:assert/strict";

import { RequestTracker, type RunOutcome } from "../../src/extension/request-tracker";

/** The outcome if the promise has settled by now, else "pending". */
async function peek<T>(promise: Promise<T>): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((resolve) => setImmediate(() => resolve("pending")))]);
}

describe("extension: request ids and their outcomes", () => {
  it("gives each request a new id; the newest is current", () => {
    const tracker = new RequestTracker<string>();
    assert.equal(tracker.current, undefined);
    const first = tracker.start();
    const second = tracker.start();
    assert.ok(second.requestId > first.requestId);
    assert.equal(tracker.current, second.requestId);
    assert.ok(tracker.isCurrent(second.requestId));
    assert.ok(!tracker.isCurrent(first.requestId));
  });

  it("keeps counting across trackers (one per panel), so no two requests of the extension host share an id", () => {
    const firstPanel = new RequestTracker<string>();
    const ids = [firstPanel.start().requestId, firstPanel.start().requestId];
    const secondPanel = new RequestTracker<string>(); // the panel was closed and a new one opened
    ids.push(secondPanel.start().requestId, secondPanel.start().requestId);
    assert.ok(ids[0] >= 1, `ids start at 1 or later, got ${ids[0]}`);
    for (let index = 1; index < ids.length; index++) assert.equal(ids[index], ids[index - 1] + 1, `ids ${ids.join(", ")} do not go on counting`);
  });

  it("takes its ids from the source it is given", () => {
    let next = 100;
    const tracker = new RequestTracker<string>(() => next++);
    assert.equal(tracker.start().requestId, 100);
    assert.equal(tracker.start().requestId, 101);
  });

  it("completes the current request with the webview's result", async () => {
    const tracker = new RequestTracker<string>();
    const run = tracker.start();
    assert.equal(await peek(run.outcome), "pending");
    assert.ok(tracker.complete(run.requestId, "weights"));
    assert.deepEqual(await run.outcome, { kind: "computed", requestId: run.requestId, result: "weights" });
    assert.equal(tracker.pendingCount, 0);
    assert.ok(tracker.isCurrent(run.requestId), "still current after it ended (for focusToken)");
  });

  it("a later request supersedes a pending one: its outcome says by which, and its id is given for cancel", async () => {
    const tracker = new RequestTracker<string>();
    const first = tracker.start();
    const second = tracker.start();
    assert.equal(second.supersededId, first.requestId);
    assert.deepEqual(await first.outcome, { kind: "superseded", requestId: first.requestId, by: second.requestId });
    // The old request's answer arrives late: refused, and the new one is untouched.
    assert.equal(tracker.complete(first.requestId, "late"), false);
    assert.equal(tracker.fail(first.requestId, "late"), false);
    assert.equal(await peek(second.outcome), "pending");
    assert.ok(tracker.complete(second.requestId, "fresh"));
    assert.equal(((await second.outcome) as Extract<RunOutcome<string>, { kind: "computed" }>).result, "fresh");
  });

  it("no cancel is needed for a request that had ended already", () => {
    const tracker = new RequestTracker<string>();
    const first = tracker.start();
    tracker.complete(first.requestId, "done");
    const second = tracker.start();
    assert.equal(second.supersededId, undefined);
  });

  it("a failure ends the request with the webview's message; a second answer is refused", async () => {
    const tracker = new RequestTracker<string>();
    const run = tracker.start();
    assert.ok(tracker.fail(run.requestId, "WebGPU device lost; run again"));
    assert.equal(tracker.complete(run.requestId, "too late"), false);
    assert.deepEqual(await run.outcome, { kind: "failed", requestId: run.requestId, message: "WebGPU device lost; run again" });
  });

  it("closing the panel cancels what is pending, so nobody waits forever", async () => {
    const tracker = new RequestTracker<string>();
    const done = tracker.start();
    tracker.complete(done.requestId, "ok");
    const running = tracker.start();
    assert.deepEqual(tracker.cancelAll("the panel was closed"), [running.requestId]);
    assert.deepEqual(await running.outcome, { kind: "cancelled", requestId: running.requestId, reason: "the panel was closed" });
    assert.equal(tracker.pendingCount, 0);
    assert.deepEqual(tracker.cancelAll("again"), [], "nothing left");
  });

  it("unknown ids are refused", () => {
    const tracker = new RequestTracker<string>();
    assert.equal(tracker.complete(42, "x"), false);
    assert.equal(tracker.isPending(42), false);
  });
});

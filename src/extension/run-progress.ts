/**
 * A VS Code progress notification for a run that takes a while: a real-size model reads its weights
 * for seconds and runs for seconds more. The notification appears when a run is still going after
 * NOTIFY_AFTER_MS (a quick run stays quiet: the panel and the status bar say enough), shows the
 * panel's progress lines ("Running SmolLM2-135M on 256 tokens (wasm): layer 7 of 30"), and its
 * Cancel stops the run at the next layer. It closes when the run ends, however it ends.
 */

import * as vscode from "vscode";

/** A run that ends sooner never shows a notification. */
export const NOTIFY_AFTER_MS = 1500;

export class RunProgress implements vscode.Disposable {
  /** Runs being tracked, with the latest progress line and the notification's reporter once shown. */
  private readonly runs = new Map<number, { latest?: string; report?: (message: string) => void }>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  /**
   * Tracks request `requestId` until `outcome` settles (it never rejects). `title` names the run;
   * `cancel` is called when the person presses Cancel.
   */
  track(requestId: number, title: string, outcome: Promise<unknown>, cancel: () => void): void {
    this.runs.set(requestId, {});
    let settled = false;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (settled) return;
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Attention Lens: ${title}`, cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(cancel);
          const run = this.runs.get(requestId);
          if (run) {
            run.report = (message) => progress.report({ message });
            if (run.latest) run.report(run.latest);
          }
          return outcome.then(() => undefined);
        },
      );
    }, NOTIFY_AFTER_MS);
    this.timers.add(timer);
    void outcome.then(() => {
      settled = true;
      clearTimeout(timer);
      this.timers.delete(timer);
      this.runs.delete(requestId);
    });
  }

  /** A progress line of the panel for `requestId` (ignored for a run not tracked here). */
  report(requestId: number, message: string): void {
    const run = this.runs.get(requestId);
    if (!run) return;
    run.latest = message;
    run.report?.(message);
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.runs.clear();
  }
}

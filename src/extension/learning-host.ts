/**
 * The host side of the panel's learning modes (stages and batch; the batch's lines come from
 * batch-lines.ts):
 *
 *   - "show me the code": the panel names a source anchor (src/attention/source-anchors.ts), the host
 *     finds its line in the shipped src/attention/<file> and opens it in an editor;
 *   - waiting for the panel's `learningComputed` report of a request, for the commands' results.
 */

import * as vscode from "vscode";

import { findAnchorLine, isSourceAnchorName, SOURCE_ANCHORS } from "../attention/source-anchors";
import type { LearningReport } from "../protocol";

interface Waiter {
  requestId: number;
  settle: (report: LearningReport | undefined) => void;
}

export class LearningHost {
  private waiters: Waiter[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The next learning report of request `requestId`; waiters of other requests end with undefined. */
  awaitReport(requestId: number): Promise<LearningReport | undefined> {
    this.settle((waiter) => waiter.requestId !== requestId, undefined);
    return new Promise((settle) => this.waiters.push({ requestId, settle }));
  }

  /** The panel reported: log it and hand it to whoever waits. */
  onReport(requestId: number, report: LearningReport): void {
    if ("error" in report) {
      this.log.warn(`#${requestId} ${report.mode}: ${report.error}`);
      void vscode.window.showWarningMessage(report.error);
    } else if (report.mode === "stages") {
      this.log.info(
        `#${requestId} stages of ${report.modelId}: layer ${report.layer}, head ${report.head}, query ${report.query}, key ${report.key}` +
          `${report.dropoutRate > 0 ? `, dropout ${report.dropoutRate} (seed ${report.dropoutSeed})` : ""}; computed by ${report.computedBy}`,
      );
    } else {
      this.log.info(`#${requestId} batch of ${report.lines} lines, ${report.inputIds[0]?.length ?? 0} slots each, with ${report.modelId}; computed by ${report.computedBy}`);
    }
    this.settle((waiter) => waiter.requestId === requestId, report);
  }

  /** Ends every wait (the panel closed). */
  cancelAll(): void {
    this.settle(() => true, undefined);
  }

  /** Opens src/attention/<file> of the extension at the anchor's line. */
  async openSource(anchorName: string): Promise<void> {
    if (!isSourceAnchorName(anchorName)) {
      this.log.warn(`the panel asked for the source of "${anchorName}", which is not a known step`);
      return;
    }
    const anchor = SOURCE_ANCHORS[anchorName];
    const uri = vscode.Uri.joinPath(this.extensionUri, "src", "attention", anchor.file);
    try {
      const document = await vscode.workspace.openTextDocument(uri);
      const line = findAnchorLine(document.getText(), anchor) - 1;
      const range = new vscode.Range(line, 0, line, document.lineAt(line).text.length);
      await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, selection: range, preview: true });
      this.log.info(`show me the code: ${anchor.description}, src/attention/${anchor.file}:${line + 1}`);
    } catch (error) {
      const message = `Could not open the code of "${anchor.description}" (src/attention/${anchor.file}): ${error instanceof Error ? error.message : String(error)}`;
      this.log.error(message);
      void vscode.window.showErrorMessage(message);
    }
  }

  private settle(which: (waiter: Waiter) => boolean, report: LearningReport | undefined): void {
    const chosen = this.waiters.filter(which);
    this.waiters = this.waiters.filter((waiter) => !which(waiter));
    for (const waiter of chosen) waiter.settle(report);
  }
}

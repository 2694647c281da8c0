/**
 * The host side of the panel's learning modes (stages and batch; the batch's lines come from
 * batch-lines.ts):
 *
 *   - "show me the code": the panel names a source anchor (src/attention/source-anchors.ts), the host
 *     finds its line in the shipped src/attention/<file> and opens it in an editor;
 *   - the log line (and for an error, the warning) of the panel's learning report.
 */

import * as vscode from "vscode";

import { findAnchorLine, isSourceAnchorName, SOURCE_ANCHORS } from "../attention/source-anchors";
import type { LearningReport } from "../protocol";

export class LearningHost {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The panel reported: log it; an error is shown too (the commands' results come through the panel's awaitReport). */
  logReport(requestId: number, report: LearningReport): void {
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
}

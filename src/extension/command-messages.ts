/**
 * What a command tells the person when it cannot do what was asked, and the log line that goes
 * with it:
 *
 *   CommandWarning       something the person can fix, and the message says how (no editor, an
 *                        empty selection, two identical models): a warning notification
 *   ModelCatalogError,   a model that cannot be used, a run that does not fit the memory budget:
 *   RunMemoryError       an error notification with the reason and the numbers
 *   anything else        a bug: an error notification that points to the output channel, where the
 *                        stack is
 *
 * The settings' problems are warnings too, each shown once per window.
 */

import * as vscode from "vscode";

import { ModelCatalogError } from "./model-catalog";
import { RunMemoryError } from "./model-memory";
import { readSettings, SETTINGS_SECTION, type ExtensionSettings } from "./settings";

/** A command refused, for a reason the person can fix; the message says how. */
export class CommandWarning extends Error {}

export class CommandMessages {
  private readonly reportedSettingProblems = new Set<string>();

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** Something the person can fix (the message says how): a warning, and a line in the log. */
  warn(message: string): void {
    this.log.warn(message);
    void vscode.window.showWarningMessage(message);
  }

  /** A command failed: the notification that fits the error (see the top of this file). */
  report(error: unknown): void {
    if (error instanceof CommandWarning) {
      this.warn(error.message);
      return;
    }
    if (error instanceof ModelCatalogError || error instanceof RunMemoryError) {
      this.log.error(error.message);
      void vscode.window.showErrorMessage(error.message);
      return;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.log.error(`unexpected error: ${detail}`);
    void vscode.window.showErrorMessage(
      `Attention Lens failed: ${error instanceof Error ? error.message : String(error)}. The "Attention Lens" output has the details; please report it.`,
    );
  }

  /** The attentionLens.* settings; a setting of the wrong kind is warned about once, and its default used. */
  settings(): ExtensionSettings {
    const configuration = vscode.workspace.getConfiguration(SETTINGS_SECTION);
    const { settings, problems } = readSettings((key) => configuration.get(key));
    for (const problem of problems) {
      if (this.reportedSettingProblems.has(problem)) continue;
      this.reportedSettingProblems.add(problem);
      this.warn(problem);
    }
    return settings;
  }
}

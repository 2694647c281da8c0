/**
 * The status bar item: how the last run went (backend and time), or that one is running. Clicking
 * it brings the panel to the front. Hidden while no panel is open.
 */

import * as vscode from "vscode";

import type { RunSummary } from "../protocol";

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("attentionLens.lastRun", vscode.StatusBarAlignment.Right, 100);

  /** `revealCommand` runs on click. */
  constructor(revealCommand: string) {
    this.item.name = "Attention Lens";
    this.item.command = { title: "Show the Attention Lens panel", command: revealCommand };
  }

  running(modelLabel: string, tokens: number): void {
    this.item.text = "$(loading~spin) Attention Lens";
    this.item.tooltip = `Attention Lens: running ${modelLabel} on ${tokens} tokens. Click to show the panel.`;
    this.item.show();
  }

  finished(result: RunSummary): void {
    this.item.text = `$(eye) ${result.backend} · ${formatMilliseconds(result.milliseconds)}`;
    const fallback = result.fallbackReason ? `\n\nNot the backend asked for: ${result.fallbackReason}` : "";
    this.item.tooltip =
      `Attention Lens: ${result.modelId}, ${result.tokens} tokens, ${result.layers} layers × ${result.heads} heads ` +
      `on ${result.backend} in ${formatMilliseconds(result.milliseconds)}.${fallback}\n\nClick to show the panel.`;
    this.item.show();
  }

  failed(message: string): void {
    this.item.text = "$(warning) Attention Lens";
    this.item.tooltip = `Attention Lens: the last run failed. ${message}\n\nClick to show the panel; the "Attention Lens" output has details.`;
    this.item.show();
  }

  hide(): void {
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}

/** "85 ms", "1.3 s". */
export function formatMilliseconds(milliseconds: number): string {
  return milliseconds < 1000 ? `${Math.round(milliseconds)} ms` : `${(milliseconds / 1000).toFixed(1)} s`;
}

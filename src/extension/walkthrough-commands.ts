/**
 * The walkthrough's "try it" commands (walkthrough.ts lists the steps): each opens its prepared
 * example from media/walkthrough/, selects all of it, and shows it in the panel in the step's mode.
 * It resolves to what the panel reported, for tests.
 */

import * as vscode from "vscode";

import type { LearningReport, LensMode } from "../protocol";
import type { AttentionController, AttentionSummary, ComparisonResult, DecodeReport } from "./attention-controller";
import { tryItCommand, WALKTHROUGH_STEPS, type WalkthroughStep } from "./walkthrough";

/** What a "try it" command resolves to: the step, the mode it opened, and the panel's report (undefined: nothing ran). */
export interface TryItResult {
  step: string;
  mode: LensMode;
  /** The example's text as selected. */
  text: string;
  report: LearningReport | AttentionSummary | ComparisonResult | DecodeReport | undefined;
}

/**
 * Opens the step's example in the first column with all of its text selected. Not as a preview:
 * the walkthrough itself is a preview tab there, and a preview editor would take its place.
 */
async function openExample(extensionUri: vscode.Uri, step: WalkthroughStep): Promise<string> {
  const uri = vscode.Uri.joinPath(extensionUri, "media", "walkthrough", step.example);
  const document = await vscode.workspace.openTextDocument(uri);
  const whole = new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length));
  const editor = await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, preview: false });
  editor.selection = new vscode.Selection(whole.start, whole.end);
  return document.getText();
}

export async function runWalkthroughStep(extensionUri: vscode.Uri, controller: AttentionController, step: WalkthroughStep): Promise<TryItResult> {
  const text = await openExample(extensionUri, step);
  const { action } = step;
  switch (action.kind) {
    case "stages":
      return { step: step.id, mode: "stages", text, report: await controller.showLearningMode("stages", action.choice) };
    case "batch":
      return { step: step.id, mode: "batch", text, report: await controller.showLearningMode("batch") };
    case "attention":
      return { step: step.id, mode: "attention", text, report: await controller.showAttention("attention") };
    case "compare":
      return { step: step.id, mode: "compare", text, report: await controller.compareModels(action.modelA, action.modelB) };
    case "decode":
      return { step: step.id, mode: "decode", text, report: await controller.stepThroughDecoding() };
    default: {
      const never: never = action;
      throw new Error(`unknown walkthrough action ${JSON.stringify(never)}`);
    }
  }
}

/** Registers `attentionLens.tryIt.<step>` for every step. */
export function registerWalkthroughCommands(extensionUri: vscode.Uri, controller: AttentionController): vscode.Disposable[] {
  return WALKTHROUGH_STEPS.map((step) =>
    vscode.commands.registerCommand(tryItCommand(step), async () => {
      try {
        return await runWalkthroughStep(extensionUri, controller, step);
      } catch (error) {
        const message = `Attention Lens could not open the example of "${step.title}": ${error instanceof Error ? error.message : String(error)}`;
        void vscode.window.showErrorMessage(message);
        return undefined;
      }
    }),
  );
}

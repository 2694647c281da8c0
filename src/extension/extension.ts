/**
 * The extension's entry point (bundled to dist/extension.js): wires VS Code's commands, events and
 * the panel serializer to the controller, which does the work (attention-controller.ts).
 *
 * Files of the VS Code side, each one concept:
 *
 *   attention-controller.ts   what the commands do: the editor's text -> one request to the panel in a mode
 *   attention-panel.ts        the webview panel, its messages, request ids and awaited reports
 *   model-choice.ts           the current model, model B, Select Model and Open Model Folder's choices
 *   editor-link.ts            editor <-> panel: the cursor's token, the focused token's attention
 *   editor-highlights.ts      the attention drawn in the editor
 *   editor-text.ts            the text a command works on, and how it is named
 *   panel-restore.ts          a panel restored after a reload: its text found again in its document
 *   command-messages.ts       warnings and errors a command shows; the settings, checked once
 *   panel-log.ts              the output channel's lines for the panel's messages and runs
 *   run-progress.ts           the progress notification of a long run, with Cancel
 *   test-hook.ts              what tests read off the panel (returned by activate in test mode only)
 *   command-results.ts        what the commands resolve to
 *   run-status-bar.ts         the status bar item
 *   learning-host.ts          stages and batch modes: the batch's lines, "show me the code"
 *   walkthrough-commands.ts   the walkthrough's "try it" commands
 *   export-host.ts            the export commands and buttons: the save dialog, the file, Reveal / Open
 *   model-picker.ts           where models come from (settings, opened folders, the hub cache); Select Model
 *   -- pure, no vscode import, unit-tested in plain Node --
 *   selection-tokens.ts       the selected text -> tokens with document ranges
 *   model-catalog.ts          every usable model: bundled, the person's folders, the Hugging Face cache
 *   model-sources.ts          where the catalog looks: media/models, attentionLens.modelFolders, opened folders, the cache
 *   catalog-model.ts          one catalog entry: labels, resource roots, the webview's model descriptor
 *   model-memory.ts           whether a model fits the panel's memory, from config.json
 *   settings.ts               the attentionLens.* settings, checked
 *   request-tracker.ts        request ids, supersession, outcomes that always settle
 *   webview-html.ts           the page and its Content-Security-Policy
 *   weight-buckets.ts         attention weights -> a few decoration levels
 *   panel-state.ts            the panel's saved state, checked after a reload
 *   batch-lines.ts            the selected lines as a batch for batch mode
 *   stages-choice.ts          Show Attention Stages' argument, checked
 *   walkthrough.ts            the walkthrough's steps, examples and modes (pure)
 *   contributions.ts          the ids package.json contributes (commands, view type)
 *   maps-export.ts            the run's maps as the JSON of `attention-lens maps` (docs/maps-schema.md)
 *
 * Reading a model folder on disk (the hub cache, config.json, the weights' headers, the refusal of
 * other formats, tokenizer.json) is src/checkpoint/, shared with the command line (src/cli/).
 */

import * as vscode from "vscode";

import { AttentionController } from "./attention-controller";
import { AttentionPanel } from "./attention-panel";
import { COMMANDS, OUTPUT_CHANNEL_NAME } from "./contributions";
import { testHook, type TestHook } from "./test-hook";
import { registerWalkthroughCommands } from "./walkthrough-commands";

/** What activate returns: the test hook when VS Code runs the extension for tests, else nothing. */
export type AttentionLensApi = { testHook: TestHook } | undefined;

export function activate(context: vscode.ExtensionContext): AttentionLensApi {
  const log = vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME, { log: true });
  const controller = new AttentionController(context.extensionUri, log, context.globalState);
  log.info(`Attention Lens ${String(context.extension.packageJSON.version ?? "")} activated`);

  context.subscriptions.push(
    log,
    controller,
    vscode.commands.registerCommand(COMMANDS.showAttention, () => controller.showAttention()),
    vscode.commands.registerCommand(COMMANDS.selectModel, (modelId?: unknown) => controller.selectModel(modelId)),
    vscode.commands.registerCommand(COMMANDS.openModelFolder, (folder?: unknown) => controller.openModelFolder(folder)),
    vscode.commands.registerCommand(COMMANDS.compareModels, (modelA?: unknown, modelB?: unknown) => controller.compareModels(modelA, modelB)),
    vscode.commands.registerCommand(COMMANDS.convertHeads, (conversion?: unknown) => controller.convertHeads(conversion)),
    vscode.commands.registerCommand(COMMANDS.stepThroughDecoding, () => controller.stepThroughDecoding()),
    vscode.commands.registerCommand(COMMANDS.decodeControl, (action?: unknown) => controller.decodeControl(action)),
    vscode.commands.registerCommand(COMMANDS.revealPanel, () => controller.revealPanel()),
    vscode.commands.registerCommand(COMMANDS.exportPng, (target?: unknown) => controller.exports.exportFromCommand("png", target)),
    vscode.commands.registerCommand(COMMANDS.exportSvg, (target?: unknown) => controller.exports.exportFromCommand("svg", target)),
    vscode.commands.registerCommand(COMMANDS.exportMapsJson, (target?: unknown) => controller.exports.exportFromCommand("maps-json", target)),
    vscode.commands.registerCommand(COMMANDS.showStages, (choice?: unknown) => controller.showLearningMode("stages", choice)),
    vscode.commands.registerCommand(COMMANDS.showBatch, () => controller.showLearningMode("batch")),
    ...registerWalkthroughCommands(context.extensionUri, controller),
    vscode.window.registerWebviewPanelSerializer(AttentionPanel.viewType, {
      deserializeWebviewPanel: (panel, state: unknown) => controller.revivePanel(panel, state),
    }),
    vscode.workspace.onDidChangeConfiguration((event) => controller.onConfigurationChanged(event)),
    vscode.window.onDidChangeTextEditorSelection((event) => controller.editor.onSelectionChanged(event)),
    vscode.workspace.onDidChangeTextDocument((event) => controller.editor.onDocumentChanged(event)),
    vscode.workspace.onDidCloseTextDocument((document) => controller.editor.onDocumentClosed(document)),
    vscode.window.onDidChangeVisibleTextEditors(() => controller.editor.onVisibleEditorsChanged()),
  );
  return context.extensionMode === vscode.ExtensionMode.Test ? { testHook: testHook(controller) } : undefined;
}

/** Everything is in `context.subscriptions`: VS Code disposes it (closing the panel cancels its runs). */
export function deactivate(): void {}

/**
 * A panel VS Code restored after a window reload: the text it showed, found again in its document.
 *
 * The panel saved its state (panel-state.ts checks it). When the saved document still holds the
 * saved text at the saved offset, the text is shown linked to it, as after a Show Attention: the
 * editor follows the panel again. Otherwise the saved text is shown on its own, and the log says why
 * the editor does not follow it.
 */

import { posix } from "node:path";
import * as vscode from "vscode";

import { parseConvertedModelId } from "../converted-model";
import type { TextTokenizer } from "../model/tokenizer";
import type { LensMode, PanelState } from "../protocol";
import type { TextToShow } from "./editor-text";
import type { CatalogModel } from "./model-catalog";
import type { ModelChoice } from "./model-choice";
import { savedTextInDocument } from "./panel-state";
import type { ExtensionSettings } from "./settings";

/** What a restored panel runs: the saved text, model, mode and model B, and a line for the log. */
export interface RestoredRun {
  text: TextToShow;
  model: CatalogModel;
  tokenizer: TextTokenizer;
  options: { mode: LensMode; compareWith?: string };
  description: string;
}

/**
 * The run a restored panel shows: its saved model (else the current one), mode, and model B when it
 * still shares the model's tokenizer.
 */
export async function restoredRun(saved: PanelState, models: ModelChoice, settings: ExtensionSettings): Promise<RestoredRun> {
  await models.refresh(settings);
  const model = models.catalog.find(saved.modelId) ?? (await models.current(settings));
  const tokenizer = await models.tokenizer(model);
  const { text, link } = await textOfSavedState(saved);
  const mode = saved.mode ?? "attention";
  const modelB = saved.compareWith;
  const comparable =
    modelB !== undefined &&
    modelB !== model.id &&
    // Another model with the same tokenizer, or this model with its key/value heads grouped (Convert to GQA...).
    (models.catalog.modelsSharingTokenizer(model).some((candidate) => candidate.id === modelB) || parseConvertedModelId(modelB)?.baseId === model.id);
  return {
    text,
    model,
    tokenizer,
    options: { mode, ...(comparable ? { compareWith: modelB } : {}) },
    description: `restored the panel: ${saved.source} with ${model.id} in ${mode} mode; ${link}`,
  };
}

/** The saved text to show again, and in words for the log whether the editor follows it. */
async function textOfSavedState(saved: PanelState): Promise<{ text: TextToShow; link: string }> {
  const found = await savedDocument(saved);
  if ("why" in found) {
    return {
      text: { rawText: saved.text, documentStart: 0, source: saved.source, usedCurrentLine: false, firstLine: 1 },
      link: `the editor does not follow it until the next Show Attention: ${found.why}`,
    };
  }
  return {
    text: {
      rawText: found.rawText,
      documentStart: found.start,
      document: { uri: found.document.uri.toString(), version: found.document.version, name: found.name },
      source: saved.source,
      usedCurrentLine: false,
      firstLine: found.document.positionAt(found.start).line + 1,
    },
    link: "the editor follows it again",
  };
}

/**
 * The saved text's document, opened, with the text as it is there (its own line endings), when it
 * still holds the saved text at the saved offset; otherwise why not, in words for the log.
 */
async function savedDocument(saved: PanelState): Promise<{ document: vscode.TextDocument; name: string; start: number; rawText: string } | { why: string }> {
  if (saved.documentUri === undefined || saved.documentStart === undefined) {
    return { why: "the saved panel names no document (its text was in no open document, or an older version saved it)" };
  }
  let uri: vscode.Uri;
  try {
    uri = vscode.Uri.parse(saved.documentUri, true);
  } catch (error) {
    return { why: `the saved document ${saved.documentUri} is not a valid URI (${error instanceof Error ? error.message : String(error)})` };
  }
  const name = posix.basename(uri.path) || saved.documentUri;
  let document: vscode.TextDocument;
  try {
    document = await vscode.workspace.openTextDocument(uri);
  } catch (error) {
    return { why: `${name} cannot be opened (${error instanceof Error ? error.message : String(error)}); it was moved or deleted perhaps` };
  }
  const rawText = savedTextInDocument(document.getText(), saved.documentStart, saved.text);
  if (rawText === undefined) {
    return { why: `${name} no longer holds the shown text at offset ${saved.documentStart}; it was changed since the panel was saved` };
  }
  return { document, name, start: saved.documentStart, rawText };
}

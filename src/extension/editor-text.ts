/**
 * The text a command works on, read from the editor when it runs: the active editor's primary
 * selection, or the line under the cursor when nothing is selected (selection-tokens.ts chooses),
 * with the document it belongs to; and how the log and the panel's title name it.
 */

import { posix } from "node:path";
import * as vscode from "vscode";

import type { LinkedDocument } from "./editor-link";
import { chooseText, SELECT_TEXT_ADVICE, type SelectionTokens } from "./selection-tokens";

/** A text to run the model on, and where it came from. */
export interface TextToShow {
  /** As in the document (its own line endings), before any cut to the token budget. */
  rawText: string;
  /** Its document offset (0 without a document). */
  documentStart: number;
  /** The document it is part of, at the version the offsets belong to; absent when there is none (a restored panel whose document changed). */
  document?: LinkedDocument;
  /** The title line, when there is no document to compute it from. */
  source: string;
  usedCurrentLine: boolean;
  /** The 1-based line the text starts on (batch mode numbers its lines from it). */
  firstLine: number;
}

/**
 * The active editor's text for a command, or what to tell the person instead: there is no editor
 * (`noEditor` says what needs one), or nothing to show.
 */
export function textOfActiveEditor(noEditor: string): TextToShow | { warning: string } {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return { warning: `${noEditor}, and no editor is active. Open a file, then: ${SELECT_TEXT_ADVICE}` };
  const document = editor.document;
  const documentText = document.getText();
  const chosen = chooseText(documentText, document.offsetAt(editor.selection.start), document.offsetAt(editor.selection.end));
  if (chosen.kind === "nothing") return { warning: chosen.message };
  return {
    rawText: documentText.slice(chosen.start, chosen.end),
    documentStart: chosen.start,
    document: { uri: document.uri.toString(), version: document.version, name: posix.basename(document.uri.path) || document.uri.toString() },
    source: "",
    usedCurrentLine: chosen.usedCurrentLine,
    firstLine: document.positionAt(chosen.start).line + 1,
  };
}

/** "main.ts:12-18" (1-based lines of the shown text), "main.ts:12" for one line. */
export function describeSource(name: string, document: vscode.TextDocument, tokens: SelectionTokens): string {
  const first = document.positionAt(tokens.documentStart).line + 1;
  const end = document.positionAt(tokens.documentEnd);
  // A text that ends with its line break ends on the line before.
  const last = Math.max(first, end.character === 0 && tokens.documentEnd > tokens.documentStart ? end.line : end.line + 1);
  return first === last ? `${name}:${first}` : `${name}:${first}-${last}`;
}

/** "120 tokens", "512 of about 34000 tokens (cut to the limit)", "+ the current line". */
export function describeRun(tokens: SelectionTokens, usedCurrentLine: boolean): string {
  const truncation = tokens.truncation;
  const count = truncation
    ? `${truncation.keptTokens} of ${truncation.totalIsEstimate ? "about " : ""}${truncation.totalTokens} tokens (cut to the token limit)`
    : `${tokens.tokens.length} tokens`;
  return usedCurrentLine ? `${count} of the line under the cursor` : count;
}

/**
 * How the editor and the panel follow each other, for the text the panel shows:
 *
 *   editor cursor   moves onto a shown token -> `focusToken` to the panel (`onSelectionChanged`)
 *   panel           `tokenFocused` -> that token's attention drawn in the editor (`drawFocus`,
 *                   editor-highlights.ts), again when the colour scale changes or editors are split
 *
 * The link holds only while the document is unchanged: an edit, or closing it, drops the highlights
 * and the cursor tracking until the next run (the log says why). After a window reload the restored
 * panel links to its document again when it still holds the saved text (panel-restore.ts).
 */

import * as vscode from "vscode";

import type { ColorScale, TokenInfo, WebviewToHostMessage } from "../protocol";
import { EditorHighlights } from "./editor-highlights";
import { tokenIndexAtOffset, type OffsetRange } from "./selection-tokens";

type TokenFocused = Extract<WebviewToHostMessage, { type: "tokenFocused" }>;

/** The shown text's document, at the version its offsets belong to. */
export interface LinkedDocument {
  uri: string;
  version: number;
  name: string;
}

/** What the panel shows, as the editor side needs it. */
export interface LinkedText {
  requestId: number;
  document: LinkedDocument;
  tokens: readonly TokenInfo[];
  /** Per token, its range in the document. */
  documentRanges: readonly OffsetRange[];
}

export class EditorLink implements vscode.Disposable {
  private readonly highlights = new EditorHighlights();
  private linked: LinkedText | undefined;
  /** The last token index sent with `focusToken` (null: the cursor was off the text). */
  private lastFocusSent: number | null | undefined;
  /** The last `tokenFocused`, to draw it again when the colour scale changes. */
  private lastFocus: TokenFocused | undefined;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    /** Sends the cursor's token to the panel (null: off the text). */
    private readonly focusToken: (tokenIndex: number | null) => void,
  ) {}

  /** A new run: follow its document (undefined: a text of no open document). */
  link(text: LinkedText | undefined): void {
    this.linked = text;
    this.lastFocusSent = undefined;
    this.lastFocus = undefined;
    this.highlights.clear();
  }

  /** The panel closed: nothing to follow. */
  unlink(): void {
    this.link(undefined);
  }

  /** The open document of the link, if it is still at the linked version. */
  linkedDocument(): vscode.TextDocument | undefined {
    const document = this.linked?.document;
    return document ? openDocument(document.uri, document.version) : undefined;
  }

  /** The panel focused a token (or none) of request `message.requestId`: draw its attention. */
  drawFocus(message: TokenFocused, colorScale: ColorScale): void {
    const linked = this.linked;
    if (!linked || linked.requestId !== message.requestId) return;
    this.lastFocus = message;
    const document = this.linkedDocument();
    if (message.tokenIndex === null || !document) {
      this.highlights.clear();
      return;
    }
    this.highlights.show({
      document,
      documentRanges: linked.documentRanges,
      tokens: linked.tokens,
      focusedIndex: message.tokenIndex,
      weights: message.weights,
      colorScale,
      selection: message.selection,
    });
  }

  /** The colour scale changed: draw the last focus again. */
  redraw(colorScale: ColorScale): void {
    if (this.lastFocus) this.drawFocus(this.lastFocus, colorScale);
  }

  /** The cursor moved: tell the panel which shown token it is on. */
  onSelectionChanged(event: vscode.TextEditorSelectionChangeEvent): void {
    const linked = this.linked;
    const document = event.textEditor.document;
    if (!linked || document.uri.toString() !== linked.document.uri || document.version !== linked.document.version) return;
    const tokenIndex = tokenIndexAtOffset(linked.documentRanges, document.offsetAt(event.selections[0].active));
    if (tokenIndex === this.lastFocusSent) return;
    this.lastFocusSent = tokenIndex;
    this.focusToken(tokenIndex);
  }

  onDocumentChanged(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length > 0 && this.linked?.document.uri === event.document.uri.toString()) this.drop("it was edited");
  }

  onDocumentClosed(document: vscode.TextDocument): void {
    if (this.linked?.document.uri === document.uri.toString()) this.drop("it was closed");
  }

  onVisibleEditorsChanged(): void {
    this.highlights.apply();
  }

  dispose(): void {
    this.highlights.dispose();
  }

  private drop(why: string): void {
    if (!this.linked) return;
    this.log.info(`${this.linked.document.name}: ${why}, so the editor no longer follows the panel until the next Show Attention`);
    this.unlink();
  }
}

/** The open document with this URI, if it is still at `version`. */
export function openDocument(uri: string, version: number): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((document) => document.uri.toString() === uri && document.version === version);
}

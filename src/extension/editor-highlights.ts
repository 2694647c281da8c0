/**
 * The attention drawn in the editor, on the text the panel shows.
 *
 *   - the focused token (the query): the editor's "strong word highlight" colours and border, and a
 *     mark in the overview ruler;
 *   - every token it attends to (the keys): a background whose opacity grows with the weight, in
 *     `ATTENTION_BUCKETS` steps, one decoration type per step (weight-buckets.ts), so even 512
 *     tokens cost a handful of `setDecorations` calls. Hovering a token shows its weight.
 *
 * Drawn on every visible editor of the document, again when editors are shown or split; cleared
 * when the panel closes, the document changes, or the webview says no token is focused.
 */

import * as vscode from "vscode";

import type { ColorScale, HeadSelection, TokenInfo } from "../protocol";
import type { OffsetRange } from "./selection-tokens";
import { ATTENTION_BUCKETS, bucketOpacity, weightedRanges } from "./weight-buckets";

export interface FocusToDraw {
  document: vscode.TextDocument;
  /** Per token, its document range (selection-tokens.ts). */
  documentRanges: readonly OffsetRange[];
  tokens: readonly TokenInfo[];
  focusedIndex: number;
  /** Weight from the focused token to every token, in token order. */
  weights: readonly number[];
  colorScale: ColorScale;
  selection: HeadSelection;
}

/** What is drawn now, kept to draw it again on newly visible editors. */
interface Drawn {
  documentUri: string;
  focused: vscode.DecorationOptions[];
  buckets: vscode.DecorationOptions[][];
}

export class EditorHighlights implements vscode.Disposable {
  private readonly focusedType = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor("editor.wordHighlightStrongBackground"),
    borderColor: new vscode.ThemeColor("editor.wordHighlightStrongBorder"),
    borderStyle: "solid",
    borderWidth: "1px",
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.wordHighlightStrongForeground"),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });

  /** Index b - 1 draws bucket b: an amber background (a deeper amber on light themes), more opaque as b grows. */
  private readonly bucketTypes = Array.from({ length: ATTENTION_BUCKETS }, (_, index) => {
    const opacity = bucketOpacity(index + 1);
    return vscode.window.createTextEditorDecorationType({
      light: { backgroundColor: `rgba(214, 120, 0, ${opacity})` },
      dark: { backgroundColor: `rgba(255, 176, 46, ${opacity})` },
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    });
  });

  private drawn: Drawn | undefined;

  /** Draws one token's attention, replacing what was drawn before. */
  show(focus: FocusToDraw): void {
    const { document, documentRanges, tokens, focusedIndex, weights, colorScale, selection } = focus;
    this.clear();
    const toRange = ([start, end]: OffsetRange) => new vscode.Range(document.positionAt(start), document.positionAt(end));
    const headName = selection.head === "mean" ? "mean over heads" : `head ${selection.head}`;
    const focusedText = describeToken(tokens, focusedIndex);

    const buckets: vscode.DecorationOptions[][] = this.bucketTypes.map(() => []);
    for (const weighted of weightedRanges(documentRanges, weights, colorScale)) {
      const keys = weighted.tokenCount === 1 ? describeToken(tokens, weighted.tokenIndex) : `tokens #${weighted.tokenIndex}-#${weighted.tokenIndex + weighted.tokenCount - 1} (one character)`;
      const hoverMessage = new vscode.MarkdownString().appendText(
        `Attention Lens: ${focusedText} attends to ${keys} with weight ${formatWeight(weighted.weight)} (layer ${selection.layer}, ${headName}).`,
      );
      buckets[weighted.bucket - 1].push({ range: toRange(weighted.range), hoverMessage });
    }
    const focusedRange = documentRanges[focusedIndex];
    const focused: vscode.DecorationOptions[] =
      focusedRange && focusedRange[0] < focusedRange[1]
        ? [{ range: toRange(focusedRange), hoverMessage: new vscode.MarkdownString().appendText(`Attention Lens: the focused token, ${focusedText}.`) }]
        : [];

    this.drawn = { documentUri: document.uri.toString(), focused, buckets };
    this.apply();
  }

  /** Removes every highlight. */
  clear(): void {
    const drawn = this.drawn;
    this.drawn = undefined;
    if (!drawn) return;
    for (const editor of this.editorsOf(drawn.documentUri)) {
      editor.setDecorations(this.focusedType, []);
      for (const type of this.bucketTypes) editor.setDecorations(type, []);
    }
  }

  /** Draws again on the editors now visible (call when they change). */
  apply(): void {
    const drawn = this.drawn;
    if (!drawn) return;
    for (const editor of this.editorsOf(drawn.documentUri)) {
      editor.setDecorations(this.focusedType, drawn.focused);
      this.bucketTypes.forEach((type, index) => editor.setDecorations(type, drawn.buckets[index]));
    }
  }

  /** The document the highlights are on, if any. */
  get documentUri(): string | undefined {
    return this.drawn?.documentUri;
  }

  dispose(): void {
    this.drawn = undefined;
    this.focusedType.dispose(); // disposing a type removes its decorations everywhere
    for (const type of this.bucketTypes) type.dispose();
  }

  private editorsOf(documentUri: string): vscode.TextEditor[] {
    return vscode.window.visibleTextEditors.filter((editor) => editor.document.uri.toString() === documentUri);
  }
}

/** `token #5 " world"` */
function describeToken(tokens: readonly TokenInfo[], index: number): string {
  const token = tokens[index];
  return token ? `token #${index} ${JSON.stringify(token.text)}` : `token #${index}`;
}

function formatWeight(weight: number): string {
  if (weight >= 0.01) return weight.toFixed(3);
  return weight.toExponential(1);
}

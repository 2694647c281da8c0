/**
 * The panel's saved state (`PanelState` in src/protocol.ts), as VS Code hands it back after a
 * reload. The webview saves it with `acquireVsCodeApi().setState(...)`; VS Code keeps it as JSON
 * and passes it to the WebviewPanelSerializer. It comes from a file on disk and from an older
 * version of the extension perhaps, so it is checked field by field before use.
 *
 * Pure: no `vscode` import.
 */

import type { HeadSelection, LensMode, PanelState } from "../protocol";

/** Every mode, so a saved mode can be checked (a new LensMode fails to compile until it is added). */
const LENS_MODES: Record<LensMode, true> = { attention: true, compare: true, decode: true, stages: true, batch: true };

/**
 * The saved state if it has the shape of a `PanelState` and some text; otherwise undefined. The
 * optional fields are kept when valid and dropped when not: an unknown mode or an empty model B
 * (the panel then opens in attention mode, or picks model B itself), a document link that is not
 * a URI with an offset (the panel then shows the text without following an editor).
 */
export function parsePanelState(value: unknown): PanelState | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const state = value as Record<string, unknown>;
  if (typeof state.modelId !== "string" || typeof state.text !== "string" || typeof state.source !== "string") return undefined;
  if (state.text.trim() === "") return undefined;
  const lockedToken = state.lockedToken;
  const validLock = lockedToken === null || lockedToken === undefined || (Number.isInteger(lockedToken) && (lockedToken as number) >= 0);
  return {
    modelId: state.modelId,
    text: state.text,
    source: state.source,
    selection: parseHeadSelection(state.selection),
    lockedToken: validLock ? ((lockedToken as number | null | undefined) ?? null) : null,
    ...(isLensMode(state.mode) ? { mode: state.mode } : {}),
    ...(typeof state.compareWith === "string" && state.compareWith.trim() !== "" ? { compareWith: state.compareWith } : {}),
    ...parseDocumentLink(state.documentUri, state.documentStart),
  };
}

function isLensMode(value: unknown): value is LensMode {
  return typeof value === "string" && Object.hasOwn(LENS_MODES, value);
}

/** Both fields, or neither: a URI with a scheme ("file:", "untitled:", ...) and an offset >= 0. */
function parseDocumentLink(uri: unknown, start: unknown): Pick<PanelState, "documentUri" | "documentStart"> {
  if (typeof uri !== "string" || !/^[a-z][a-z0-9+.-]*:\S/i.test(uri)) return {};
  if (!Number.isSafeInteger(start) || (start as number) < 0) return {};
  return { documentUri: uri, documentStart: start as number };
}

/**
 * Where the saved text still is in the document: the document's text from `start` whose line
 * breaks, "\r\n" turned into "\n" (as for the model, see selection-tokens.ts), give `savedText`.
 * Returns that text as it is in the document (its own line endings), or undefined when the document
 * no longer holds the saved text at `start` (it was edited, or it is another file now).
 *
 *   document   x \r \n y          start 0         saved text   x \n y   ->   "x\r\ny"
 */
export function savedTextInDocument(documentText: string, start: number, savedText: string): string | undefined {
  if (!Number.isSafeInteger(start) || start < 0 || start > documentText.length) return undefined;
  let end = start; // walks the document while `index` walks the saved text
  for (let index = 0; index < savedText.length; index++) {
    const expected = savedText[index];
    if (expected === "\n" && documentText[end] === "\r" && documentText[end + 1] === "\n") end += 2;
    else if (documentText[end] === expected) end += 1;
    else return undefined;
  }
  return documentText.slice(start, end);
}

function parseHeadSelection(value: unknown): HeadSelection {
  const fallback: HeadSelection = { layer: 0, head: "mean" };
  if (typeof value !== "object" || value === null) return fallback;
  const { layer, head } = value as Record<string, unknown>;
  if (!Number.isInteger(layer) || (layer as number) < 0) return fallback;
  if (head === "mean" || (Number.isInteger(head) && (head as number) >= 0)) return { layer: layer as number, head: head as number | "mean" };
  return { layer: layer as number, head: "mean" };
}

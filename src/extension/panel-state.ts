/**
 * The panel's saved state (`PanelState` in src/protocol.ts), as VS Code hands it back after a
 * reload. The webview saves it with `acquireVsCodeApi().setState(...)`; VS Code keeps it as JSON
 * and passes it to the WebviewPanelSerializer. It comes from a file on disk and from an older
 * version of the extension perhaps, so it is checked field by field before use.
 *
 * Pure: no `vscode` import.
 */

import type { HeadSelection, PanelState } from "../protocol";

/** The saved state if it has the shape of a `PanelState` and some text; otherwise undefined. */
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
  };
}

function parseHeadSelection(value: unknown): HeadSelection {
  const fallback: HeadSelection = { layer: 0, head: "mean" };
  if (typeof value !== "object" || value === null) return fallback;
  const { layer, head } = value as Record<string, unknown>;
  if (!Number.isInteger(layer) || (layer as number) < 0) return fallback;
  if (head === "mean" || (Number.isInteger(head) && (head as number) >= 0)) return { layer: layer as number, head: head as number | "mean" };
  return { layer: layer as number, head: "mean" };
}

/**
 * The names package.json contributes, in one place: commands, the panel's view type, the settings
 * section and the output channel. A unit test checks the manifest against them.
 *
 * Pure: no `vscode` import.
 */

export const COMMANDS = {
  /** Attention Lens: Show Attention (palette, editor context menu, Ctrl+Alt+A / Cmd+Alt+A). */
  showAttention: "attentionLens.showAttention",
  /** Attention Lens: Select Model. */
  selectModel: "attentionLens.selectModel",
  /** Brings the panel to the front: the status bar item's click (not in the palette). */
  revealPanel: "attentionLens.revealPanel",
} as const;

/** The webview panel's type ("onWebviewPanel:attentionLens.panel" activates the serializer). */
export const PANEL_VIEW_TYPE = "attentionLens.panel";

/** The output channel every run is logged to. */
export const OUTPUT_CHANNEL_NAME = "Attention Lens";

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
  /** Attention Lens: Open Model Folder...: a folder picker for a Hugging Face model folder; the folder is remembered. */
  openModelFolder: "attentionLens.openModelFolder",
  /** Attention Lens: Compare Models (palette): the selection through two models, in compare mode. */
  compareModels: "attentionLens.compareModels",
  /** Attention Lens: Convert to GQA... (palette): the selection through the model and through the model with its key/value heads grouped, in compare mode. */
  convertHeads: "attentionLens.convertHeads",
  /** Attention Lens: Step Through Decoding (palette): the selection as a prompt, in decode mode. */
  stepThroughDecoding: "attentionLens.stepThroughDecoding",
  /** Decode mode's controls ("step", "back", "reset", "play", "pause") for keybindings and tests (not in the palette). */
  decodeControl: "attentionLens.decodeControl",
  /** Attention Lens: Show Attention Stages (palette): QK^T, scaled, masked, softmax, dropout, V for one layer, head and query. */
  showStages: "attentionLens.showStages",
  /** Attention Lens: Show Batch and Masks (palette): each selected line one sequence of a left-padded batch. */
  showBatch: "attentionLens.showBatch",
  /** Attention Lens: Export View as PNG (palette): the main view of the panel's mode at 2x, through the save dialog (an optional file or {target, view}: no dialog). */
  exportPng: "attentionLens.exportPng",
  /** Attention Lens: Export View as SVG (palette): the same as a vector picture with the token labels and the colour legend. */
  exportSvg: "attentionLens.exportSvg",
  /** Attention Lens: Export Attention Maps as JSON (palette): the run's maps in the schema of `attention-lens maps` (docs/maps-schema.md). */
  exportMapsJson: "attentionLens.exportMapsJson",
  /** Brings the panel to the front: the status bar item's click (not in the palette). */
  revealPanel: "attentionLens.revealPanel",
} as const;

/** The webview panel's type ("onWebviewPanel:attentionLens.panel" activates the serializer). */
export const PANEL_VIEW_TYPE = "attentionLens.panel";

/** The output channel every run is logged to. */
export const OUTPUT_CHANNEL_NAME = "Attention Lens";

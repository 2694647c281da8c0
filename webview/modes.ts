/**
 * The panel's modes, in the order of its tab bar: what each one shows, in a word and a line.
 *
 * A mode is one way of looking at the text on screen. `LensSession.mode` holds the current one,
 * App.svelte shows that mode's view (attention/AttentionView.svelte, compare/CompareView.svelte, …),
 * and the mode is kept in the panel's saved state. A new mode adds its member to `LensMode`
 * (src/protocol.ts), its entry here, its folder with its view and state, its state in
 * lens-session.svelte.ts, and its branch in App.svelte.
 */

import type { LensMode } from "../src/protocol";

export interface ModeInfo {
  mode: LensMode;
  /** The tab's text. */
  label: string;
  /** One line: the tab's tooltip and the screen reader's description. */
  description: string;
}

export const MODES: readonly ModeInfo[] = [
  { mode: "attention", label: "Attention", description: "Every head of one model: the layer × head overview, one head large, the text shaded" },
  { mode: "compare", label: "Compare", description: "Two models on the same tokens, aligned by layer and head, with |A − B| and the KV cache of each" },
  { mode: "decode", label: "Decode", description: "Cached decoding step by step from the text as prompt: each new query row over the KV cache, and the cache itself" },
  { mode: "stages", label: "Stages", description: "One layer, head and query: QK^T, scaled, masked, softmax, dropout and V with their real numbers and formulas, and why sqrt(d)" },
  { mode: "batch", label: "Batch", description: "The selected lines as a left-padded batch: padding, causal and combined masks, and why the pads go on the left" },
];

/** The mode a panel opens in when nothing says otherwise. */
export const DEFAULT_MODE: LensMode = "attention";

/** Whether `value` names one of the modes (a saved state or a message may hold anything). */
export function isLensMode(value: unknown): value is LensMode {
  return MODES.some((info) => info.mode === value);
}

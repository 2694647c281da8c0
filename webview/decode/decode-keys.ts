/**
 * Decode mode's keyboard shortcuts (with the focus in the decode view, not in a text field), listed
 * in the panel's keyboard help.
 */

import type { DecodeAction } from "../../src/protocol";

export const DECODE_KEYBOARD_HELP: readonly { keys: string; action: string }[] = [
  { keys: "→ / N", action: "step: one token more" },
  { keys: "← / B", action: "back: one token fewer" },
  { keys: "Space / P", action: "play / pause" },
  { keys: "Home / R", action: "reset to the prompt" },
  { keys: "[ ]", action: "previous / next layer" },
];

/** What a key does in decode mode: a control, a layer change, or nothing. */
export function decodeKeyAction(key: string, playing: boolean): DecodeAction | "previous-layer" | "next-layer" | null {
  switch (key) {
    case "ArrowRight":
    case "n":
    case "N":
      return "step";
    case "ArrowLeft":
    case "b":
    case "B":
      return "back";
    case " ":
    case "p":
    case "P":
      return playing ? "pause" : "play";
    case "Home":
    case "r":
    case "R":
      return "reset";
    case "[":
      return "previous-layer";
    case "]":
      return "next-layer";
    default:
      return null;
  }
}

/**
 * The names the exports suggest to the save dialog: the model, then what the picture shows, e.g.
 * "attention-lens-mha layer 1 head 3.svg", "attention-lens-gqa vs attention-lens-mha layer 0 head 2
 * difference.png", "attention-lens-gqa attention maps.json". Pure.
 */

import type { HeadSelection, ModelDescriptor } from "../../src/protocol";

/**
 * A model as a file name needs it: a bundled id as it is, a Hugging Face repository id with its
 * "/" as "-" ("HuggingFaceTB-SmolLM2-135M"), a folder of the person's by its last component.
 */
export function modelFileName(model: Pick<ModelDescriptor, "id" | "source">): string {
  if (model.source === "folder") return model.id.replace(/[\\/]+$/, "").split(/[\\/]/).pop() || "model";
  return model.id.replace(/[\\/]/g, "-");
}

/** "layer 1 head 3", "layer 1 mean". */
export function selectionFileName(selection: HeadSelection): string {
  return `layer ${selection.layer} ${selection.head === "mean" ? "mean" : `head ${selection.head}`}`;
}

/** The parts joined by spaces, with the characters file systems refuse replaced by "-", and the extension. */
export function exportFileName(parts: readonly string[], extension: "png" | "svg" | "json"): string {
  const base = parts
    .join(" ")
    .replace(/[<>:"/\\|?*\p{Cc}]/gu, "-")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[. ]+$/, "");
  return `${base || "attention-lens"}.${extension}`;
}

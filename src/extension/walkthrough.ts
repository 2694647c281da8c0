/**
 * The "Learn attention" walkthrough (package.json `contributes.walkthroughs`): nine steps, each with
 * a page in media/walkthrough/<id>.md, a prepared example file in media/walkthrough/, and a "try it"
 * command `attentionLens.tryIt.<id>` that opens the example, selects it and shows it in the panel
 * in the right mode. Running the command completes the step (`completionEvents: onCommand:...`).
 *
 * Pure: no `vscode` import; walkthrough-commands.ts runs the steps, a unit test checks that the
 * manifest, the pages and the examples agree with this table.
 */

import type { StagesChoice } from "../protocol";

export const WALKTHROUGH_ID = "attentionLens.learnAttention";

/** What a step shows once its example is selected. */
export type WalkthroughAction =
  | { kind: "stages"; choice: StagesChoice }
  | { kind: "batch" }
  | { kind: "attention" }
  | { kind: "compare"; modelA: string; modelB: string }
  | { kind: "decode" };

export interface WalkthroughStep {
  /** Step id, also the command's suffix and the page's name. */
  id: string;
  title: string;
  /** The example, a file in media/walkthrough/. */
  example: string;
  action: WalkthroughAction;
}

export const WALKTHROUGH_STEPS: readonly WalkthroughStep[] = [
  {
    id: "formula",
    title: "The formula: softmax(QK^T / sqrt(d)) V",
    example: "formula.txt",
    action: { kind: "stages", choice: { layer: 0, head: 2, query: 9, key: 3, section: "stages" } },
  },
  {
    id: "scaling",
    title: "Why divide by sqrt(d)",
    example: "scaling.ts",
    action: { kind: "stages", choice: { layer: 1, head: 0, query: 12, key: 1, section: "scaling" } },
  },
  {
    id: "causal",
    title: "The causal mask: only look back",
    example: "causal.txt",
    action: { kind: "stages", choice: { layer: 0, head: 0, query: 4, key: 6, section: "stages" } },
  },
  {
    id: "padding",
    title: "Padding: a batch of lines, pads on the left",
    example: "padding.txt",
    action: { kind: "batch" },
  },
  {
    id: "dropout",
    title: "Dropout (training only)",
    example: "dropout.txt",
    action: { kind: "stages", choice: { layer: 0, head: 1, query: 8, key: 2, dropoutRate: 0.2, dropoutSeed: 7, section: "stages" } },
  },
  {
    id: "multihead",
    title: "Multi-head attention",
    example: "multihead.ts",
    action: { kind: "attention" },
  },
  {
    id: "lines",
    title: "Lines: where each token looks",
    example: "lines.txt",
    action: { kind: "attention" },
  },
  {
    id: "grouped",
    title: "Grouped-query and multi-query attention",
    example: "grouped.ts",
    action: { kind: "compare", modelA: "attention-lens-mha", modelB: "attention-lens-mqa" },
  },
  {
    id: "kvcache",
    title: "The KV cache",
    example: "kvcache.ts",
    action: { kind: "decode" },
  },
];

/** `attentionLens.tryIt.<id>`. */
export function tryItCommand(step: WalkthroughStep | string): string {
  return `attentionLens.tryIt.${typeof step === "string" ? step : step.id}`;
}

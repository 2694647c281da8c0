/**
 * What the commands resolve to, for tests, scripts and keybindings: the panel's report of the
 * request each sent, with its request id (undefined when nothing ran; the reason was shown).
 */

import type { ComparisonSummary, DecodeStepSummary, RunSummary } from "../protocol";
import type { ShowAttentionFields } from "./attention-panel";

/**
 * What Show Attention resolves to: the panel's run report with its request id, and what the host
 * did to the text before sending it: `truncation` when the selection was cut to the token limit,
 * `usedCurrentLine` when nothing was selected and the line under the cursor was shown.
 */
export type AttentionSummary = RunSummary & { requestId: number } & Pick<ShowAttentionFields, "truncation" | "usedCurrentLine">;

/** What Compare Models resolves to: the panel's comparison report with its request id. */
export type ComparisonResult = ComparisonSummary & { requestId: number };

/** What Step Through Decoding and the decode controls resolve to: the state after the action, or why it stopped. */
export interface DecodeReport {
  requestId: number;
  step?: DecodeStepSummary;
  stopped?: string;
}

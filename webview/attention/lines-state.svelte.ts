/**
 * The lines view's choices (LinesView.svelte), kept with the Attention mode's state so that a tab
 * switch keeps them and the export draws what the view draws: the heads ticked and the threshold.
 */

import type { HeadSelection } from "../../src/protocol";

export class LinesState {
  /** The heads the person ticked; null: follow the panel's selected head (every head for the layer's mean). */
  chosenHeads = $state.raw<number[] | null>(null);
  /** Lines below this weight are hidden. */
  threshold = $state.raw(0.02);

  /** The heads drawn, in order. */
  shownHeads(selection: HeadSelection, heads: number): number[] {
    if (this.chosenHeads) return this.chosenHeads.filter((head) => head < heads);
    return selection.head === "mean" ? Array.from({ length: heads }, (_, head) => head) : [selection.head];
  }

  toggleHead(head: number, selection: HeadSelection, heads: number): void {
    const shown = new Set(this.shownHeads(selection, heads));
    if (shown.has(head)) shown.delete(head);
    else shown.add(head);
    this.chosenHeads = [...shown].sort((a, b) => a - b);
  }

  showAll(heads: number): void {
    this.chosenHeads = Array.from({ length: heads }, (_, head) => head);
  }

  showNone(): void {
    this.chosenHeads = [];
  }
}

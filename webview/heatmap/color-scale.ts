/**
 * The panel's side of the colour scales: the legend's ticks and how weights are written in labels
 * and read-outs. How a weight becomes a position on the scale (linear, sqrt, log) is shared with the
 * editor's highlights: src/color-scale.ts.
 */

import type { ColorScale } from "../../src/protocol";
import { LOG_FLOOR, scaleWeight } from "../../src/color-scale";

export { COLOR_SCALES, LOG_FLOOR, scaleWeight, weightAtPosition } from "../../src/color-scale";

export interface LegendTick {
  /** The weight the tick marks. */
  weight: number;
  /** Where it sits along the legend, in [0, 1]. */
  position: number;
  label: string;
}

/** The ticks a colour legend shows for `scale`: round weights, at their positions. */
export function legendTicks(scale: ColorScale): LegendTick[] {
  const weights =
    scale === "log" ? [LOG_FLOOR, 1e-3, 1e-2, 1e-1, 1] : scale === "sqrt" ? [0, 0.05, 0.25, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1];
  return weights.map((weight) => ({ weight, position: scaleWeight(weight, scale), label: formatWeight(weight) }));
}

/** A weight for labels: "0", "1", "0.25", "0.0012", "1e-4". */
export function formatWeight(weight: number): string {
  if (Number.isNaN(weight)) return "masked";
  if (weight === 0 || weight === 1) return String(weight);
  if (weight < 1e-3) {
    const [mantissa, exponent] = weight.toExponential(1).split("e");
    return `${mantissa.replace(/\.0$/, "")}e${Number(exponent)}`;
  }
  if (weight < 0.01) return weight.toFixed(4).replace(/0+$/, "");
  return weight.toFixed(3).replace(/\.?0+$/, "");
}

/** A weight for the hover read-out: four decimals, or two significant digits when smaller. */
export function formatWeightPrecisely(weight: number): string {
  if (Number.isNaN(weight)) return "masked";
  if (weight !== 0 && Math.abs(weight) < 1e-3) return weight.toExponential(1);
  return weight.toFixed(4);
}

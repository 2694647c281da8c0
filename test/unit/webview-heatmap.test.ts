/**
 * The webview's heatmap drawing, in plain Node: colour table, colour scales, one-pixel-per-cell
 * rendering, the causal mask and max-pool downsampling. Expected values are worked out by hand in
 * the comments.
 */

import assert from "node:assert/strict";

import { COLOR_TABLE, COLOR_TABLE_SIZE, colorAt, colorIndex, cssColorAt, interpolateStops, VIRIDIS_STOPS } from "../../webview/heatmap/color-map";
import {
  formatWeight,
  formatWeightPrecisely,
  legendTicks,
  LOG_FLOOR,
  scaleWeight,
  weightAtPosition,
} from "../../webview/heatmap/color-scale";
import { blockSizeFor, maxPoolDownsample } from "../../webview/heatmap/downsample";
import { keyIsVisible, maskFutureKeys, renderHeatmapIntoImageData } from "../../webview/heatmap/render";

const NaN32 = Number.NaN;

function pixel(image: Uint8ClampedArray, index: number): number[] {
  return Array.from(image.subarray(index * 4, index * 4 + 4));
}

describe("webview heatmap: the colour table (viridis)", () => {
  it("has 33 stops from dark purple to yellow, and 256 opaque entries", () => {
    assert.equal(VIRIDIS_STOPS.length, 33);
    assert.deepEqual(VIRIDIS_STOPS[0], [68, 1, 84]); // #440154
    assert.deepEqual(VIRIDIS_STOPS[32], [253, 231, 37]); // #fde725
    assert.equal(COLOR_TABLE.length, COLOR_TABLE_SIZE * 4);
    assert.deepEqual(Array.from(COLOR_TABLE.subarray(0, 4)), [68, 1, 84, 255]);
    assert.deepEqual(Array.from(COLOR_TABLE.subarray(255 * 4, 256 * 4)), [253, 231, 37, 255]);
    for (let index = 3; index < COLOR_TABLE.length; index += 4) assert.equal(COLOR_TABLE[index], 255);
  });

  it("gets lighter all the way (perceptual order: luminance rises with t)", () => {
    const luminance = (index: number) => 0.2126 * COLOR_TABLE[index * 4] + 0.7152 * COLOR_TABLE[index * 4 + 1] + 0.0722 * COLOR_TABLE[index * 4 + 2];
    for (let index = 1; index < COLOR_TABLE_SIZE; index++) assert.ok(luminance(index) >= luminance(index - 1) - 0.5, `entry ${index}`);
  });

  it("interpolates linearly between evenly spaced stops", () => {
    const blackToWhite = [
      [0, 0, 0],
      [255, 255, 255],
    ] as const;
    assert.deepEqual(interpolateStops(blackToWhite, 0.5), [128, 128, 128]); // 127.5 rounds up
    assert.deepEqual(interpolateStops(blackToWhite, 0.25), [64, 64, 64]); // 63.75
    assert.deepEqual(interpolateStops(blackToWhite, -3), [0, 0, 0]);
    assert.deepEqual(interpolateStops(blackToWhite, 7), [255, 255, 255]);
    assert.deepEqual(interpolateStops(VIRIDIS_STOPS, 0.5), [33, 144, 140]); // exactly stop 16
  });

  it("maps t to an entry: round(t * 255), clamped, NaN to 0", () => {
    assert.equal(colorIndex(0), 0);
    assert.equal(colorIndex(0.5), 128); // 127.5
    assert.equal(colorIndex(1), 255);
    assert.equal(colorIndex(-0.2), 0);
    assert.equal(colorIndex(1.7), 255);
    assert.equal(colorIndex(Number.NaN), 0);
    // entry 128 is t = 128/255 = 0.50196: stop position 16.063 between [33,144,140] and [31,152,139]
    assert.deepEqual(colorAt(0.5), [33, 145, 140]);
    assert.equal(cssColorAt(0), "rgb(68 1 84)");
    assert.equal(cssColorAt(1, 0.5), "rgb(253 231 37 / 0.500)");
  });
});

describe("webview heatmap: colour scales", () => {
  it("linear is the weight itself, clamped to [0, 1]", () => {
    assert.equal(scaleWeight(0, "linear"), 0);
    assert.equal(scaleWeight(0.25, "linear"), 0.25);
    assert.equal(scaleWeight(1.0000001, "linear"), 1);
    assert.equal(scaleWeight(-1e-9, "linear"), 0);
  });

  it("sqrt puts 0.25 half-way and 0.01 at a tenth", () => {
    assert.equal(scaleWeight(0.25, "sqrt"), 0.5);
    assert.ok(Math.abs(scaleWeight(0.01, "sqrt") - 0.1) < 1e-12);
    assert.equal(scaleWeight(0, "sqrt"), 0);
    assert.equal(scaleWeight(1, "sqrt"), 1);
  });

  it("log spans four decades: 1e-4 -> 0, 1e-3 -> 0.25, 1e-2 -> 0.5, 1 -> 1; 0 and anything below the floor -> 0", () => {
    assert.equal(LOG_FLOOR, 1e-4);
    assert.equal(scaleWeight(1e-4, "log"), 0);
    assert.ok(Math.abs(scaleWeight(1e-3, "log") - 0.25) < 1e-12);
    assert.ok(Math.abs(scaleWeight(1e-2, "log") - 0.5) < 1e-12);
    assert.equal(scaleWeight(1, "log"), 1);
    assert.equal(scaleWeight(0, "log"), 0);
    assert.equal(scaleWeight(3e-7, "log"), 0);
  });

  it("NaN (a masked cell) stays NaN on every scale", () => {
    for (const scale of ["linear", "sqrt", "log"] as const) assert.ok(Number.isNaN(scaleWeight(NaN32, scale)));
  });

  it("weightAtPosition inverts scaleWeight", () => {
    assert.equal(weightAtPosition(0.5, "linear"), 0.5);
    assert.equal(weightAtPosition(0.5, "sqrt"), 0.25);
    assert.ok(Math.abs(weightAtPosition(0.5, "log") - 0.01) < 1e-15);
    assert.equal(weightAtPosition(0, "log"), LOG_FLOOR);
    for (const scale of ["linear", "sqrt", "log"] as const) {
      for (const t of [0.1, 0.37, 0.8]) assert.ok(Math.abs(scaleWeight(weightAtPosition(t, scale), scale) - t) < 1e-12);
    }
  });

  it("legend ticks sit at round weights", () => {
    assert.deepEqual(
      legendTicks("linear").map((tick) => [tick.label, tick.position]),
      [["0", 0], ["0.25", 0.25], ["0.5", 0.5], ["0.75", 0.75], ["1", 1]],
    );
    assert.deepEqual(legendTicks("sqrt").map((tick) => tick.label), ["0", "0.05", "0.25", "0.5", "1"]);
    const log = legendTicks("log");
    assert.deepEqual(log.map((tick) => tick.label), ["1e-4", "0.001", "0.01", "0.1", "1"]);
    log.forEach((tick, index) => assert.ok(Math.abs(tick.position - index / 4) < 1e-12));
  });

  it("formats weights for labels and for the read-out", () => {
    assert.equal(formatWeight(0), "0");
    assert.equal(formatWeight(0.5), "0.5");
    assert.equal(formatWeight(0.0012), "0.0012");
    assert.equal(formatWeight(0.00005), "5e-5");
    assert.equal(formatWeightPrecisely(0.23456), "0.2346");
    assert.equal(formatWeightPrecisely(0), "0.0000");
    assert.equal(formatWeightPrecisely(0.00005), "5.0e-5");
    assert.equal(formatWeightPrecisely(NaN32), "masked");
  });
});

describe("webview heatmap: renderHeatmapIntoImageData", () => {
  it("writes one RGBA pixel per cell, row-major; NaN is transparent", () => {
    // 2 x 3 map: row 0 = [1, NaN, 0], row 1 = [0.25, 0.75, 0.5]
    const weights = Float32Array.from([1, NaN32, 0, 0.25, 0.75, 0.5]);
    const image = new Uint8ClampedArray(2 * 3 * 4);
    renderHeatmapIntoImageData(weights, 2, 3, "linear", image);
    assert.deepEqual(pixel(image, 0), [253, 231, 37, 255]); // 1 -> yellow
    assert.deepEqual(pixel(image, 1), [0, 0, 0, 0]); // masked
    assert.deepEqual(pixel(image, 2), [68, 1, 84, 255]); // 0 -> dark purple
    assert.deepEqual(pixel(image, 5), [33, 145, 140, 255]); // 0.5 -> entry 128
  });

  it("applies the scale: sqrt(0.25) = 0.5 lands on entry 128, log(1e-2) = 0.5 too", () => {
    const image = new Uint8ClampedArray(4);
    renderHeatmapIntoImageData([0.25], 1, 1, "sqrt", image);
    assert.deepEqual(pixel(image, 0), [33, 145, 140, 255]);
    renderHeatmapIntoImageData([0.01], 1, 1, "log", image);
    assert.deepEqual(pixel(image, 0), [33, 145, 140, 255]);
    renderHeatmapIntoImageData([0], 1, 1, "log", image);
    assert.deepEqual(pixel(image, 0), [68, 1, 84, 255]); // 0 on the log scale: the bottom colour, not masked
  });

  it("refuses sizes that do not match", () => {
    assert.throws(() => renderHeatmapIntoImageData([1, 2, 3], 2, 2, "linear", new Uint8ClampedArray(16)), /3 weights for a 2 x 2 map/);
    assert.throws(() => renderHeatmapIntoImageData([1, 2, 3, 4], 2, 2, "linear", new Uint8ClampedArray(12)), /holds 12 bytes.*needs 16/);
    assert.throws(() => renderHeatmapIntoImageData([], 1.5, 0, "linear", new Uint8ClampedArray(0)), /must be integers/);
  });
});

describe("webview heatmap: maskFutureKeys", () => {
  it("with a sliding window, keys `window` or more slots back are masked too (the band of Mistral)", () => {
    const masked = maskFutureKeys(new Float32Array(16).fill(0.25), 4, 4, 2);
    const visible = [...masked].map((value) => (Number.isNaN(value) ? 0 : 1));
    assert.deepEqual(visible, [1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1]);
    assert.equal(keyIsVisible(3, 2, 2), true);
    assert.equal(keyIsVisible(3, 1, 2), false);
    assert.equal(keyIsVisible(3, 0, null), true);
    assert.equal(keyIsVisible(1, 2, null), false);
  });

  it("a prefill (rows = cols): NaN in the strict upper triangle, the rest copied", () => {
    const masked = maskFutureKeys(Float32Array.from([1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5]), 3, 3);
    const isMasked = Array.from(masked, Number.isNaN);
    assert.deepEqual(isMasked, [false, true, true, false, false, true, false, false, false]);
    assert.deepEqual([masked[0], masked[3], masked[4], masked[8]], [1, 0.5, 0.5, 0.5]);
  });

  it("after a cache (cols = past + rows): query i sees keys 0 .. past + i", () => {
    // 2 new queries over 3 keys (1 cached): row 0 sees keys 0..1, row 1 sees all three
    const masked = maskFutureKeys(new Float32Array(6), 2, 3);
    assert.deepEqual(Array.from(masked, Number.isNaN), [false, false, true, false, false, false]);
  });
});

describe("webview heatmap: max-pool downsampling", () => {
  it("picks the block size that fits maxCells per side", () => {
    assert.equal(blockSizeFor(256, 256, 256), 1);
    assert.equal(blockSizeFor(257, 10, 256), 2);
    assert.equal(blockSizeFor(512, 512, 256), 2);
    assert.equal(blockSizeFor(512, 512, 40), 13); // ceil(12.8)
    assert.throws(() => blockSizeFor(4, 4, 0), /maxCells must be >= 1/);
  });

  it("keeps the largest weight of each block, so a thin diagonal survives", () => {
    // 4 x 4 identity, blocks of 2: the two diagonal blocks hold a 1, the others only 0
    const identity = Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const pooled = maxPoolDownsample(identity, 4, 4, 2);
    assert.deepEqual([pooled.rows, pooled.cols, pooled.block], [2, 2, 2]);
    assert.deepEqual(Array.from(pooled.data), [1, 0, 0, 1]);
  });

  it("ignores masked cells; a block of masked cells stays masked; the last block may be smaller", () => {
    // 3 x 3 causal map (. = masked), blocks of 2 -> 2 x 2, the last row and column blocks 1 wide:
    //   [0.9  .    . ]     block (0,0) = max(0.9, 0.4, 0.6) = 0.9    block (0,1) = keys 2 of rows 0-1: all masked
    //   [0.4  0.6  . ]     block (1,0) = max(0.2, 0.3) = 0.3         block (1,1) = 0.5
    //   [0.2  0.3  0.5]
    const map = maskFutureKeys(Float32Array.from([0.9, 0, 0, 0.4, 0.6, 0, 0.2, 0.3, 0.5]), 3, 3);
    const pooled = maxPoolDownsample(map, 3, 3, 2);
    assert.deepEqual([pooled.rows, pooled.cols], [2, 2]);
    assert.ok(Math.abs(pooled.data[0] - 0.9) < 1e-7);
    assert.ok(Number.isNaN(pooled.data[1]));
    assert.ok(Math.abs(pooled.data[2] - 0.3) < 1e-7);
    assert.ok(Math.abs(pooled.data[3] - 0.5) < 1e-7);

    // A block that mixes masked and visible cells takes the largest visible one, even a 0.
    const mixed = maxPoolDownsample(Float32Array.from([0, NaN32, 0, 0]), 2, 2, 1);
    assert.deepEqual(Array.from(mixed.data), [0]);
  });

  it("returns a copy unchanged when the map already fits", () => {
    const map = Float32Array.from([0.1, 0.2, 0.3, 0.4]);
    const pooled = maxPoolDownsample(map, 2, 2);
    assert.deepEqual([pooled.rows, pooled.cols, pooled.block], [2, 2, 1]);
    assert.deepEqual(pooled.data, map);
    assert.notEqual(pooled.data, map);
  });

  it("a 512-token map becomes 256 x 256 by default", () => {
    const pooled = maxPoolDownsample(new Float32Array(512 * 512), 512, 512);
    assert.deepEqual([pooled.rows, pooled.cols, pooled.block], [256, 256, 2]);
  });
});

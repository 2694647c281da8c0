/**
 * The page of the lines-view benchmark (bench/lines-view-bench.ts): builds one layer of attention
 * maps like a trained model's (sharp and diffuse heads, a previous-token head, causal rows), then
 * times, on a real canvas: planning the lines (webview/attention/attention-lines.ts), drawing them
 * as the view does (one path per head and opacity level) and drawing them one stroke per line, the
 * straightforward way, for the ratio.
 */

import { drawLines, headColor, planLines, type LinesPlan } from "../../webview/attention/attention-lines";

export interface LinesBenchResult {
  tokens: number;
  heads: number;
  threshold: number;
  lines: number;
  paths: number;
  planMilliseconds: number;
  bucketedMilliseconds: number;
  perLineMilliseconds: number;
  /** By path as the view does, with 1.5 px lines instead of 1 px. */
  wideMilliseconds: number;
}

declare global {
  interface Window {
    linesBench?: (tokens: number, heads: number, threshold: number, repetitions: number) => LinesBenchResult;
  }
}

/** A seeded generator of numbers in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** (heads, T, T): head 0 looks at the previous token, the others are softmaxes of random scores, sharper for lower heads. */
function syntheticLayer(tokens: number, heads: number): Float32Array {
  const random = seeded(7);
  const layer = new Float32Array(heads * tokens * tokens);
  for (let head = 0; head < heads; head++) {
    const sharpness = 0.5 + (6 * (heads - head)) / heads;
    for (let query = 0; query < tokens; query++) {
      const row = layer.subarray((head * tokens + query) * tokens, (head * tokens + query + 1) * tokens);
      let sum = 0;
      for (let key = 0; key <= query; key++) {
        const score = head === 0 ? (key === query - 1 ? 8 : 0) : sharpness * (random() * 2 - 1) + (key === 0 ? 2 : 0);
        row[key] = Math.exp(score);
        sum += row[key];
      }
      for (let key = 0; key <= query; key++) row[key] /= sum;
    }
  }
  return layer;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** One stroke per line, each with its own opacity: what the view avoids. */
function drawPerLine(context: CanvasRenderingContext2D, plan: LinesPlan, left: number, right: number, rowY: (row: number) => number): void {
  for (const bucket of plan.buckets) {
    for (let index = 0; index < bucket.from.length; index++) {
      context.strokeStyle = headColor(bucket.head);
      context.globalAlpha = bucket.opacity;
      context.beginPath();
      context.moveTo(left, rowY(bucket.from[index]));
      context.lineTo(right, rowY(bucket.to[index]));
      context.stroke();
    }
  }
  context.globalAlpha = 1;
}

window.linesBench = (tokens, heads, threshold, repetitions) => {
  const layer = syntheticLayer(tokens, heads);
  const shown = Array.from({ length: heads }, (_, head) => head);
  const rowHeight = tokens <= 160 ? 16 : Math.max(5, 2560 / tokens);
  const width = 600;
  const height = Math.ceil(tokens * rowHeight) + 4;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  document.body.append(canvas);
  const context = canvas.getContext("2d")!;
  const left = 126;
  const right = width - 126;
  const rowY = (row: number) => row * rowHeight + rowHeight / 2 + 2;
  const lineWidth = 1; // as the view draws them

  const plans: number[] = [];
  let plan = planLines({ layer, heads, tokens, shown, threshold, focus: null });
  for (let run = 0; run < repetitions; run++) {
    const started = performance.now();
    plan = planLines({ layer, heads, tokens, shown, threshold, focus: null });
    plans.push(performance.now() - started);
  }
  /** Times `draw`, reading a pixel back so the canvas has really drawn. */
  const time = (draw: () => void) => {
    const times: number[] = [];
    for (let run = 0; run < repetitions; run++) {
      context.clearRect(0, 0, width, height);
      const started = performance.now();
      draw();
      context.getImageData(width / 2, height / 2, 1, 1);
      times.push(performance.now() - started);
    }
    return median(times);
  };
  const bucketed = time(() => drawLines(context, plan, { left, right, rowY, lineWidth }));
  const perLine = time(() => {
    context.lineWidth = lineWidth;
    drawPerLine(context, plan, left, right, rowY);
  });
  const wide = time(() => drawLines(context, plan, { left, right, rowY, lineWidth: 1.5 }));
  canvas.remove();
  return {
    tokens,
    heads,
    threshold,
    lines: plan.count,
    paths: plan.buckets.length,
    planMilliseconds: median(plans),
    bucketedMilliseconds: bucketed,
    perLineMilliseconds: perLine,
    wideMilliseconds: wide,
  };
};

/**
 * The lines view's geometry (BertViz's "head view"): the tokens in two columns, queries on the
 * left and keys on the right, and a line from query i to key j for each head, as opaque as the
 * weight A[h, i, j]. What to draw is decided here, without a canvas, so it is tested in Node.
 *
 *   T        tokens
 *   heads    the heads drawn, each in its own colour
 *   A        (nh, T, T) one layer's maps: row i holds query i's weights over keys 0..i
 *
 * Three things keep it readable and fast at 512 tokens, where one layer of 8 heads has about a
 * million (query, key) pairs:
 *
 *   threshold   lines with a weight below it are not drawn (each row sums to 1, so at most
 *               1 / threshold lines leave one query per head);
 *   focus       with a token focused (hovered or locked), only its lines: the query's row when it
 *               is on the left, the key's column when it is on the right;
 *   buckets     lines are grouped by head and by opacity, rounded to one of `OPACITY_STEPS`
 *               levels, so the canvas strokes one path per (head, level), not one per line.
 */

/** Opacity levels the lines are grouped into: one path per head and level. */
export const OPACITY_STEPS = 16;

/** Which side a focused token is on: its own attention (a query) or the attention it receives (a key). */
export type LinesFocus = { side: "query" | "key"; token: number } | null;

export interface LinesRequest {
  /** (nh, T, T) weights of one layer, row-major: A[h][i][j] at (h * T + i) * T + j. */
  layer: Float32Array;
  heads: number;
  tokens: number;
  /** The heads to draw (indices into the layer's heads). */
  shown: readonly number[];
  /** Lines below this weight are left out. */
  threshold: number;
  focus: LinesFocus;
}

/** Lines of one head at one opacity level: `from[n]` (a query row) to `to[n]` (a key row). */
export interface LineBucket {
  head: number;
  /** The opacity every line of the bucket is drawn with, in (0, 1]. */
  opacity: number;
  from: Uint16Array;
  to: Uint16Array;
}

export interface LinesPlan {
  buckets: LineBucket[];
  /** Lines drawn in all. */
  count: number;
  /** The largest weight of a drawn line (what opacity 1 stands for): 1, or less when no line reaches it. */
  strongest: number;
}

/**
 * The lines to draw, grouped by head and opacity. A line's opacity is its weight over the
 * strongest weight drawn (so a focused key's faint column still shows), rounded up to the next
 * of `OPACITY_STEPS` levels: never invisible, never brighter than one step above its weight.
 */
export function planLines(request: LinesRequest): LinesPlan {
  const { layer, heads, tokens: T, shown, threshold, focus } = request;
  if (layer.length !== heads * T * T) throw new RangeError(`a layer of ${heads} heads over ${T} tokens has ${heads * T * T} weights, not ${layer.length}`);
  if (focus && !(focus.token >= 0 && focus.token < T)) throw new RangeError(`token ${focus.token} is not one of the ${T} tokens`);
  const queries = focus?.side === "query" ? [focus.token] : range(focus?.side === "key" ? focus.token : 0, T);

  // First pass: the strongest weight that will be drawn, and how many lines each bucket gets.
  let strongest = 0;
  const visit = (each: (head: number, query: number, key: number, weight: number) => void) => {
    for (const head of shown) {
      const base = head * T * T;
      for (const query of queries) {
        const keyFrom = focus?.side === "key" ? focus.token : 0;
        const keyTo = focus?.side === "key" ? focus.token : query;
        for (let key = keyFrom; key <= keyTo; key++) {
          const weight = layer[base + query * T + key];
          if (weight >= threshold && weight > 0) each(head, query, key, weight);
        }
      }
    }
  };
  visit((_head, _query, _key, weight) => (strongest = Math.max(strongest, weight)));
  if (strongest === 0) return { buckets: [], count: 0, strongest: 0 };

  const levelOf = (weight: number) => Math.max(1, Math.ceil((weight / strongest) * OPACITY_STEPS));
  const counts = new Map<number, number>();
  const key = (head: number, level: number) => head * (OPACITY_STEPS + 1) + level;
  visit((head, _query, _key, weight) => {
    const bucket = key(head, levelOf(weight));
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  });
  const buckets = new Map<number, LineBucket & { filled: number }>();
  for (const [bucket, count] of counts) {
    const head = Math.floor(bucket / (OPACITY_STEPS + 1));
    const level = bucket % (OPACITY_STEPS + 1);
    buckets.set(bucket, { head, opacity: level / OPACITY_STEPS, from: new Uint16Array(count), to: new Uint16Array(count), filled: 0 });
  }
  let total = 0;
  visit((head, query, keyIndex, weight) => {
    const bucket = buckets.get(key(head, levelOf(weight)))!;
    bucket.from[bucket.filled] = query;
    bucket.to[bucket.filled] = keyIndex;
    bucket.filled++;
    total++;
  });
  const ordered = [...buckets.values()]
    .sort((a, b) => a.opacity - b.opacity || a.head - b.head) // faint first, so strong lines end on top
    .map(({ head, opacity, from, to }) => ({ head, opacity, from, to }));
  return { buckets: ordered, count: total, strongest };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, index) => from + index);
}

/**
 * A colour per head, told apart by people with the common colour-vision deficiencies: Okabe and
 * Ito's eight (2008), black replaced by a grey that shows on dark themes. Heads past eight reuse
 * them in order, which the legend shows.
 */
export const HEAD_COLORS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"] as const;

export function headColor(head: number): string {
  return HEAD_COLORS[head % HEAD_COLORS.length];
}

/** Where the lines run on the canvas, in CSS px: from x = `left` to x = `right`, row r at `rowY(r)`. */
export interface LinesGeometry {
  left: number;
  right: number;
  rowY: (row: number) => number;
  lineWidth: number;
}

/** The part of a canvas 2D context the lines are drawn with (a real one, or a recording one in tests). */
export type LinesCanvas = Pick<CanvasRenderingContext2D, "strokeStyle" | "globalAlpha" | "lineWidth" | "beginPath" | "moveTo" | "lineTo" | "stroke">;

/** Strokes the plan's lines: one path per (head, opacity) bucket, faint buckets first. */
export function drawLines(context: LinesCanvas, plan: LinesPlan, geometry: LinesGeometry): void {
  const { left, right, rowY } = geometry;
  context.lineWidth = geometry.lineWidth;
  for (const bucket of plan.buckets) {
    context.strokeStyle = headColor(bucket.head);
    context.globalAlpha = bucket.opacity;
    context.beginPath();
    for (let index = 0; index < bucket.from.length; index++) {
      context.moveTo(left, rowY(bucket.from[index]));
      context.lineTo(right, rowY(bucket.to[index]));
    }
    context.stroke();
  }
  context.globalAlpha = 1;
}

/** The token row under a y coordinate (CSS px from the top of the rows), or null outside them. */
export function rowAt(y: number, rowHeight: number, tokens: number): number | null {
  const row = Math.floor(y / rowHeight);
  return row >= 0 && row < tokens ? row : null;
}

/**
 * The page of test/unit/webview-export-png.test.ts: the panel's exporter (webview/export/) in a
 * real Chromium page with the webview's Content-Security-Policy, over a small attention run of its
 * own (no model: the maps are made up), as the views' export buttons drive it.
 *
 * `window.exportHarness.save(view, format)` returns what the exporter posts to the host (the PNG or
 * SVG bytes as numbers); `copy(view)` what the button shows after "Copy as image", and
 * `clipboardPng()` the image then on the clipboard.
 */

import { headMap, meanOfHeads, storeLayer, type AttentionMaps } from "../../../webview/attention/attention-maps";
import type { RunResult } from "../../../webview/attention/attention-state.svelte";
import { ViewExporter, type ExportSources } from "../../../webview/export/view-exporter";
import type { ExportView, HeadSelection, PanelExport, TokenInfo, WebviewToHostMessage } from "../../../src/protocol";

/** The run the page exports: 5 tokens, 2 layers of 4 heads sharing 2 K/V heads. */
export const TOKENS: TokenInfo[] = ["<|bos|>", "def", " add", "(", "a"].map((text, index) => ({ id: index, text, start: 0, end: 0 }));
export const SELECTION: HeadSelection = { layer: 1, head: 2 };

/** Row q spreads over keys 0..q (a causal softmax's shape). */
export function causalMap(tokens: number, seed: number): Float32Array {
  const map = new Float32Array(tokens * tokens);
  for (let query = 0; query < tokens; query++) {
    let total = 0;
    for (let key = 0; key <= query; key++) total += (map[query * tokens + key] = 1 + ((query * 7 + key * 3 + seed) % 5));
    for (let key = 0; key <= query; key++) map[query * tokens + key] /= total;
  }
  return map;
}

function mapsOf(layers: number, heads: number, keyValueHeads: number, tokens: number): AttentionMaps {
  const stored = Array.from({ length: layers }, (_, layer) => {
    const data = new Float32Array(heads * tokens * tokens);
    for (let head = 0; head < heads; head++) data.set(causalMap(tokens, layer * heads + head), head * tokens * tokens);
    return storeLayer(data, tokens, "float32");
  });
  return { layers, heads, keyValueHeads, tokens, precision: "float32", stored };
}

const maps = mapsOf(2, 4, 2, TOKENS.length);
const result = {
  requestId: 1,
  model: { id: "attention-lens-gqa", source: "bundled", label: "GQA", numLayers: 2, numHeads: 4, numKeyValueHeads: 2, maxTokens: 512 },
  backend: "wasm",
  text: "def add(a",
  source: "sample.py:1",
  tokens: TOKENS,
  maps,
} as unknown as RunResult;

const posted: WebviewToHostMessage[] = [];
const sources: ExportSources = {
  mode: () => "attention",
  scale: () => "sqrt",
  attention: () => {
    const mapOf = (of: typeof maps, selection: typeof SELECTION) => (selection.head === "mean" ? meanOfHeads(of, selection.layer) : headMap(of, selection.layer, selection.head));
    return {
      result,
      selection: SELECTION,
      weighting: "attention",
      lines: { threshold: 0.05, shownHeads: () => [0, 1] },
      lockedToken: null,
      mapOf,
      shownMapOf: (run: RunResult, selection: typeof SELECTION) => mapOf(run.maps, selection),
    };
  },
  compare: () => ({ result: null, selection: SELECTION }),
  decode: () => ({ snapshot: null, layer: 0 }),
  post: (message) => posted.push(message),
};
const exporter = new ViewExporter(sources);

/** A posted export with its bytes as plain numbers (what page.evaluate can hand back). */
export type PostedExport = Exclude<PanelExport, { kind: "image" }> | (Omit<Extract<PanelExport, { kind: "image" }>, "bytes"> & { bytes: number[] });

export interface ExportHarness {
  save(view: ExportView, format: "png" | "svg"): Promise<PostedExport>;
  copy(view: ExportView): Promise<string>;
  clipboardPng(): Promise<number[] | string>;
  /** The log lines the exporter posted. */
  logs(): string[];
}

declare global {
  interface Window {
    exportHarness: ExportHarness;
  }
}

window.exportHarness = {
  async save(view, format) {
    const before = posted.length;
    await exporter.save(view, format);
    const message = posted.slice(before).find((entry) => entry.type === "export");
    if (!message || message.type !== "export") throw new Error("the exporter posted no export");
    const exported = message.export;
    return exported.kind === "image" ? { ...exported, bytes: Array.from(exported.bytes) } : exported;
  },
  copy: (view) => exporter.copy(view),
  async clipboardPng() {
    try {
      const [item] = await navigator.clipboard.read();
      if (!item?.types.includes("image/png")) return `the clipboard holds ${item?.types.join(", ") ?? "nothing"}`;
      return Array.from(new Uint8Array(await (await item.getType("image/png")).arrayBuffer()));
    } catch (error) {
      return `cannot read the clipboard: ${error instanceof Error ? error.message : String(error)}`;
    }
  },
  logs: () => posted.flatMap((message) => (message.type === "log" ? [message.message] : [])),
};

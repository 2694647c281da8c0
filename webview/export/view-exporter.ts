/**
 * The panel's exports: what each exportable view looks like as a figure, and what happens to it.
 *
 *   view                  figure                                      from
 *   head                  heatmap-figure.ts, the weights' colours     attention mode: the selected head (or mean)
 *   overview              overview-figure.ts, the weights' colours    attention mode: every layer and head
 *   difference            heatmap-figure.ts, |A − B| colours          compare mode: the selected pair
 *   difference-overview   overview-figure.ts, |A − B| colours         compare mode: every pair
 *   cache                 cache-figure.ts                             decode mode: the KV cache of the layer shown
 *
 * A view's export button (components/ExportButton.svelte) and the host's `requestExport` (the
 * `attentionLens.export...` commands) both end here: `save` writes the figure as SVG (svg-writer.ts)
 * or PNG at 2x (png-painter.ts) and posts it to the host in an `export` message, which shows the
 * save dialog and writes the file; `copy` puts the PNG on the clipboard where the webview allows it;
 * `saveMaps` posts the run's maps for the JSON export (the host writes docs/maps-schema.md's file).
 *
 * A new view (the lines view, say) adds its id to `ExportView` (src/protocol.ts), its entry in
 * `FIGURES` below (a figure builder of its own in this folder) and an <ExportButton view="..."> in
 * its component; `DEFAULT_VIEWS` names it if it is its mode's main view.
 */

import { getContext, setContext } from "svelte";
import type { AttentionWeighting, ColorScale, ExportFormat, ExportView, HeadSelection, HostToWebviewMessage, LensMode, PanelExport, WebviewToHostMessage } from "../../src/protocol";
import { attentionKindOf, keyValueHeadOf, layerMaps, mapLayers, selectedMap, selectionName, type AttentionMaps } from "../attention/attention-maps";
import { planLines } from "../attention/attention-lines";
import type { LinesState } from "../attention/lines-state.svelte";
import { linesFigure } from "./lines-figure";
import type { RunResult } from "../attention/attention-state.svelte";
import type { ComparisonResult } from "../compare/compare-session.svelte";
import type { DecodeSnapshot } from "../decode/decode-state.svelte";
import { formatKibibytes } from "../decode/cache-maps";
import { cacheFigure } from "./cache-figure";
import type { Figure } from "./figure";
import { exportFileName, modelFileName, selectionFileName } from "./file-names";
import { heatmapFigure } from "./heatmap-figure";
import { overviewCellsPerSide, overviewFigure } from "./overview-figure";
import { figureToPng, figureToPngBlob } from "./png-painter";
import { figureToSvg } from "./svg-writer";

/** What the exporter reads off the panel's session (lens-session.svelte.ts), when it exports. */
export interface ExportSources {
  mode(): LensMode;
  scale(): ColorScale;
  attention(): {
    result: RunResult | null;
    selection: HeadSelection;
    /** The lines view's heads and threshold. */
    lines: Pick<LinesState, "shownHeads" | "threshold">;
    lockedToken: number | null;
    /** What the panel draws: the attention weights, value-weighted shares or the rollout. */
    weighting: AttentionWeighting;
    /** The map of `selection` in `weighting` (the attention weights for "attention"). */
    shownMapOf(result: RunResult, selection: HeadSelection, weighting: AttentionWeighting): Float32Array;
    mapOf(maps: AttentionMaps, selection: HeadSelection): Float32Array;
  };
  compare(): { result: ComparisonResult | null; selection: HeadSelection };
  decode(): { snapshot: DecodeSnapshot | null; layer: number };
  post(message: WebviewToHostMessage): void;
}

/** A view with nothing to export: the message says what to do. */
class NothingToExport extends Error {}

/** A view's picture and the name its file should get (without the extension). */
interface ViewFigure {
  figure: Figure;
  name: string[];
}

const RUN_FIRST = "Select some text in an editor and run \"Attention Lens: Show Attention\" first.";

function attentionRun(sources: ExportSources): RunResult {
  const { result } = sources.attention();
  if (!result) throw new NothingToExport(`No attention maps are on screen. ${RUN_FIRST}`);
  return result;
}

function comparison(sources: ExportSources): ComparisonResult {
  const { result } = sources.compare();
  if (!result) throw new NothingToExport('No comparison is on screen. Run "Attention Lens: Compare Models" (or open the Compare tab) first.');
  return result;
}

/** "24 tokens from attention.ts:4-9". */
function tokensFrom(count: number, source: string): string {
  return `${count} token${count === 1 ? "" : "s"}${source ? ` from ${source}` : ""}`;
}

/** Each view's picture, from what the panel shows now. */
const FIGURES: Record<ExportView, (sources: ExportSources) => ViewFigure> = {
  head(sources) {
    const result = attentionRun(sources);
    const attention = sources.attention();
    const { selection, weighting } = attention;
    const { maps, model } = result;
    const scale = sources.scale();
    const window = model.slidingWindows?.[selection.layer] ?? null;
    const head = selection.head === "mean" ? `mean of ${maps.heads} heads` : `head ${selection.head}`;
    const what =
      weighting === "rollout"
        ? `rollout through layers 0..${selection.layer} (all heads averaged)`
        : weighting === "value-weighted"
          ? `${head} · value-weighted ‖a·vW_O‖ (row shares)`
          : head;
    const sharing =
      selection.head === "mean" || maps.keyValueHeads === maps.heads ? attentionKindOf(maps) : `${attentionKindOf(maps)}, K/V head ${keyValueHeadOf(selection.head, maps.heads, maps.keyValueHeads)} of ${maps.keyValueHeads}`;
    const facts = [sharing, tokensFrom(maps.tokens, result.source), `${scale} colour scale`, ...(window ? [`sliding window ${window} (hatched outside)`] : [])];
    return {
      figure: heatmapFigure({
        title: `${modelFileName(model)} · layer ${selection.layer} · ${what}`,
        facts: facts.join(" · "),
        values: attention.shownMapOf(result, selection, weighting),
        tokens: result.tokens,
        paint: { kind: "weights", scale },
        mask: { future: true, window },
      }),
      name: [modelFileName(model), selectionFileName(selection)],
    };
  },

  overview(sources) {
    const result = attentionRun(sources);
    const attention = sources.attention();
    const { weighting } = attention;
    // Rollout has one map per layer, not per head: its overview exports the rollout of each layer in every column.
    const shown = weighting === "rollout" ? "rollout, per layer" : weighting === "value-weighted" ? "value-weighted ‖a·vW_O‖ (row shares)" : "";
    const { maps, model } = result;
    const scale = sources.scale();
    const perSide = overviewCellsPerSide(maps.tokens, 48, maps.layers * (maps.heads + 1));
    const pooled = perSide < maps.tokens ? ` · each map max-pooled to ${perSide} × ${perSide} cells` : "";
    return {
      figure: overviewFigure({
        title: `${modelFileName(model)} · layers × heads${shown ? ` · ${shown}` : ""}`,
        facts: `${attentionKindOf(maps)}: ${maps.layers} layers × ${maps.heads} query heads, ${maps.keyValueHeads} K/V head${maps.keyValueHeads === 1 ? "" : "s"} · ${tokensFrom(maps.tokens, result.source)} · ${scale} colour scale${pooled}`,
        layers: maps.layers,
        heads: maps.heads,
        keyValueHeads: maps.keyValueHeads,
        tokens: maps.tokens,
        mapOf: (layer, head) => attention.shownMapOf(result, { layer, head }, weighting),
        paint: { kind: "weights", scale },
        windowOf: (layer) => model.slidingWindows?.[layer] ?? null,
      }),
      name: [modelFileName(model), "layers x heads"],
    };
  },

  lines(sources) {
    const result = attentionRun(sources);
    const attention = sources.attention();
    const { selection, lockedToken } = attention;
    const { maps, model } = result;
    const heads = attention.lines.shownHeads(selection, maps.heads);
    const threshold = attention.lines.threshold;
    const focus = lockedToken !== null ? ({ side: "query", token: lockedToken } as const) : null;
    const plan = planLines({ layer: layerMaps(maps, selection.layer), heads: maps.heads, tokens: maps.tokens, shown: heads, threshold, focus });
    const locked = lockedToken !== null ? ` · only the lines of query ${lockedToken} (locked)` : "";
    return {
      figure: linesFigure({
        title: `${modelFileName(model)} · layer ${selection.layer} · lines of head${heads.length === 1 ? "" : "s"} ${heads.join(", ") || "none"}`,
        facts: `${attentionKindOf(maps)} · ${tokensFrom(maps.tokens, result.source)} · ${plan.count} lines of weight ≥ ${threshold.toFixed(2)}, opacity = weight / ${plan.strongest.toFixed(3)}${locked}`,
        tokens: result.tokens,
        heads,
        plan,
        focus: lockedToken,
      }),
      name: [modelFileName(model), `layer ${selection.layer} lines`],
    };
  },

  difference(sources) {
    const result = comparison(sources);
    const { selection } = sources.compare();
    const pair = `${modelFileName(result.a.model)} vs ${modelFileName(result.b.model)}`;
    // B's head beside A's: the same index, or A's best match in B (compare/head-alignment.ts).
    const partner = selection.head === "mean" ? selection.head : result.headOfB[selection.layer][selection.head];
    const heads = partner === selection.head ? selectionName(selection) : `L${selection.layer} A head ${selection.head} ↔ B head ${partner}`;
    const mean = selection.head === "mean" ? "" : ` · mean |A − B| ${result.headDifferences[selection.layer][selection.head].toFixed(4)}`;
    return {
      figure: heatmapFigure({
        title: `|A − B| · ${pair} · ${heads}`,
        facts: `A ${result.a.model.id}, B ${result.b.model.id} · ${result.tokens.length} tokens, the same ids in both${mean} · scale 0 to the largest difference, ${result.maxDifference.toFixed(3)}`,
        values: selectedMap(result.difference, selection),
        tokens: result.tokens,
        paint: { kind: "difference", max: result.maxDifference },
        mask: { future: true },
      }),
      name: [pair, selectionFileName(selection), "difference"],
    };
  },

  "difference-overview"(sources) {
    const result = comparison(sources);
    const { difference } = result;
    const pair = `${modelFileName(result.a.model)} vs ${modelFileName(result.b.model)}`;
    return {
      figure: overviewFigure({
        title: `|A − B| per head · ${pair}`,
        facts: `heads paired ${result.alignment === "index" ? "by index" : "by best match (A's head order)"} · ${result.tokens.length} tokens, the same ids in both · scale 0 to the largest difference, ${result.maxDifference.toFixed(3)}`,
        layers: difference.layers,
        heads: difference.heads,
        keyValueHeads: difference.heads, // the difference has no K/V heads of its own: no groups
        tokens: difference.tokens,
        mapOf: (layer, head) => selectedMap(difference, { layer, head }),
        paint: { kind: "difference", max: result.maxDifference },
      }),
      name: [pair, "difference per head"],
    };
  },

  cache(sources) {
    const { snapshot, layer: chosen } = sources.decode();
    if (!snapshot) throw new NothingToExport('No decoding is on screen. Select a prompt and run "Attention Lens: Step Through Decoding" first.');
    const layer = Math.min(chosen, snapshot.layers - 1);
    const { cache } = snapshot;
    const { key, value } = cache.layers[layer];
    const headSize = key.shape[2];
    return {
      figure: cacheFigure({
        title: `${modelFileName(snapshot.model)} · KV cache · layer ${layer}`,
        facts:
          `step ${snapshot.step.index} · ${cache.length} of ${snapshot.contextLength} slots · ${cache.bytes} bytes (${formatKibibytes(cache.bytes)}) = ` +
          `2 × ${snapshot.layers} layers × ${snapshot.keyValueHeads} K/V heads × ${cache.length} × ${headSize} × ${cache.bytesPerElement} B`,
        keys: key,
        values: value,
        heads: snapshot.heads,
        appended: cache.appended,
      }),
      name: [modelFileName(snapshot.model), "KV cache", `layer ${layer}`, `step ${snapshot.step.index}`],
    };
  },
};

/** The view a mode's export command exports, when it names none. */
const DEFAULT_VIEWS: Partial<Record<LensMode, ExportView>> = { attention: "head", compare: "difference", decode: "cache" };

export function isExportView(value: unknown): value is ExportView {
  return typeof value === "string" && Object.hasOwn(FIGURES, value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class ViewExporter {
  constructor(private readonly sources: ExportSources) {}

  /** The picture of `view` as the panel shows it now; throws with what to do when there is none. */
  figure(view: ExportView): ViewFigure {
    return FIGURES[view](this.sources);
  }

  /** Writes `view` as PNG or SVG and sends it to the host to save (`exportId`: the command that asked). */
  async save(view: ExportView, format: "png" | "svg", exportId?: number): Promise<void> {
    let exported: PanelExport;
    try {
      const { figure, name } = this.figure(view);
      const bytes = format === "svg" ? new TextEncoder().encode(figureToSvg(figure)) : await figureToPng(figure);
      exported = { kind: "image", format, view, fileName: exportFileName(name, format), bytes, width: figure.width, height: figure.height };
    } catch (error) {
      exported = { kind: "failed", message: error instanceof NothingToExport ? error.message : `Attention Lens could not draw the ${view} view as ${format.toUpperCase()}: ${messageOf(error)}` };
    }
    this.post(exported, exportId);
  }

  /** Sends the maps of the run on screen, for the JSON export. */
  saveMaps(exportId?: number): void {
    let exported: PanelExport;
    try {
      const result = attentionRun(this.sources);
      const { maps } = result;
      exported = {
        kind: "maps",
        fileName: exportFileName([modelFileName(result.model), "attention maps"], "json"),
        maps: {
          modelId: result.model.id,
          backend: result.backend,
          mapPrecision: maps.precision,
          text: result.text,
          source: result.source,
          ...(result.documentUri !== undefined ? { documentUri: result.documentUri } : {}),
          tokens: result.tokens,
          ...(result.truncation ? { truncation: result.truncation } : {}),
          heads: maps.heads,
          layers: mapLayers(maps, (layer) => layer),
        },
      };
    } catch (error) {
      exported = { kind: "failed", message: messageOf(error) };
    }
    this.post(exported, exportId);
  }

  /**
   * Copies `view` as a PNG image to the clipboard, where the webview allows it (Chromium's
   * ClipboardItem with image/png; VS Code's webviews may refuse). Returns what happened, for the
   * person; a refusal is logged too.
   */
  async copy(view: ExportView): Promise<string> {
    let figure: Figure;
    try {
      figure = this.figure(view).figure;
    } catch (error) {
      return messageOf(error);
    }
    if (typeof ClipboardItem === "undefined" || typeof navigator.clipboard?.write !== "function") {
      return this.refused("this webview offers no image clipboard (navigator.clipboard.write with ClipboardItem)");
    }
    try {
      // The blob as a promise: the click's permission to write to the clipboard lasts while it is drawn.
      await navigator.clipboard.write([new ClipboardItem({ "image/png": figureToPngBlob(figure) })]);
      return `Copied as a PNG image (${figure.width * 2} × ${figure.height * 2} pixels).`;
    } catch (error) {
      return this.refused(`the webview refused to write the image to the clipboard (${messageOf(error).replace(/\.$/, "")})`);
    }
  }

  /** The host's `requestExport` (an export command): the view it names, else the mode's main view. */
  async answer(request: Extract<HostToWebviewMessage, { type: "requestExport" }>): Promise<void> {
    if (request.format === "maps-json") {
      this.saveMaps(request.exportId);
      return;
    }
    const mode = this.sources.mode();
    const view = request.view ?? DEFAULT_VIEWS[mode];
    if (!view || !isExportView(view)) {
      this.post({ kind: "failed", message: `The ${mode} tab has no picture to export. Switch to the Attention, Compare or Decode tab first.` }, request.exportId);
      return;
    }
    await this.save(view, request.format, request.exportId);
  }

  private refused(reason: string): string {
    const message = `Could not copy the image: ${reason}. Use "Save as PNG…" instead.`;
    this.sources.post({ type: "log", level: "warn", message });
    return message;
  }

  private post(exported: PanelExport, exportId: number | undefined): void {
    this.sources.post({ type: "export", ...(exportId !== undefined ? { exportId } : {}), export: exported });
  }
}

/** The formats a view's export menu offers besides copying. */
export type SaveFormat = Extract<ExportFormat, "png" | "svg">;

const EXPORTER_CONTEXT = Symbol("attention-lens exporter");

/** Makes the exporter reachable from every view's export button (App.svelte calls it). */
export function provideExporter(exporter: ViewExporter): void {
  setContext(EXPORTER_CONTEXT, exporter);
}

/** The exporter App.svelte provided, or undefined outside the panel (a button then shows nothing). */
export function injectExporter(): ViewExporter | undefined {
  return getContext<ViewExporter | undefined>(EXPORTER_CONTEXT);
}

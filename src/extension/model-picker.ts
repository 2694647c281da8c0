/**
 * Where the person's models come from and how they pick one, on the VS Code side:
 *
 *   catalogSources       the places the catalog scans: the bundled models, attentionLens.modelFolders,
 *                        the folders opened with "Open Model Folder..." (kept in the global state),
 *                        and the Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)
 *   RememberedFolders    the folders "Open Model Folder..." remembered, across windows and restarts
 *   pickModel            Select Model's quick pick: every usable model with its facts, then the
 *                        folders that cannot be used, each with its reason
 *   chooseModelFolder    "Open Model Folder...": the folder picker
 *
 * The catalog itself (model-catalog.ts) has no `vscode` import; this file is the part that has.
 */

import { homedir } from "node:os";
import * as vscode from "vscode";

import { attentionKind } from "../model/config";
import { hubCacheFolder } from "../checkpoint/hub-cache";
import type { CatalogModel, ModelCatalog, ModelCatalogSources, ModelProblem } from "./model-catalog";
import { estimateRunMemory, formatGibibytes, LISTING_TOKENS, type RunMemoryEstimate } from "./model-memory";
import { SETTINGS_SECTION, type ExtensionSettings } from "./settings";

/** The global-state key of the folders opened with "Open Model Folder...". */
const REMEMBERED_FOLDERS_KEY = "attentionLens.openedModelFolders";
/** How many opened folders are remembered (the most recent first). */
const MAX_REMEMBERED_FOLDERS = 20;

/** The folders "Open Model Folder..." opened, most recent first. */
export class RememberedFolders {
  constructor(private readonly state: vscode.Memento) {}

  get folders(): string[] {
    const stored = this.state.get<unknown>(REMEMBERED_FOLDERS_KEY);
    return Array.isArray(stored) ? stored.filter((folder): folder is string => typeof folder === "string") : [];
  }

  async remember(folder: string): Promise<void> {
    const folders = [folder, ...this.folders.filter((known) => known !== folder)].slice(0, MAX_REMEMBERED_FOLDERS);
    await this.state.update(REMEMBERED_FOLDERS_KEY, folders);
  }
}

/** Every place the catalog scans, from the settings and the remembered folders. */
export function catalogSources(bundledModelsFolder: string, settings: ExtensionSettings, remembered: RememberedFolders): ModelCatalogSources {
  const home = homedir();
  return {
    bundledModelsFolder,
    modelFolders: settings.modelFolders,
    rememberedFolders: remembered.folders,
    hubCacheFolder: hubCacheFolder(process.env, home),
    homeFolder: home,
    modelFoldersSetting: `${SETTINGS_SECTION}.modelFolders`,
  };
}

/** "135M", "1.2B", "980K". */
export function formatParameterCount(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(count >= 1e10 ? 0 : 1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(count >= 1e8 ? 0 : 1)}M`;
  if (count >= 1e3) return `${Math.round(count / 1e3)}K`;
  return String(count);
}

/** "2.1 MB", "540 MB", "1.03 GB". */
export function formatFileBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

/**
 * One line of a model's facts, as Select Model shows it:
 * "llama · 135M parameters · BF16 · 30 layers × 9 query / 3 K/V heads (GQA) · context 8192 · 270 MB".
 */
export function describeModelFacts(model: CatalogModel): string {
  const { config } = model;
  const heads =
    config.numKeyValueHeads === config.numAttentionHeads
      ? `${config.numAttentionHeads} heads (MHA)`
      : `${config.numAttentionHeads} query / ${config.numKeyValueHeads} K/V heads (${attentionKind(config)})`;
  return [
    model.family,
    `${formatParameterCount(model.parameterCount)} parameters`,
    model.dtype,
    `${config.numHiddenLayers} layers × ${heads}`,
    `context ${config.maxPositionEmbeddings}`,
    formatFileBytes(model.fileBytes),
  ].join(" · ");
}

/** Whether the model fits the panel within the memory budget, in words (its plan for a short selection). */
export function describeMemoryFit(memory: RunMemoryEstimate): string {
  return memory.fits
    ? `fits the panel (about ${formatGibibytes(memory.estimatedBytes)} for ${LISTING_TOKENS} tokens)`
    : `$(warning) too large for the panel: ${memory.reason}`;
}

function sourceName(model: CatalogModel): string {
  switch (model.source) {
    case "bundled":
      return "bundled";
    case "hub-cache":
      return "Hugging Face cache";
    case "folder":
      return "your folder";
  }
}

type PickItem = vscode.QuickPickItem & { modelId?: string; problem?: ModelProblem; openFolder?: true };

/** What Select Model's picker chose. */
export type ModelPick = { kind: "model"; id: string } | { kind: "open-folder" } | { kind: "problem"; problem: ModelProblem };

/**
 * Select Model's quick pick: the usable models (current one marked), grouped by where they were
 * found, each with its facts and whether it fits; then "Open Model Folder..."; then every folder
 * that cannot be used, with its reason. Undefined when dismissed.
 */
export async function pickModel(catalog: ModelCatalog, currentId: string, budgetBytes: number): Promise<ModelPick | undefined> {
  const items: PickItem[] = [];
  let group: string | undefined;
  for (const model of catalog.models) {
    const name = sourceName(model);
    if (name !== group) {
      items.push({ label: name, kind: vscode.QuickPickItemKind.Separator });
      group = name;
    }
    const memory = estimateRunMemory(model, budgetBytes);
    items.push({
      label: `${memory.fits ? "" : "$(warning) "}${model.name}`,
      description: `${model.label}${model.id === currentId ? " · current" : ""}`,
      detail: `${describeModelFacts(model)} · ${describeMemoryFit(memory)}`,
      modelId: model.id,
    });
  }
  items.push({ label: "", kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: "$(folder-opened) Open Model Folder...", detail: "A Hugging Face model folder of your own: config.json, safetensors weights, tokenizer.json", openFolder: true });
  if (catalog.problems.length > 0) {
    items.push({ label: "cannot be used", kind: vscode.QuickPickItemKind.Separator });
    for (const problem of catalog.problems) {
      items.push({ label: `$(error) ${problem.modelId ?? problem.folder}`, detail: problem.message, problem });
    }
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: "Attention Lens: Select Model",
    placeHolder: "The model whose attention the panel shows",
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked) return undefined;
  if (picked.openFolder) return { kind: "open-folder" };
  if (picked.problem) return { kind: "problem", problem: picked.problem };
  return picked.modelId === undefined ? undefined : { kind: "model", id: picked.modelId };
}

/** "Open Model Folder...": a folder picker; undefined when dismissed. */
export async function chooseModelFolder(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: "Attention Lens: Open Model Folder",
    openLabel: "Use This Model",
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
  });
  return picked?.[0]?.fsPath;
}

/**
 * Which model the next run uses, and where the catalog looks for models:
 *
 *   current model   picked in this window (Select Model, the panel's picker, Open Model Folder, the
 *                   model A of Compare Models), else the attentionLens.defaultModel setting
 *   model B         Compare Models' second model: its argument, attentionLens.compareWith, or a
 *                   choice (MHA, or GQA when model A is MHA)
 *   the catalog     scanned again before every run with the current settings and the folders
 *                   "Open Model Folder..." remembered (model-picker.ts); each broken folder logged once
 *
 * The commands (attention-controller.ts) ask; this file knows no panel.
 */

import { resolve } from "node:path";
import * as vscode from "vscode";

import type { TextTokenizer } from "../model/tokenizer";
import { CommandWarning } from "./command-messages";
import { ModelCatalog, ModelCatalogError, type CatalogModel } from "./model-catalog";
import { budgetBytesOf } from "./model-memory";
import { catalogSources, chooseModelFolder, pickModel, RememberedFolders } from "./model-picker";
import { SETTINGS_SECTION, type ExtensionSettings } from "./settings";

export class ModelChoice {
  readonly catalog: ModelCatalog;
  /** The folders "Open Model Folder..." opened, kept across windows. */
  readonly remembered: RememberedFolders;
  /** Picked in this window; else the defaultModel setting. */
  private pickedModelId: string | undefined;
  private readonly reportedModelProblems = new Set<string>();

  constructor(
    private readonly bundledModelsFolder: string,
    globalState: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.remembered = new RememberedFolders(globalState);
    this.catalog = new ModelCatalog({ bundledModelsFolder });
  }

  /** The id of the model the next run uses. */
  currentId(settings: ExtensionSettings): string {
    return this.pickedModelId ?? settings.defaultModel;
  }

  /** The current model, from a freshly scanned catalog; throws ModelCatalogError when it is not usable. */
  async current(settings: ExtensionSettings): Promise<CatalogModel> {
    await this.refresh(settings);
    return this.catalog.require(this.currentId(settings), this.pickedModelId ? "Select Model" : `${SETTINGS_SECTION}.defaultModel`);
  }

  /** Makes `modelId` the current model (it must be in the catalog); returns it. */
  async pick(modelId: string, from: string, settings: ExtensionSettings): Promise<CatalogModel> {
    await this.refresh(settings);
    const model = this.catalog.require(modelId, from);
    if (this.pickedModelId !== model.id) this.log.info(`model: ${model.id} (picked in ${from})`);
    this.pickedModelId = model.id;
    return model;
  }

  /** The defaultModel setting changed: it is the current model from now on. */
  forgetPick(): void {
    this.pickedModelId = undefined;
  }

  tokenizer(model: CatalogModel): Promise<TextTokenizer> {
    return this.catalog.tokenizer(model);
  }

  /**
   * Compare mode's model B for `modelA`: `requested` ("" lets this choose: MHA, or GQA when A is MHA,
   * or any other model). Throws a CommandWarning when B would be A itself, ModelCatalogError when there is no other model.
   */
  modelB(modelA: CatalogModel, requested: string, from: string): CatalogModel {
    if (requested !== "") {
      const modelB = this.catalog.require(requested, from);
      if (modelB.id === modelA.id) {
        throw new CommandWarning(
          `Compare Models needs two different models, but model A and model B (from ${from}) are both "${modelA.id}". ` +
            `Pick another model B in ${SETTINGS_SECTION}.compareWith (or leave it empty), or another model A with "Attention Lens: Select Model".`,
        );
      }
      return modelB;
    }
    const others = this.catalog.models.filter((model) => model.id !== modelA.id);
    const isMha = (model: CatalogModel) => model.config.numKeyValueHeads === model.config.numAttentionHeads;
    const modelB = isMha(modelA)
      ? ([...others].sort((x, y) => y.config.numKeyValueHeads - x.config.numKeyValueHeads).find((model) => !isMha(model)) ?? others[0])
      : (others.find(isMha) ?? others[0]);
    if (!modelB) throw new ModelCatalogError(`Compare Models needs a second model, and "${modelA.id}" is the only usable one in ${this.catalog.describeSources()}.`);
    return modelB;
  }

  /**
   * Select Model: `argument` (a model id from a test or a keybinding) or the quick pick (which may
   * lead to "Open Model Folder..."). Undefined when dismissed; throws ModelCatalogError for a model
   * that cannot be used. The caller makes the chosen model current.
   */
  async choose(argument: unknown, settings: ExtensionSettings): Promise<{ id: string; from: string } | undefined> {
    if (typeof argument === "string") return { id: argument, from: "the command's argument" };
    await this.refresh(settings);
    const current = this.currentId(settings);
    if (this.catalog.models.length === 0) this.catalog.require(current); // throws the "no usable model" error
    const picked = await pickModel(this.catalog, current, budgetBytesOf(settings.memoryBudgetMB));
    if (!picked) return undefined;
    if (picked.kind === "problem") throw new ModelCatalogError(picked.problem.message);
    if (picked.kind === "open-folder") {
      const opened = await this.openFolder(undefined, settings);
      return opened === undefined ? undefined : { id: opened, from: "Open Model Folder" };
    }
    return { id: picked.id, from: "Select Model" };
  }

  /**
   * Open Model Folder...: `argument` (a folder path) or the folder picker. A usable folder is
   * remembered; resolves to its model's id, or undefined when dismissed. Throws ModelCatalogError
   * with the reason for a folder that holds no usable model.
   */
  async openFolder(argument: unknown, settings: ExtensionSettings): Promise<string | undefined> {
    if (argument !== undefined && typeof argument !== "string") {
      throw new ModelCatalogError(`Open Model Folder takes a folder path as its argument, not ${JSON.stringify(argument)}.`);
    }
    const chosen = argument ?? (await chooseModelFolder());
    if (chosen === undefined) return undefined;
    const folder = resolve(chosen);
    const inspected = await this.inspectFolder(folder, settings);
    if (typeof inspected === "string") throw new ModelCatalogError(inspected);
    await this.remembered.remember(folder);
    return inspected.id;
  }

  /** The usable model in `folder` (scanned as if it were remembered), or why there is none. */
  private async inspectFolder(folder: string, settings: ExtensionSettings): Promise<CatalogModel | string> {
    const sources = catalogSources(this.bundledModelsFolder, settings, this.remembered);
    this.catalog.setSources({ ...sources, rememberedFolders: [folder, ...(sources.rememberedFolders ?? [])] });
    await this.catalog.refresh();
    const model = this.catalog.models.find((candidate) => candidate.folder === folder || candidate.resourceRoots.includes(folder));
    if (model) return model;
    const problems = this.catalog.problems.filter((problem) => problem.folder === folder || problem.folder.startsWith(`${folder}/`));
    if (problems.length > 0) return problems.map((problem) => problem.message).join(" ");
    return `${folder} holds no model Attention Lens can read: a model folder has config.json, model.safetensors (or model.safetensors.index.json with its shards) and tokenizer.json.`;
  }

  /** Scans every model source again, with these settings and the remembered folders. */
  async refresh(settings: ExtensionSettings): Promise<void> {
    this.catalog.setSources(catalogSources(this.bundledModelsFolder, settings, this.remembered));
    await this.catalog.refresh();
    for (const problem of this.catalog.problems) {
      if (this.reportedModelProblems.has(problem.message)) continue;
      this.reportedModelProblems.add(problem.message);
      this.log.warn(problem.message);
    }
  }
}

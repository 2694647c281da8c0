/**
 * The extension's settings (package.json "contributes.configuration"), read and checked.
 *
 * No `vscode` import: the host passes a `get(key)` function (`workspace.getConfiguration(...).get`)
 * so the checks run in plain Node. A value of the wrong kind (settings.json accepts anything) falls
 * back to the default, with a problem message that says which setting and what to write instead.
 */

import { COLOR_SCALES } from "../color-scale";
import type { BackendSetting, ColorScale, ViewSettings } from "../protocol";

/** The configuration section: settings are "attentionLens.<key>". */
export const SETTINGS_SECTION = "attentionLens";

export interface ExtensionSettings {
  /** Which onnxruntime-web execution provider the webview tries first. */
  backend: BackendSetting;
  /** How weights map to colour, in the panel and in the editor. */
  colorScale: ColorScale;
  /** The model used when none was picked in this window. */
  defaultModel: string;
  /** Most tokens per run, <|bos|> included (capped again at each model's context). */
  maxTokens: number;
  /** Compare Models' model B; "" chooses one (MHA, or GQA when model A is MHA). */
  compareWith: string;
  /** Folders of the person's own models: each a Hugging Face model folder, or a folder of them. */
  modelFolders: string[];
  /** The most memory a run may plan for in the panel, in MiB: weights, runtime, KV cache and maps. */
  memoryBudgetMB: number;
}

export const DEFAULT_SETTINGS: Readonly<ExtensionSettings> = {
  backend: "auto",
  colorScale: "linear",
  defaultModel: "attention-lens-gqa",
  maxTokens: 512,
  compareWith: "",
  modelFolders: [],
  memoryBudgetMB: 3072,
};

/** The smallest memory budget accepted, in MiB: the bundled models need about 13 for a short selection. */
export const MIN_MEMORY_BUDGET_MB = 16;

export const BACKENDS: readonly BackendSetting[] = ["auto", "webgpu", "wasm"];
/** The colour scales, the same list the panel offers (src/color-scale.ts). */
export { COLOR_SCALES };

/** The smallest token budget that means anything: <|bos|> and one token of text. */
export const MIN_TOKENS = 2;

export interface ReadSettings {
  settings: ExtensionSettings;
  /** One message per setting that had to fall back to its default. */
  problems: string[];
}

/** Reads every setting through `get("backend")` etc.; undefined means "not set". */
export function readSettings(get: (key: keyof ExtensionSettings) => unknown): ReadSettings {
  const problems: string[] = [];
  const fallBack = (key: keyof ExtensionSettings, value: unknown, expected: string) => {
    problems.push(
      `The setting ${SETTINGS_SECTION}.${key} is ${JSON.stringify(value)}, but it must be ${expected}; ` +
        `using ${JSON.stringify(DEFAULT_SETTINGS[key])} until you change it in Settings.`,
    );
    return DEFAULT_SETTINGS[key];
  };
  const oneOf = <T extends string>(key: "backend" | "colorScale", choices: readonly T[]): T => {
    const value = get(key);
    if (value === undefined) return DEFAULT_SETTINGS[key] as T;
    if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as T;
    return fallBack(key, value, `one of ${choices.map((choice) => `"${choice}"`).join(", ")}`) as T;
  };

  const defaultModelValue = get("defaultModel");
  let defaultModel = DEFAULT_SETTINGS.defaultModel;
  if (typeof defaultModelValue === "string" && defaultModelValue.trim() !== "") defaultModel = defaultModelValue.trim();
  else if (defaultModelValue !== undefined) fallBack("defaultModel", defaultModelValue, 'a model name such as "attention-lens-gqa"');

  const maxTokensValue = get("maxTokens");
  let maxTokens = DEFAULT_SETTINGS.maxTokens;
  if (typeof maxTokensValue === "number" && Number.isInteger(maxTokensValue) && maxTokensValue >= MIN_TOKENS) maxTokens = maxTokensValue;
  else if (maxTokensValue !== undefined) fallBack("maxTokens", maxTokensValue, `a whole number of at least ${MIN_TOKENS}`);

  const compareWithValue = get("compareWith");
  let compareWith = DEFAULT_SETTINGS.compareWith;
  if (typeof compareWithValue === "string") compareWith = compareWithValue.trim();
  else if (compareWithValue !== undefined) fallBack("compareWith", compareWithValue, 'a model name such as "attention-lens-mha", or "" to let Compare Models choose');

  const modelFoldersValue = get("modelFolders");
  let modelFolders: string[] = [];
  if (Array.isArray(modelFoldersValue) && modelFoldersValue.every((folder) => typeof folder === "string")) {
    modelFolders = modelFoldersValue.map((folder: string) => folder.trim()).filter((folder) => folder !== "");
  } else if (modelFoldersValue !== undefined) {
    fallBack("modelFolders", modelFoldersValue, 'a list of folder paths, such as ["~/models/SmolLM2-135M"]');
  }

  const budgetValue = get("memoryBudgetMB");
  let memoryBudgetMB = DEFAULT_SETTINGS.memoryBudgetMB;
  if (typeof budgetValue === "number" && Number.isFinite(budgetValue) && budgetValue >= MIN_MEMORY_BUDGET_MB) memoryBudgetMB = budgetValue;
  else if (budgetValue !== undefined) fallBack("memoryBudgetMB", budgetValue, `a number of MiB of at least ${MIN_MEMORY_BUDGET_MB}`);

  return {
    settings: {
      backend: oneOf("backend", BACKENDS),
      colorScale: oneOf("colorScale", COLOR_SCALES),
      defaultModel,
      maxTokens,
      compareWith,
      modelFolders,
      memoryBudgetMB,
    },
    problems,
  };
}

/** The settings the webview needs. */
export function viewSettingsOf(settings: ExtensionSettings): ViewSettings {
  return { backend: settings.backend, colorScale: settings.colorScale };
}

/** Tokens one run may hold: the setting, never more than the model's context, never below 2. */
export function tokenBudget(maxTokensSetting: number, modelContext: number): number {
  return Math.max(MIN_TOKENS, Math.min(maxTokensSetting, modelContext));
}

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { COMMANDS, PANEL_VIEW_TYPE } from "../../src/extension/contributions";
import { parsePanelState } from "../../src/extension/panel-state";
import {
  BACKENDS,
  COLOR_SCALES,
  DEFAULT_SETTINGS,
  readSettings,
  SETTINGS_SECTION,
  tokenBudget,
  viewSettingsOf,
  type ExtensionSettings,
} from "../../src/extension/settings";

interface ManifestProperty {
  type: string;
  default: unknown;
  enum?: string[];
  enumDescriptions?: string[];
  minimum?: number;
  markdownDescription?: string;
}

const MANIFEST = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
  main: string;
  activationEvents: string[];
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    keybindings: { command: string; key: string; mac?: string; when?: string }[];
    configuration: { properties: Record<string, ManifestProperty> };
  };
};

describe("extension: settings", () => {
  it("reads the defaults when nothing is set", () => {
    const { settings, problems } = readSettings(() => undefined);
    assert.deepEqual(settings, DEFAULT_SETTINGS);
    assert.deepEqual(problems, []);
  });

  it("reads valid values", () => {
    const values: ExtensionSettings = { backend: "wasm", colorScale: "log", defaultModel: "attention-lens-mqa", maxTokens: 64, compareWith: "attention-lens-mha", modelFolders: ["/models/a", "/models/b"], memoryBudgetMB: 1024 };
    const { settings, problems } = readSettings((key) => values[key]);
    assert.deepEqual(settings, values);
    assert.deepEqual(problems, []);
    assert.deepEqual(viewSettingsOf(settings), { backend: "wasm", colorScale: "log" });
  });

  it("modelFolders: a list of paths; blank entries dropped; anything else falls back to none", () => {
    assert.deepEqual(readSettings((key) => (key === "modelFolders" ? [" /m/one ", "", "/m/two"] : undefined)).settings.modelFolders, ["/m/one", "/m/two"]);
    const { settings, problems } = readSettings((key) => (key === "modelFolders" ? "/m/one" : undefined));
    assert.deepEqual(settings.modelFolders, []);
    assert.match(problems[0], /attentionLens\.modelFolders is "\/m\/one", but it must be a list of folder paths/);
  });

  it("memoryBudgetMB: a number of MiB of at least 16; anything else falls back to 3072", () => {
    assert.equal(readSettings((key) => (key === "memoryBudgetMB" ? 6144 : undefined)).settings.memoryBudgetMB, 6144);
    for (const wrong of [8, "2048", -1, Number.NaN]) {
      const { settings, problems } = readSettings((key) => (key === "memoryBudgetMB" ? wrong : undefined));
      assert.equal(settings.memoryBudgetMB, 3072);
      assert.match(problems[0], /attentionLens\.memoryBudgetMB is .*, but it must be a number of MiB of at least 16; using 3072/);
    }
  });

  it("falls back to the default for a wrong value, saying which setting and what it must be", () => {
    const values: Record<string, unknown> = { backend: "gpu", colorScale: 3, defaultModel: "  ", maxTokens: 1.5 };
    const { settings, problems } = readSettings((key) => values[key]);
    assert.deepEqual(settings, DEFAULT_SETTINGS);
    assert.equal(problems.length, 4);
    assert.match(problems[0], /attentionLens\.defaultModel is " {2}", but it must be a model name/);
    assert.match(problems[1], /attentionLens\.maxTokens is 1\.5, but it must be a whole number of at least 2; using 512/);
    assert.match(problems[2], /attentionLens\.backend is "gpu", but it must be one of "auto", "webgpu", "wasm"; using "auto" until you change it in Settings/);
    assert.match(problems[3], /attentionLens\.colorScale is 3/);
  });

  it("reads compareWith (trimmed; empty lets Compare Models choose) and says what to write instead of a wrong kind", () => {
    assert.equal(readSettings((key) => (key === "compareWith" ? " attention-lens-mqa " : undefined)).settings.compareWith, "attention-lens-mqa");
    const { settings, problems } = readSettings((key) => (key === "compareWith" ? 7 : undefined));
    assert.equal(settings.compareWith, "");
    assert.match(problems[0], /attentionLens\.compareWith is 7, but it must be a model name such as "attention-lens-mha", or "" to let Compare Models choose/);
  });

  it("caps the token budget at the model's context, and never below 2", () => {
    assert.equal(tokenBudget(512, 256), 256);
    assert.equal(tokenBudget(100, 512), 100);
    assert.equal(tokenBudget(1, 512), 2);
  });
});

describe("extension: the manifest (package.json)", () => {
  const properties = MANIFEST.contributes.configuration.properties;

  it("points at the bundle and activates for the panel serializer", () => {
    assert.equal(MANIFEST.main, "./dist/extension.js");
    assert.ok(MANIFEST.activationEvents.includes(`onWebviewPanel:${PANEL_VIEW_TYPE}`));
  });

  it("contributes both commands under the Attention Lens category, in the palette and the editor's context menu", () => {
    const commands = new Map(MANIFEST.contributes.commands.map((command) => [command.command, command]));
    assert.equal(commands.get(COMMANDS.showAttention)?.title, "Show Attention");
    assert.equal(commands.get(COMMANDS.selectModel)?.title, "Select Model");
    for (const command of commands.values()) assert.equal(command.category, "Attention Lens");
    assert.ok(MANIFEST.contributes.menus["editor/context"].some((item) => item.command === COMMANDS.showAttention && item.when === "editorHasSelection"));
    const palette = MANIFEST.contributes.menus.commandPalette.map((item) => item.command);
    assert.ok(palette.includes(COMMANDS.showAttention) && palette.includes(COMMANDS.selectModel));
    const keybinding = MANIFEST.contributes.keybindings.find((binding) => binding.command === COMMANDS.showAttention);
    assert.deepEqual([keybinding?.key, keybinding?.mac, keybinding?.when], ["ctrl+alt+a", "cmd+alt+a", "editorTextFocus"]);
  });

  it("declares every setting with the defaults and choices the code uses, each described", () => {
    const keys = Object.keys(DEFAULT_SETTINGS) as (keyof ExtensionSettings)[];
    assert.deepEqual(Object.keys(properties).sort(), keys.map((key) => `${SETTINGS_SECTION}.${key}`).sort());
    for (const key of keys) {
      const property = properties[`${SETTINGS_SECTION}.${key}`];
      assert.deepEqual(property.default, DEFAULT_SETTINGS[key], `${key}: default`);
      assert.ok((property.markdownDescription ?? "").length > 40, `${key}: a description a person understands`);
    }
    assert.deepEqual(properties["attentionLens.backend"].enum, [...BACKENDS]);
    assert.deepEqual(properties["attentionLens.colorScale"].enum, [...COLOR_SCALES]);
    assert.equal(properties["attentionLens.backend"].enumDescriptions?.length, BACKENDS.length);
    assert.equal(properties["attentionLens.colorScale"].enumDescriptions?.length, COLOR_SCALES.length);
    assert.equal(properties["attentionLens.maxTokens"].type, "integer");
    assert.equal(properties["attentionLens.maxTokens"].minimum, 2);
  });
});

describe("extension: the panel's saved state", () => {
  it("accepts a saved PanelState", () => {
    const state = { modelId: "attention-lens-gqa", text: "hello", source: "a.ts:1", selection: { layer: 1, head: 3 }, lockedToken: 2 };
    assert.deepEqual(parsePanelState(state), state);
  });

  it("repairs the optional parts and refuses what cannot be shown", () => {
    assert.deepEqual(parsePanelState({ modelId: "m", text: "x", source: "s", selection: { layer: -1 }, lockedToken: "no" }), {
      modelId: "m",
      text: "x",
      source: "s",
      selection: { layer: 0, head: "mean" },
      lockedToken: null,
    });
    assert.equal(parsePanelState(undefined), undefined);
    assert.equal(parsePanelState({ modelId: "m", text: "   ", source: "s" }), undefined, "nothing to show");
    assert.equal(parsePanelState({ modelId: 3, text: "x", source: "s" }), undefined);
  });
});

/**
 * The walkthrough and the learning commands as the manifest contributes them: every step of
 * src/extension/walkthrough.ts has its page and example in media/walkthrough/, its "try it" command
 * contributed and linked from the step, and completes on that command; Show Attention Stages'
 * argument is checked with clear messages.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS } from "../../src/extension/contributions";
import { parseStagesChoice } from "../../src/extension/stages-choice";
import { tryItCommand, WALKTHROUGH_ID, WALKTHROUGH_STEPS } from "../../src/extension/walkthrough";

const ROOT = join(__dirname, "..", "..");
interface WalkthroughStepJson {
  id: string;
  title: string;
  description: string;
  media: { markdown: string };
  completionEvents: string[];
}
const MANIFEST = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  contributes: {
    commands: { command: string; title: string }[];
    menus: { commandPalette: { command: string; when?: string }[] };
    walkthroughs: { id: string; steps: WalkthroughStepJson[] }[];
  };
};

describe("the walkthrough (package.json contributes.walkthroughs)", () => {
  const walkthrough = MANIFEST.contributes.walkthroughs.find((candidate) => candidate.id === WALKTHROUGH_ID);
  const commands = new Map(MANIFEST.contributes.commands.map((command) => [command.command, command.title]));

  it("has the nine steps, in order: formula, sqrt(d), causal mask, padding, dropout, multi-head, lines, GQA/MQA, KV cache", () => {
    assert.ok(walkthrough);
    assert.deepEqual(walkthrough.steps.map((step) => step.id), WALKTHROUGH_STEPS.map((step) => step.id));
    assert.deepEqual(WALKTHROUGH_STEPS.map((step) => step.id), ["formula", "scaling", "causal", "padding", "dropout", "multihead", "lines", "grouped", "kvcache"]);
  });

  for (const step of WALKTHROUGH_STEPS) {
    it(`${step.id}: page, example, "try it" command, completion`, () => {
      const json = walkthrough!.steps.find((candidate) => candidate.id === step.id)!;
      assert.equal(json.title, step.title);
      assert.equal(json.media.markdown, `media/walkthrough/${step.id}.md`);
      assert.ok(existsSync(join(ROOT, json.media.markdown)), json.media.markdown);
      assert.ok(existsSync(join(ROOT, "media", "walkthrough", step.example)), step.example);
      assert.ok(readFileSync(join(ROOT, "media", "walkthrough", step.example), "utf8").trim().length > 0);
      const command = tryItCommand(step);
      assert.equal(commands.get(command), `Walkthrough: ${step.title}`);
      assert.ok(json.description.includes(`(command:${command})`), "the step links its command");
      assert.deepEqual(json.completionEvents, [`onCommand:${command}`]);
    });
  }

  it("contributes Show Attention Stages and Show Batch and Masks, in the palette with an editor", () => {
    assert.equal(commands.get(COMMANDS.showStages), "Show Attention Stages");
    assert.equal(commands.get(COMMANDS.showBatch), "Show Batch and Masks");
    for (const command of [COMMANDS.showStages, COMMANDS.showBatch]) {
      assert.ok(MANIFEST.contributes.menus.commandPalette.some((item) => item.command === command && item.when === "editorIsOpen"), command);
    }
  });

  it("ships src/attention/*.ts and the walkthrough's .ts examples in the .vsix (.vscodeignore)", () => {
    const ignore = readFileSync(join(ROOT, ".vscodeignore"), "utf8").split("\n");
    assert.ok(ignore.includes("!src/attention/*.ts"));
    assert.ok(ignore.includes("!media/walkthrough/*.ts"));
  });
});

describe("Show Attention Stages' argument", () => {
  it("accepts nothing, or indices, a dropout rate in [0, 1), a seed and a section", () => {
    assert.deepEqual(parseStagesChoice(undefined), {});
    assert.deepEqual(parseStagesChoice({ layer: 1, head: 2, query: 3, key: 0, dropoutRate: 0.5, dropoutSeed: 9, section: "scaling" }), {
      layer: 1, head: 2, query: 3, key: 0, dropoutRate: 0.5, dropoutSeed: 9, section: "scaling",
    });
  });

  it("refuses anything else with a message", () => {
    const error = (value: unknown) => {
      const parsed = parseStagesChoice(value);
      assert.ok("error" in parsed, JSON.stringify(value));
      return parsed.error;
    };
    assert.match(error({ dropoutRate: 1 }), /the dropout rate must be at least 0 and below 1 .* not 1\.$/);
    assert.match(error({ dropoutRate: -0.1 }), /the dropout rate must be at least 0 and below 1/);
    assert.match(error({ dropoutRate: "0.1" }), /the dropout rate must be at least 0 and below 1/);
    assert.match(error({ dropoutSeed: 1.5 }), /the dropout seed must be a whole number from 0 up, not 1.5/);
    assert.match(error({ layer: -1 }), /"layer" must be a whole number from 0 up, not -1/);
    assert.match(error({ section: "masks" }), /"section" is "stages" or "scaling"/);
    assert.match(error(7), /takes an object such as/);
  });
});

/**
 * The argument of `attentionLens.showStages` (a keybinding's "args", a test, the walkthrough): which
 * layer, head, query, key and dropout to show first. Every field is optional; a wrong one gets a
 * message that says what is allowed. Indices outside the model or the text are clamped by the panel.
 *
 * Pure: no `vscode` import.
 */

import type { StagesChoice } from "../protocol";

const INDEX_FIELDS = ["layer", "head", "query", "key"] as const;

export function parseStagesChoice(value: unknown): StagesChoice | { error: string } {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    return { error: `Show Attention Stages takes an object such as {"layer": 0, "head": 1, "dropoutRate": 0.1}, not ${JSON.stringify(value)}.` };
  }
  const fields = value as Record<string, unknown>;
  const choice: StagesChoice = {};
  for (const name of INDEX_FIELDS) {
    const field = fields[name];
    if (field === undefined) continue;
    if (typeof field !== "number" || !Number.isInteger(field) || field < 0) {
      return { error: `Show Attention Stages: "${name}" must be a whole number from 0 up, not ${JSON.stringify(field)}.` };
    }
    choice[name] = field;
  }
  if (fields.dropoutRate !== undefined) {
    const rate = fields.dropoutRate;
    if (typeof rate !== "number" || !(rate >= 0 && rate < 1)) {
      return {
        error: `Show Attention Stages: the dropout rate must be at least 0 and below 1 (1 would drop every weight and divide by zero), not ${JSON.stringify(rate)}.`,
      };
    }
    choice.dropoutRate = rate;
  }
  if (fields.dropoutSeed !== undefined) {
    const seed = fields.dropoutSeed;
    if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
      return { error: `Show Attention Stages: the dropout seed must be a whole number from 0 up, not ${JSON.stringify(seed)}.` };
    }
    choice.dropoutSeed = seed;
  }
  if (fields.section !== undefined) {
    if (fields.section !== "stages" && fields.section !== "scaling") {
      return { error: `Show Attention Stages: "section" is "stages" or "scaling", not ${JSON.stringify(fields.section)}.` };
    }
    choice.section = fields.section;
  }
  return choice;
}

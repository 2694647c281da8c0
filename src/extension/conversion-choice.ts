/**
 * Convert to GQA...: which grouping of the current model's key/value heads to compare it with. The
 * person picks the number of groups (the divisors of the model's key/value heads) and the method
 * (mean-pool, the paper's, or the first head of each group, its ablation) in two quick picks; a
 * keybinding or a test passes them as arguments instead: `{ "groups": 2, "method": "mean" }`.
 */

import * as vscode from "vscode";

import type { DecoderConfig } from "../model/config";
import { conversionProblem, keyValueGroupChoices, type KeyValueConversion, type KeyValueConversionMethod } from "../model/key-value-conversion";
import { CommandWarning } from "./command-messages";

const METHODS: { method: KeyValueConversionMethod; label: string; detail: string }[] = [
  {
    method: "mean",
    label: "Mean-pool each group's heads",
    detail: "The paper's method (Ainslie et al. 2023): each group's key and value head is the mean of its heads. Usually the smaller loss.",
  },
  {
    method: "first",
    label: "Keep the first head of each group",
    detail: "The paper's ablation: the other heads of each group are dropped.",
  },
];

/** The conversion an argument names, or why it cannot be used with a model of `config` (`name`). */
export function parseConversionArgument(argument: unknown, config: Pick<DecoderConfig, "numKeyValueHeads">, name: string): KeyValueConversion | { error: string } {
  if (typeof argument !== "object" || argument === null || Array.isArray(argument)) {
    return { error: `Convert to GQA takes an object such as {"groups": 2, "method": "mean"}, not ${JSON.stringify(argument)}.` };
  }
  const { groups, method = "mean" } = argument as Record<string, unknown>;
  if (method !== "mean" && method !== "first") return { error: `Convert to GQA: "method" is "mean" or "first", not ${JSON.stringify(method)}.` };
  if (typeof groups !== "number") return { error: `Convert to GQA: "groups" must be a number of key/value groups, not ${JSON.stringify(groups)}.` };
  const conversion: KeyValueConversion = { groups, method };
  const problem = conversionProblem(config, conversion);
  return problem === null ? conversion : { error: `Convert to GQA cannot convert ${name}: ${problem}.` };
}

/** Asks for the groups, then the method; undefined when the person dismisses either pick. */
export async function pickConversion(config: Pick<DecoderConfig, "numKeyValueHeads" | "numAttentionHeads">, name: string): Promise<KeyValueConversion | undefined> {
  const heads = config.numKeyValueHeads;
  const choices = keyValueGroupChoices(heads);
  if (choices.length === 0) {
    throw new CommandWarning(
      `${name} already has a single key/value head (multi-query attention): there is nothing to group. ` +
        'Pick a model with more key/value heads with "Attention Lens: Select Model".',
    );
  }
  const groupItems = choices.map((groups) => ({
    label: groups === 1 ? "1 key/value head (MQA)" : `${groups} key/value groups (GQA)`,
    description: `${heads / groups} heads per group, KV cache ${heads / groups}× smaller`,
    detail: `Query head h reads group ⌊h / ${config.numAttentionHeads / groups}⌋.`,
    groups,
  }));
  const pickedGroups = await vscode.window.showQuickPick(groupItems, {
    title: `Convert to GQA: ${name} has ${heads} key/value heads`,
    placeHolder: "How many key/value heads after the conversion?",
  });
  if (!pickedGroups) return undefined;
  const pickedMethod = await vscode.window.showQuickPick(METHODS, {
    title: `Convert to GQA: ${heads} → ${pickedGroups.groups} key/value heads`,
    placeHolder: "How each group's heads become one",
    matchOnDetail: true,
  });
  if (!pickedMethod) return undefined;
  return { groups: pickedGroups.groups, method: pickedMethod.method };
}

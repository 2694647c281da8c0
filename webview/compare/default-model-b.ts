/**
 * Compare mode's model B when nothing chose one (the panel's picker, Compare Models' argument or the
 * attentionLens.compareWith setting): the models differ in their key/value heads alone, so the
 * comparison that says most is with multi-head attention, the model every other one shares less than.
 */

import type { ModelDescriptor } from "../../src/protocol";

/**
 * Model B when nothing chose one: MHA when A is not MHA, else GQA (the model with the most K/V heads
 * below A's), else any other comparable model.
 */
export function defaultModelB(a: ModelDescriptor, candidates: readonly ModelDescriptor[]): ModelDescriptor | undefined {
  const others = candidates.filter((model) => model.id !== a.id);
  if (a.numKeyValueHeads !== a.numHeads) {
    const mha = others.find((model) => model.numKeyValueHeads === model.numHeads);
    if (mha) return mha;
  }
  const fewer = others.filter((model) => model.numKeyValueHeads < a.numKeyValueHeads).sort((x, y) => y.numKeyValueHeads - x.numKeyValueHeads);
  return fewer[0] ?? others[0];
}

/**
 * A model with its key/value heads grouped, as the panel and the host name it: a descriptor that
 * reads the files of the model it was converted from and converts them once they are loaded
 * (src/model/key-value-conversion.ts). Nothing is written to disk.
 *
 *   id      "<model id>::kv<groups>-<method>"     e.g. "attention-lens-mha::kv2-mean"
 *   label   "<model label> → GQA (2 key/value groups), mean-pooled"
 *
 * The host sends the id as compare mode's model B (Convert to GQA...); the panel lists the
 * conversions of model A beside the other models B may be.
 */

import {
  conversionProblem,
  describeConversion,
  KEY_VALUE_CONVERSION_METHODS,
  keyValueGroupChoices,
  type KeyValueConversion,
  type KeyValueConversionMethod,
} from "./model/key-value-conversion";
import type { ModelDescriptor } from "./protocol";

const SEPARATOR = "::kv";

/** The id of `baseId` converted by `conversion`. */
export function convertedModelId(baseId: string, conversion: KeyValueConversion): string {
  return `${baseId}${SEPARATOR}${conversion.groups}-${conversion.method}`;
}

/** The model and the conversion a converted id names, or null for any other id. */
export function parseConvertedModelId(id: string): { baseId: string; conversion: KeyValueConversion } | null {
  const at = id.lastIndexOf(SEPARATOR);
  if (at <= 0) return null;
  const match = /^(\d+)-(\w+)$/.exec(id.slice(at + SEPARATOR.length));
  if (!match || !KEY_VALUE_CONVERSION_METHODS.includes(match[2] as KeyValueConversionMethod)) return null;
  return { baseId: id.slice(0, at), conversion: { groups: Number(match[1]), method: match[2] as KeyValueConversionMethod } };
}

/** `base` with its key/value heads grouped; throws a RangeError naming the problem when they cannot be. */
export function convertedModelDescriptor(base: ModelDescriptor, conversion: KeyValueConversion): ModelDescriptor {
  if (base.conversion) throw new RangeError(`${base.id} is already a converted model; convert the model it came from`);
  const problem = conversionProblem({ numKeyValueHeads: base.numKeyValueHeads }, conversion);
  if (problem !== null) throw new RangeError(`${base.id}: ${problem}`);
  const { headMetrics: _metrics, headMetricsProblem: _problem, ...files } = base;
  return {
    ...files,
    id: convertedModelId(base.id, conversion),
    label: `${base.label} → ${describeConversion(conversion)}`,
    numKeyValueHeads: conversion.groups,
    conversion: { baseId: base.id, baseKeyValueHeads: base.numKeyValueHeads, ...conversion },
    // Measured head metrics belong to the original; the converted model has none of its own.
    headMetricsProblem: "a converted model has no measured head metrics (head-metrics.json belongs to the model it was converted from)",
  };
}

/** Every conversion of `base` the panel offers: each smaller group count, mean-pooled and first-head. */
export function modelConversions(base: ModelDescriptor): ModelDescriptor[] {
  if (base.conversion) return [];
  return keyValueGroupChoices(base.numKeyValueHeads).flatMap((groups) =>
    KEY_VALUE_CONVERSION_METHODS.map((method) => convertedModelDescriptor(base, { groups, method })),
  );
}

/** The descriptor of the model a converted one reads its files from. */
export function baseModelDescriptor(model: ModelDescriptor): ModelDescriptor {
  if (!model.conversion) return model;
  const { conversion, ...files } = model;
  return { ...files, id: conversion.baseId, numKeyValueHeads: conversion.baseKeyValueHeads };
}

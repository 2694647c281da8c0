/**
 * Reading the reference fixtures written by scripts/fixtures/*.py, and comparing tensors.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatShape, Tensor } from "../../../src/attention/tensor";

export const FIXTURES = join(__dirname, "..", "..", "fixtures");

/** A tensor as the fixture scripts write it; "-inf" stands for -Infinity (JSON has none). */
export interface TensorJson {
  shape: number[];
  data: (number | "-inf")[];
}

export function readFixture<T>(relativePath: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, relativePath), "utf8")) as T;
}

export function tensorFromJson(json: TensorJson): Tensor {
  return new Tensor(Float32Array.from(json.data, (value) => (value === "-inf" ? -Infinity : value)), json.shape);
}

/** Asserts equal shapes and |actual - expected| <= tolerance everywhere; reports the worst element. */
export function assertClose(actual: Tensor, expected: Tensor, tolerance: number, label = "tensor"): void {
  assert.equal(formatShape(actual.shape), formatShape(expected.shape), `${label}: shape`);
  let worst = 0;
  let worstIndex = -1;
  for (let i = 0; i < actual.size; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    if (a === e) continue;
    const difference = Number.isNaN(a) || Number.isNaN(e) ? Infinity : Math.abs(a - e);
    if (difference > worst) {
      worst = difference;
      worstIndex = i;
    }
  }
  assert.ok(
    worst <= tolerance,
    `${label}: max |difference| ${worst} > ${tolerance} at flat index ${worstIndex} (actual ${actual.data[worstIndex]}, expected ${expected.data[worstIndex]})`,
  );
}

/** A seeded tensor of normal(0, std) values, for tests that need arbitrary numbers. */
export function randomTensor(shape: number[], seed: number, std = 1): Tensor {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  return Tensor.fromFunction(shape, () => std * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

/**
 * The nonlinearities of the decoders' MLPs, one number at a time (config.activation):
 *
 *   silu        z * sigmoid(z)                                           Llama, Mistral, Qwen (in SwiGLU)
 *   gelu-tanh   0.5 z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z^3)))          GPT-2 (transformers' gelu_new)
 *   gelu        0.5 z (1 + erf(z / sqrt(2))) = z * Phi(z)                  exact GELU (transformers' gelu)
 *
 * GELU weighs z by the probability that a standard normal is below it; the tanh form is the
 * approximation the original GPT-2 code used, and checkpoints trained with it need it.
 */

import type { MlpActivation } from "./config";

export function silu(z: number): number {
  return z / (1 + Math.exp(-z));
}

export function geluTanh(z: number): number {
  return 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
}

export function gelu(z: number): number {
  return 0.5 * z * (1 + erf(z / Math.SQRT2));
}

/**
 * The error function, to about 1e-13: its Taylor series for |x| < 3, and 1 - erfc(x) from erfc's
 * continued fraction beyond (where the series would lose digits to cancellation).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const magnitude = Math.abs(x);
  if (magnitude >= 3) return Math.sign(x) * (1 - complementaryErfLarge(magnitude));
  // erf(x) = 2 / sqrt(pi) * sum_n (-1)^n x^(2n + 1) / (n! (2n + 1))
  let term = x; // (-1)^n x^(2n + 1) / n!
  let sum = x;
  for (let n = 1; n < 100; n++) {
    term *= (-x * x) / n;
    const contribution = term / (2 * n + 1);
    sum += contribution;
    if (Math.abs(contribution) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** erfc(x) for x >= 3: exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))), from the tail. */
function complementaryErfLarge(x: number): number {
  let fraction = x;
  for (let k = 60; k >= 1; k--) fraction = x + k / 2 / fraction;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / fraction;
}

/** The function of config.activation. */
export function activationFunction(activation: MlpActivation): (z: number) => number {
  switch (activation) {
    case "silu":
      return silu;
    case "gelu-tanh":
      return geluTanh;
    case "gelu":
      return gelu;
    default: {
      const unknown: never = activation;
      throw new RangeError(`unknown MLP activation ${JSON.stringify(unknown)}; expected "silu", "gelu-tanh" or "gelu"`);
    }
  }
}

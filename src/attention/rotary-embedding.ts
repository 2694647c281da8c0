/**
 * Rotary position embedding (RoPE), as in Llama and Hugging Face's `apply_rotary_pos_emb`.
 *
 * Position enters attention by rotating query and key vectors: the pair of features (i, i + hs/2)
 * of a token at position p is rotated by the angle p * theta^(-2i / hs). The dot product of a rotated
 * query and a rotated key then depends only on how far apart the two tokens are.
 *
 * This is the "rotate half" layout of Hugging Face checkpoints (features i and i + hs/2 form a pair),
 * not the interleaved (2i, 2i + 1) layout of the original Meta code.
 *
 * Shape legend: B batch, h heads, T tokens, hs head size.
 */

import { assertShape, ShapeError, Tensor } from "./tensor";

/**
 * How a model stretches RoPE beyond the context it was trained on (Hugging Face's `rope_type`):
 *
 *   default   inverseFrequencies[i] = theta^(-2i / hs)
 *   linear    every frequency divided by `factor` (positions interpolated)
 *   llama3    Llama 3.1/3.2: wavelengths longer than original / lowFrequencyFactor are divided by
 *             `factor`, those shorter than original / highFrequencyFactor kept, and the ones in
 *             between blended smoothly (transformers' `_compute_llama3_parameters`)
 *
 * None of these changes the attention scale (transformers' attention_factor is 1 for all three).
 */
export type RopeScaling =
  | { type: "default" }
  | { type: "linear"; factor: number }
  | {
      type: "llama3";
      factor: number;
      lowFrequencyFactor: number;
      highFrequencyFactor: number;
      originalMaxPositionEmbeddings: number;
    };

/** theta^(-2i / hs) for i < hs / 2, scaled as `scaling` says, each rounded to float32 as PyTorch computes it. */
export function ropeInverseFrequencies(headDim: number, theta: number, scaling: RopeScaling = { type: "default" }): Float32Array {
  const frequencies = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) frequencies[i] = 1 / Math.pow(theta, Math.fround((2 * i) / headDim));
  if (scaling.type === "linear") return frequencies.map((frequency) => frequency / scaling.factor);
  if (scaling.type === "llama3") {
    const { factor, lowFrequencyFactor, highFrequencyFactor, originalMaxPositionEmbeddings: original } = scaling;
    const lowFrequencyWavelength = original / lowFrequencyFactor;
    const highFrequencyWavelength = original / highFrequencyFactor;
    return frequencies.map((frequency) => {
      const wavelength = Math.fround((2 * Math.PI) / frequency);
      if (wavelength > lowFrequencyWavelength) return frequency / factor; // long wavelengths: interpolated
      if (wavelength < highFrequencyWavelength) return frequency; // short wavelengths: kept
      const smooth = Math.fround((original / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor));
      return Math.fround((1 - smooth) * Math.fround(frequency / factor) + smooth * frequency);
    });
  }
  return frequencies;
}

export class RotaryEmbedding {
  readonly headDim: number;
  readonly theta: number;
  readonly scaling: RopeScaling;
  /** inverseFrequencies[i] = theta^(-2i / hs) (then scaled), rounded to float32 as PyTorch computes it. */
  readonly inverseFrequencies: Float32Array;

  constructor(headDim: number, theta = 10000, scaling: RopeScaling = { type: "default" }) {
    if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
      throw new ShapeError(`RotaryEmbedding: the head size must be a positive even number, got ${headDim}`);
    }
    if (!(theta > 0)) throw new RangeError(`RotaryEmbedding: theta must be positive, got ${theta}`);
    this.headDim = headDim;
    this.theta = theta;
    this.scaling = scaling;
    this.inverseFrequencies = ropeInverseFrequencies(headDim, theta, scaling);
  }

  /** The angle of feature pair i at a position, rounded to float32 as in float32 PyTorch. */
  angle(position: number, pair: number): number {
    return Math.fround(position * this.inverseFrequencies[pair]);
  }

  /**
   * cos and sin of every angle for positions 0 .. count - 1, laid out as `apply` uses them:
   * (count, hs), with the hs/2 angles written twice, [angles, angles] (Hugging Face's layout).
   */
  tables(count: number): { cosine: Tensor; sine: Tensor } {
    const half = this.headDim / 2;
    const cosine = Tensor.fromFunction([count, this.headDim], ([position, feature]) => Math.cos(this.angle(position, feature % half)));
    const sine = Tensor.fromFunction([count, this.headDim], ([position, feature]) => Math.sin(this.angle(position, feature % half)));
    return { cosine, sine };
  }

  /**
   * Rotates x: (B, h, T, hs) with positions (B, T) -> (B, h, T, hs).
   * The angle is rounded to float32 before cos/sin, as in float32 PyTorch, so both agree to ~1e-7.
   */
  apply(x: Tensor, positions: readonly (readonly number[])[]): Tensor {
    assertShape(x, [null, null, null, this.headDim], "RotaryEmbedding.apply x", ["B", "h", "T", "hs"]);
    const [batchSize, heads, length] = x.shape;
    if (positions.length !== batchSize || positions.some((row) => row.length !== length)) {
      throw new ShapeError(
        `RotaryEmbedding.apply: positions must be (${batchSize}, ${length}) to match x ${x.toString()}`,
      );
    }
    const half = this.headDim / 2;
    const out = new Float32Array(x.size);
    const cosines = new Float32Array(half);
    const sines = new Float32Array(half);
    for (let batch = 0; batch < batchSize; batch++) {
      for (let token = 0; token < length; token++) {
        const position = positions[batch][token];
        for (let i = 0; i < half; i++) {
          const angle = this.angle(position, i);
          cosines[i] = Math.cos(angle);
          sines[i] = Math.sin(angle);
        }
        for (let head = 0; head < heads; head++) {
          const base = ((batch * heads + head) * length + token) * this.headDim;
          for (let i = 0; i < half; i++) {
            const first = x.data[base + i];
            const second = x.data[base + i + half];
            // rotate_half(x) = [-second, first]; out = x * cos + rotate_half(x) * sin
            out[base + i] = first * cosines[i] - second * sines[i];
            out[base + i + half] = second * cosines[i] + first * sines[i];
          }
        }
      }
    }
    return new Tensor(out, x.shape);
  }
}

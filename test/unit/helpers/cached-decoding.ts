/**
 * A KV cache kept by the caller over a stateless decoder (`compute(ids, { past })`), as a decoding
 * session keeps one: each `step` runs after the presents of the step before. For tests that compare
 * a cached sequence of steps with transformers' `past_key_values`.
 */

import type { LayeredDecoder, LayeredDecoderCall } from "../../../src/runtime/layered-decoder";
import type { OnnxDecoderPast, OnnxDecoderStep } from "../../../src/runtime/onnx-decoder";

export class CachedDecoding {
  private past: OnnxDecoderPast | undefined;

  constructor(private readonly decoder: Pick<LayeredDecoder, "compute">) {}

  /** Slots in the cache. */
  get length(): number {
    return this.past?.keyMask[0]?.length ?? 0;
  }

  /** Runs `inputIds` after the cache and keeps the presents as the next step's past. */
  async step(inputIds: readonly (readonly number[])[], call: LayeredDecoderCall = {}): Promise<OnnxDecoderStep> {
    const result = await this.decoder.compute(inputIds, { ...call, past: this.past, fetchPresent: true });
    this.past = { keyValues: result.presentKeyValues, keyMask: result.keyMask };
    return result;
  }

  reset(): void {
    this.past = undefined;
  }
}

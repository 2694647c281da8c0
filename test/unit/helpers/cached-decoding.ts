/**
 * A KV cache kept by the caller over a stateless decoder (`compute(ids, { past })`), as a decoding
 * session keeps one: each `step` runs after the presents of the step before. For tests that compare
 * a cached sequence of steps with transformers' `past_key_values`. The cache is the presents as
 * library Tensors, or (`inRuntime`) kept in the runtime (src/runtime/runtime-key-values.ts).
 */

import type { LayeredDecoder, LayeredDecoderCall } from "../../../src/runtime/layered-decoder";
import type { OnnxDecoder, OnnxDecoderPast, OnnxDecoderStep } from "../../../src/runtime/onnx-decoder";
import type { RuntimeKeyValues } from "../../../src/runtime/runtime-key-values";

export class CachedDecoding {
  private past: OnnxDecoderPast | RuntimeKeyValues | undefined;

  constructor(
    private readonly decoder: Pick<LayeredDecoder, "compute"> | Pick<OnnxDecoder, "compute">,
    private readonly options: { inRuntime?: boolean } = {},
  ) {}

  /** Slots in the cache. */
  get length(): number {
    return this.past?.keyMask[0]?.length ?? 0;
  }

  /** Runs `inputIds` after the cache and keeps the presents as the next step's past. */
  async step(inputIds: readonly (readonly number[])[], call: LayeredDecoderCall = {}): Promise<OnnxDecoderStep> {
    const inRuntime = this.options.inRuntime ?? false;
    const result = await (this.decoder as Pick<LayeredDecoder, "compute">).compute(inputIds, { ...call, past: this.past, fetchPresent: true, keepPresent: inRuntime });
    this.reset();
    this.past = inRuntime ? result.present : { keyValues: result.presentKeyValues, keyMask: result.keyMask };
    return result;
  }

  reset(): void {
    if (this.past && "dispose" in this.past) this.past.dispose();
    this.past = undefined;
  }
}

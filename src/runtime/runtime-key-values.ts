/**
 * A KV cache kept in the runtime: the present keys and values of one decoder call, as onnxruntime
 * tensors, handed to the next call as its past as they are, with no copy through library `Tensor`s
 * (ask for it with `keepPresent`; both decoders take it as `past`). It belongs to the caller, not to
 * the decoder, which keeps no state: stepping back is keeping an earlier one, and `dispose` frees it
 * (on WebGPU, GPU memory).
 *
 *   const prefill = await decoder.compute([prompt], { keepPresent: true });
 *   const step = await decoder.compute([[next]], { past: prefill.present, keepPresent: true });
 *   prefill.present?.dispose();
 *
 * Shape legend: B batch, nkv key/value heads, S cached slots, hs head size.
 */

import type * as ort from "onnxruntime-web";

export class RuntimeKeyValues {
  private disposed = false;

  constructor(
    /** Per layer, keys and values (B, nkv, S, hs) as the runtime returned them. */
    private readonly layers: readonly { key: ort.Tensor; value: ort.Tensor }[],
    /** Real (1) / pad (0) for each of the S slots, (B, S). */
    readonly keyMask: readonly (readonly number[])[],
  ) {}

  /** Cached slots. */
  get length(): number {
    return this.keyMask[0]?.length ?? 0;
  }

  get layerCount(): number {
    return this.layers.length;
  }

  /** Layer `index`'s keys and values, to feed as a past. */
  layer(index: number): { key: ort.Tensor; value: ort.Tensor } {
    if (this.disposed) throw new Error("RuntimeKeyValues: this cache was disposed; keep the presents of a later call, or compute again");
    return this.layers[index];
  }

  /** Every layer's key and value shape, key first. */
  get shapes(): number[][] {
    return this.layers.flatMap(({ key, value }) => [[...key.dims], [...value.dims]]);
  }

  /** Frees the tensors. Calling it again does nothing. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const { key, value } of this.layers) {
      key.dispose();
      value.dispose();
    }
  }
}

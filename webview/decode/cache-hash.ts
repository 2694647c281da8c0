/**
 * A fingerprint of a KV cache: FNV-1a (32-bit) over the bytes of every layer's keys then values.
 * Two caches with the same hash hold (with overwhelming likelihood) the same bits; decode mode
 * reports it so tests can check that stepping back and forward restores the cache bit for bit.
 */

import type { KeyValue } from "../../src/attention/kv-cache";

/** FNV-1a of the float32 bytes of each layer's key then value, as 8 hex digits. */
export function cacheHash(layers: readonly KeyValue[]): string {
  let hash = 0x811c9dc5;
  for (const { key, value } of layers) {
    for (const tensor of [key, value]) {
      const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
      for (let index = 0; index < bytes.length; index++) {
        hash ^= bytes[index];
        hash = Math.imul(hash, 0x01000193);
      }
    }
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/**
 * A small seeded generator of uniform numbers in [0, 1): mulberry32, 32-bit integer arithmetic, so
 * the same seed gives the same numbers on any machine. Dropout draws its mask from it, sampling its
 * draw per generated token, and the model and head-metric code their reproducible random inputs.
 */

/** mulberry32 seeded with `seed` (taken as an unsigned 32-bit integer): each call gives the next number in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

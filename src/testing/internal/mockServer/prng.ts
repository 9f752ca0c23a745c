/**
 * A tiny seeded generator, so that a fault sequence can be replayed exactly
 * from its seed.
 *
 * @internal
 */

/** mulberry32: 32 bits of state, uniform floats in [0, 1). */
export const mulberry32 = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

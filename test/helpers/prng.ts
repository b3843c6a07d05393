/** mulberry32: a small seeded PRNG, so "random" inputs are the same on every run and a failure replays. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` seeded pseudo-random bytes. */
export function seededBytes(seed: number, length: number): Buffer {
  const next = seededRandom(seed);
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

import { randomBytes } from 'node:crypto';

/** Injectable time and randomness, so state machines run under fake time in tests. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A source of 64-bit nonces; never 0 (0 means "no nonce" to the node). */
export type NonceSource = () => bigint;

export const randomNonce: NonceSource = () => {
  for (;;) {
    const n = randomBytes(8).readBigUInt64LE(0);
    if (n !== 0n) return n;
  }
};

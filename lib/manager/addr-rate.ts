import type { Clock } from '../peer/clock.js';

/**
 * Per-peer token bucket for incoming addresses, as in Bitcoin Core: one token per address,
 * refilled at 0.1 per second up to a burst of 1000. Addresses beyond the tokens are dropped
 * (not misbehaviour: only oversized messages are). Pure: time comes from the injected clock.
 */
export interface AddrRateOptions {
  /** Tokens added per second. Default 0.1. */
  readonly ratePerSecond?: number;
  /** Bucket size. Default 1000. */
  readonly burst?: number;
  /** Tokens at creation. Default 1 (Core lets a new peer's self-announcement through). */
  readonly initial?: number;
}

export const DEFAULT_ADDR_RATE_PER_SECOND = 0.1;
export const DEFAULT_ADDR_BURST = 1000;

export class AddrRateLimiter {
  private tokens: number;
  private last: number;
  private readonly rate: number;
  private readonly burst: number;

  constructor(
    private readonly clock: Clock,
    options: AddrRateOptions = {},
  ) {
    this.rate = options.ratePerSecond ?? DEFAULT_ADDR_RATE_PER_SECOND;
    this.burst = options.burst ?? DEFAULT_ADDR_BURST;
    if (!(this.rate >= 0) || !(this.burst >= 0)) throw new RangeError('addr rate and burst must be non-negative');
    this.tokens = Math.min(this.burst, options.initial ?? 1);
    this.last = clock.now();
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** How many of `count` addresses may be processed now; those tokens are spent. */
  take(count: number): number {
    this.refill();
    const allowed = Math.max(0, Math.min(Math.floor(count), Math.floor(this.tokens)));
    this.tokens -= allowed;
    return allowed;
  }

  /**
   * Add tokens without the cap, e.g. 1000 when we send getaddr, so the solicited answer is taken
   * whole (Core does the same).
   */
  grant(tokens: number): void {
    this.refill();
    this.tokens += Math.max(0, tokens);
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = Math.max(this.last, now);
    if (this.tokens < this.burst) this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
  }
}

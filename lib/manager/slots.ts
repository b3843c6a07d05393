/**
 * Connection slots, counted per kind. A slot is reserved before a dial starts and released on
 * every way out (failure, close, stop), so a burst of concurrent attempts can never push a count
 * past its limit: reserve() is synchronous and checks and increments in one step.
 */

/** What a connection is for. addr-fetch = a short connection to a seed to learn addresses (proxy mode). */
export type SlotKind = 'outbound' | 'inbound' | 'manual' | 'feeler' | 'addr-fetch';

export const SLOT_KINDS: readonly SlotKind[] = Object.freeze(['outbound', 'inbound', 'manual', 'feeler', 'addr-fetch']);

export type SlotLimits = Readonly<Record<SlotKind, number>>;
export type SlotCounts = Readonly<Record<SlotKind, number>>;

/** Bitcoin Core's defaults: 8 full outbound, 117 inbound (125 in all), 8 manual, 1 feeler. */
export const DEFAULT_SLOT_LIMITS: SlotLimits = Object.freeze({ outbound: 8, inbound: 117, manual: 8, feeler: 1, 'addr-fetch': 2 });

/** One reserved slot. release() is idempotent: call it on every path out. */
export interface SlotHandle {
  readonly kind: SlotKind;
  readonly released: boolean;
  release(): void;
}

export class ConnectionSlots {
  private readonly limits: Record<SlotKind, number>;
  private readonly used: Record<SlotKind, number> = { outbound: 0, inbound: 0, manual: 0, feeler: 0, 'addr-fetch': 0 };

  constructor(limits: Partial<SlotLimits> = {}) {
    this.limits = { ...DEFAULT_SLOT_LIMITS };
    this.setLimits(limits);
  }

  /** Take a slot of this kind, or undefined when the kind is at its limit. */
  reserve(kind: SlotKind): SlotHandle | undefined {
    if (this.used[kind] >= this.limits[kind]) return undefined;
    this.used[kind]++;
    let released = false;
    const counts = this.used;
    return {
      kind,
      get released() {
        return released;
      },
      release() {
        if (released) return;
        released = true;
        counts[kind]--;
      },
    };
  }

  count(kind: SlotKind): number {
    return this.used[kind];
  }

  limit(kind: SlotKind): number {
    return this.limits[kind];
  }

  /** Free slots of this kind (0 when over a lowered limit). */
  available(kind: SlotKind): number {
    return Math.max(0, this.limits[kind] - this.used[kind]);
  }

  /** How many connections of this kind exceed a lowered limit (the caller closes that many). */
  excess(kind: SlotKind): number {
    return Math.max(0, this.used[kind] - this.limits[kind]);
  }

  counts(): SlotCounts {
    return { ...this.used };
  }

  currentLimits(): SlotLimits {
    return { ...this.limits };
  }

  /**
   * Change limits at runtime. Raising one frees slots at once; lowering one stops new reservations
   * until enough held slots are released (existing holders are not revoked).
   */
  setLimits(limits: Partial<SlotLimits>): void {
    for (const kind of SLOT_KINDS) {
      const value = limits[kind];
      if (value === undefined) continue;
      if (!Number.isInteger(value) || value < 0) throw new RangeError(`slot limit for ${kind} must be a non-negative integer, got ${value}`);
      this.limits[kind] = value;
    }
  }
}

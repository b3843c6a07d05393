// One process-wide allowance for whole frames gathered across socket chunks. A frame that lies
// inside one chunk is a view of it and costs nothing extra; one that straddles chunks gets a
// buffer of its declared length, and thousands of peers each gathering a 2 MB inv (or a
// 100 MB cmpctblock) would otherwise add up without bound. Pure bookkeeping: no I/O, no time.
import { EventEmitter } from 'eventemitter3';

export const DEFAULT_FRAME_BUDGET_BYTES = 256 * 1024 * 1024;

/** Whoever gathers a frame: a PeerConnection, or a test double. */
export interface FrameBudgetHolder {
  readonly id: string;
  /** Give up the frame being gathered (a PeerConnection closes with 'memory-budget'); called at most once per eviction. */
  evictForBudget(detail: string): void;
}

export interface FrameBudgetEvictEvent {
  /** The holder dropped: the one gathering the most, possibly the one asking. */
  readonly victim: FrameBudgetHolder;
  /** Bytes the victim held (or, when the victim is the one asking, held plus asked). */
  readonly victimBytes: number;
  /** The holder whose new frame did not fit. */
  readonly requester: FrameBudgetHolder;
  readonly requestedBytes: number;
  readonly usedBytes: number;
  readonly limitBytes: number;
}

export interface FrameBudgetEvents {
  evict: (event: FrameBudgetEvictEvent) => void;
}

/**
 * Bytes of whole frames being gathered, per holder, against one limit. When a new frame does
 * not fit, the holder gathering the most is dropped, repeatedly, until it fits; when the one
 * asking would itself be the biggest, its frame is refused instead. Each drop is an `evict`
 * event naming the victim and why.
 */
export class FrameBudget extends EventEmitter<FrameBudgetEvents> {
  private readonly held = new Map<FrameBudgetHolder, number>();
  private used = 0;

  constructor(readonly limitBytes: number = DEFAULT_FRAME_BUDGET_BYTES) {
    super();
    if (!Number.isSafeInteger(limitBytes) || limitBytes <= 0) throw new RangeError(`frame budget must be a positive safe integer, got ${limitBytes}`);
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Bytes `holder` has reserved (0 when none). */
  heldBy(holder: FrameBudgetHolder): number {
    return this.held.get(holder) ?? 0;
  }

  /**
   * Reserve `bytes` for a frame `holder` is about to gather. Other holders may be evicted to
   * make room. Returns false when the frame is refused: `holder` itself was the biggest, and
   * has been told through `evictForBudget` (and named in an `evict` event) like any victim.
   */
  acquire(holder: FrameBudgetHolder, bytes: number): boolean {
    const mine = this.heldBy(holder);
    while (this.used + bytes > this.limitBytes) {
      let victim: FrameBudgetHolder = holder;
      let victimBytes = mine + bytes;
      for (const [h, b] of this.held) {
        if (h !== holder && b > victimBytes) {
          victim = h;
          victimBytes = b;
        }
      }
      const event: FrameBudgetEvictEvent = { victim, victimBytes, requester: holder, requestedBytes: bytes, usedBytes: this.used, limitBytes: this.limitBytes };
      const detail =
        victim === holder
          ? `a ${bytes}-byte frame would exceed the ${this.limitBytes}-byte frame budget (${this.used} in use) and this peer would hold the most`
          : `holding ${victimBytes} bytes, the most of any peer, when ${holder.id} needed ${bytes} of the ${this.limitBytes}-byte frame budget (${this.used} in use)`;
      if (victim !== holder) this.release(victim);
      this.safeEmit(event);
      victim.evictForBudget(detail);
      if (victim === holder) return false;
    }
    this.held.set(holder, mine + bytes);
    this.used += bytes;
    return true;
  }

  /** Give back everything `holder` reserved (its frame completed, or it closed). */
  release(holder: FrameBudgetHolder): void {
    const b = this.held.get(holder);
    if (b === undefined) return;
    this.held.delete(holder);
    this.used -= b;
  }

  private safeEmit(event: FrameBudgetEvictEvent): void {
    try {
      this.emit('evict', event);
    } catch {
      // A throwing app listener must not stop the bookkeeping.
    }
  }
}

/** The budget every PeerConnection shares unless given its own (the Manager or app may pass another). */
export const defaultFrameBudget = new FrameBudget();

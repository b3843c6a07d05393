// The mempool watcher's sans-IO core: txid announcements in, one fetch per txid out, with a re-ask of
// another announcer when the one asked stays silent, says notfound or disconnects. No I/O, time is an
// input; the shell (MempoolWatcher, mempool-watcher.ts) feeds it a Manager's events.

export interface MempoolCoreOptions {
  /** How long the asked announcer has to deliver before another is asked (default 5 s). */
  readonly fetchTimeoutMs?: number;
  /** Delivered (or mined) txids remembered so re-announcements are ignored (default 100,000). */
  readonly maxSeen?: number;
  /** Txids the app marked as rejected, never fetched again while remembered (default 20,000). */
  readonly maxRejected?: number;
  /** Txids announced and not yet delivered; announcements past it are dropped and counted (default 20,000). */
  readonly maxInFlight?: number;
  /** Requests outstanding at one peer; the rest wait in that peer's queue (default 500). */
  readonly maxPerPeer?: number;
  /** Txids one peer may have waiting for its free slots; more from it are dropped, so a flooder cannot fill maxInFlight alone (default 5,000). */
  readonly maxQueuedPerPeer?: number;
  /** Announcers remembered per txid as fallbacks; the count goes on (default 8). */
  readonly maxFallbacks?: number;
}

export type MempoolOutput =
  | { readonly type: 'getdata'; readonly peer: string; readonly txids: readonly Buffer[] }
  /** First delivery of a txid: `peer` delivered it, `firstAnnouncer` announced it first. */
  | {
      readonly type: 'tx';
      readonly txid: Buffer;
      readonly raw: Buffer | undefined;
      readonly peer: string;
      readonly firstAnnouncer: string;
      readonly announcers: number;
      readonly announcedAt: number;
      readonly receivedAt: number;
      readonly attempts: number;
    }
  /** Every announcer was tried and none delivered. */
  | { readonly type: 'lost'; readonly txid: Buffer; readonly announcers: number; readonly attempts: number }
  /** Txids seen in the mempool (delivered or in flight) that a block holds. */
  | { readonly type: 'mined'; readonly blockHash: Buffer; readonly txids: readonly Buffer[] };

export interface MempoolStats {
  readonly seen: number;
  readonly rejected: number;
  readonly inFlight: number;
  readonly asking: number;
  /** Announcements dropped because maxInFlight was reached. */
  readonly overflow: number;
  readonly delivered: number;
  readonly reasked: number;
  readonly lost: number;
  /** Txids announced for the first time (each then fetched once); monotonic, unlike `seen`. */
  readonly announcedNew: number;
  /** Announcements of a txid already seen, rejected or pending: none starts a second fetch of it. */
  readonly duplicateAnnouncements: number;
  /** Txids asked for by getdata (a re-ask counts again). */
  readonly requested: number;
}

interface Pending {
  readonly txid: Buffer;
  readonly firstAnnouncer: string;
  readonly announcedAt: number;
  /** Announcers not asked yet, oldest first (bounded by maxFallbacks). */
  readonly fallbacks: string[];
  announcers: number;
  attempts: number;
  asked: string | undefined;
  deadline: number;
}

/** A set of keys that forgets its oldest entry past `limit` (a Map keeps insertion order). */
class BoundedSet {
  private readonly map = new Map<string, true>();
  constructor(readonly limit: number) {}
  get size(): number {
    return this.map.size;
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  add(key: string): void {
    if (this.map.has(key)) return;
    this.map.set(key, true);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as string);
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

export class MempoolCore {
  readonly fetchTimeoutMs: number;
  readonly maxInFlight: number;
  readonly maxPerPeer: number;
  readonly maxFallbacks: number;
  readonly maxQueuedPerPeer: number;
  private readonly seen: BoundedSet;
  private readonly rejected: BoundedSet;
  private readonly pending = new Map<string, Pending>();
  /** Entries asked of a peer, in deadline order (the timeout is constant, so insertion order is deadline order). */
  private readonly asking = new Map<string, Pending>();
  /** Per peer: requests outstanding, and txids waiting for a free slot at it. */
  private readonly peers = new Map<string, { outstanding: number; queue: Set<string> }>();
  /** Peers gone (ids are unique per connection): skipped when met as fallbacks. */
  private readonly closed = new BoundedSet(10_000);
  private overflow = 0;
  private delivered = 0;
  private reasked = 0;
  private lostCount = 0;
  private announcedNew = 0;
  private duplicateAnnouncements = 0;
  private requested = 0;

  constructor(options: MempoolCoreOptions = {}) {
    this.fetchTimeoutMs = positive('fetchTimeoutMs', options.fetchTimeoutMs, 5000);
    this.seen = new BoundedSet(positive('maxSeen', options.maxSeen, 100_000));
    this.rejected = new BoundedSet(positive('maxRejected', options.maxRejected, 20_000));
    this.maxInFlight = positive('maxInFlight', options.maxInFlight, 20_000);
    this.maxPerPeer = positive('maxPerPeer', options.maxPerPeer, 500);
    this.maxFallbacks = positive('maxFallbacks', options.maxFallbacks, 8);
    this.maxQueuedPerPeer = positive('maxQueuedPerPeer', options.maxQueuedPerPeer, 5000);
  }

  stats(): MempoolStats {
    return {
      seen: this.seen.size,
      rejected: this.rejected.size,
      inFlight: this.pending.size,
      asking: this.asking.size,
      overflow: this.overflow,
      delivered: this.delivered,
      reasked: this.reasked,
      lost: this.lostCount,
      announcedNew: this.announcedNew,
      duplicateAnnouncements: this.duplicateAnnouncements,
      requested: this.requested,
    };
  }

  /** Whether a txid was delivered or mined (still remembered). */
  hasSeen(txid: Buffer): boolean {
    return this.seen.has(txid.toString('hex'));
  }

  /** A peer announced txids (inv type 1). */
  announce(peer: string, txids: readonly Buffer[], now: number): MempoolOutput[] {
    const asks = new Map<string, Buffer[]>();
    if (this.closed.has(peer)) return [];
    const state = this.peerState(peer);
    for (const txid of txids) {
      const key = txid.toString('hex');
      if (this.seen.has(key) || this.rejected.has(key)) {
        this.duplicateAnnouncements++;
        continue;
      }
      const entry = this.pending.get(key);
      if (entry) {
        this.duplicateAnnouncements++;
        if (entry.asked === peer || entry.fallbacks.includes(peer)) continue;
        entry.announcers++;
        if (entry.fallbacks.length < this.maxFallbacks) entry.fallbacks.push(peer);
        // Waiting for a slot elsewhere while this announcer is idle: ask it now.
        if (entry.asked === undefined) this.assign(key, entry, now, asks);
        continue;
      }
      if (this.pending.size >= this.maxInFlight || state.queue.size >= this.maxQueuedPerPeer) {
        this.overflow++;
        continue;
      }
      this.announcedNew++;
      const fresh: Pending = { txid: Buffer.from(txid), firstAnnouncer: peer, announcedAt: now, fallbacks: [peer], announcers: 1, attempts: 0, asked: undefined, deadline: 0 };
      this.pending.set(key, fresh);
      this.assign(key, fresh, now, asks);
    }
    return this.flush(asks);
  }

  /** A peer delivered a transaction (raw may be absent for a huge tx that was streamed in pieces). */
  received(peer: string, txid: Buffer, raw: Buffer | undefined, now: number): MempoolOutput[] {
    const key = txid.toString('hex');
    const entry = this.pending.get(key);
    if (!entry) {
      // Unsolicited or a late second copy: deliver once if it is new, never twice.
      if (this.seen.has(key) || this.rejected.has(key)) return [];
      this.seen.add(key);
      this.delivered++;
      return [{ type: 'tx', txid: Buffer.from(txid), raw, peer, firstAnnouncer: peer, announcers: 0, announcedAt: now, receivedAt: now, attempts: 0 }];
    }
    const asks = new Map<string, Buffer[]>();
    this.finish(key, entry, asks, now);
    this.seen.add(key);
    this.delivered++;
    const out: MempoolOutput[] = [
      { type: 'tx', txid: entry.txid, raw, peer, firstAnnouncer: entry.firstAnnouncer, announcers: entry.announcers, announcedAt: entry.announcedAt, receivedAt: now, attempts: entry.attempts },
    ];
    return out.concat(this.flush(asks));
  }

  /** A peer said notfound: the next announcer is asked at once. */
  notFound(peer: string, txids: readonly Buffer[], now: number): MempoolOutput[] {
    const asks = new Map<string, Buffer[]>();
    const out: MempoolOutput[] = [];
    for (const txid of txids) {
      const key = txid.toString('hex');
      const entry = this.pending.get(key);
      if (!entry || entry.asked !== peer) continue;
      this.release(peer, key, entry, asks, now);
      this.retry(key, entry, now, asks, out);
    }
    return out.concat(this.flush(asks));
  }

  /** A peer is gone: what it was asked goes to other announcers, and it is no fallback any more. */
  peerClosed(peer: string, now: number): MempoolOutput[] {
    const asks = new Map<string, Buffer[]>();
    const out: MempoolOutput[] = [];
    const state = this.peers.get(peer);
    this.peers.delete(peer);
    const orphans: [string, Pending][] = [];
    for (const [key, entry] of this.asking) if (entry.asked === peer) orphans.push([key, entry]);
    for (const [key, entry] of orphans) {
      this.asking.delete(key);
      entry.asked = undefined;
      this.retry(key, entry, now, asks, out);
    }
    if (state) {
      for (const key of state.queue) {
        const entry = this.pending.get(key);
        if (!entry || entry.asked !== undefined) continue;
        const i = entry.fallbacks.indexOf(peer);
        if (i >= 0) entry.fallbacks.splice(i, 1);
        this.retry(key, entry, now, asks, out);
      }
    }
    // The closed peer may be a fallback of entries asked elsewhere; it will be skipped when reached.
    this.closed.add(peer);
    return out.concat(this.flush(asks));
  }

  /** The app refused a transaction: it is never fetched again while remembered. */
  reject(txid: Buffer): void {
    const key = txid.toString('hex');
    const entry = this.pending.get(key);
    if (entry) this.finish(key, entry, new Map(), 0);
    this.rejected.add(key);
  }

  /**
   * Txids a block holds (from a streamed block or a merkleblock's matches). Those seen in the
   * mempool are reported as mined; all are remembered so a late announcement is not fetched.
   */
  mined(blockHash: Buffer, txids: readonly Buffer[], now: number): MempoolOutput[] {
    const asks = new Map<string, Buffer[]>();
    const hits: Buffer[] = [];
    for (const txid of txids) {
      const key = txid.toString('hex');
      const entry = this.pending.get(key);
      if (entry) {
        this.finish(key, entry, asks, now);
        hits.push(Buffer.from(txid));
      } else if (this.seen.has(key)) {
        hits.push(Buffer.from(txid));
      }
      this.seen.add(key);
    }
    const out: MempoolOutput[] = hits.length > 0 ? [{ type: 'mined', blockHash: Buffer.from(blockHash), txids: hits }] : [];
    return out.concat(this.flush(asks));
  }

  /** Whether a txid is one the core is tracking (pending) or has seen. */
  isKnown(txid: Buffer): boolean {
    const key = txid.toString('hex');
    return this.pending.has(key) || this.seen.has(key);
  }

  /** Deadlines: an asked announcer that stayed silent past fetchTimeoutMs gives way to the next. */
  tick(now: number): MempoolOutput[] {
    const asks = new Map<string, Buffer[]>();
    const out: MempoolOutput[] = [];
    const expired: [string, Pending][] = [];
    for (const [key, entry] of this.asking) {
      if (entry.deadline > now) break;
      expired.push([key, entry]);
    }
    for (const [key, entry] of expired) {
      this.release(entry.asked!, key, entry, asks, now);
      this.retry(key, entry, now, asks, out);
    }
    return out.concat(this.flush(asks));
  }

  private peerState(peer: string): { outstanding: number; queue: Set<string> } {
    let s = this.peers.get(peer);
    if (!s) {
      s = { outstanding: 0, queue: new Set() };
      this.peers.set(peer, s);
    }
    return s;
  }

  /** Ask the first untried announcer with a free slot; if none has one, queue at the first untried. */
  private assign(key: string, entry: Pending, now: number, asks: Map<string, Buffer[]>): void {
    while (entry.fallbacks.length > 0 && this.closed.has(entry.fallbacks[0]!)) entry.fallbacks.shift();
    if (entry.fallbacks.length === 0) return;
    for (let i = 0; i < entry.fallbacks.length; i++) {
      const peer = entry.fallbacks[i]!;
      if (this.closed.has(peer)) continue;
      const state = this.peerState(peer);
      if (state.outstanding >= this.maxPerPeer) continue;
      entry.fallbacks.splice(i, 1);
      this.ask(peer, key, entry, now, asks);
      return;
    }
    this.peerState(entry.fallbacks[0]!).queue.add(key);
  }

  private ask(peer: string, key: string, entry: Pending, now: number, asks: Map<string, Buffer[]>): void {
    const state = this.peerState(peer);
    state.queue.delete(key);
    state.outstanding++;
    if (entry.attempts > 0) this.reasked++;
    this.requested++;
    entry.attempts++;
    entry.asked = peer;
    entry.deadline = now + this.fetchTimeoutMs;
    this.asking.delete(key);
    this.asking.set(key, entry);
    let list = asks.get(peer);
    if (!list) asks.set(peer, (list = []));
    list.push(entry.txid);
  }

  /** The asked peer is done with this txid (answered, failed or timed out): free its slot. */
  private release(peer: string, key: string, entry: Pending, asks: Map<string, Buffer[]>, now: number): void {
    this.asking.delete(key);
    entry.asked = undefined;
    const state = this.peers.get(peer);
    if (!state) return;
    state.outstanding = Math.max(0, state.outstanding - 1);
    // A freed slot takes the next txid waiting at this peer.
    for (const waiting of state.queue) {
      state.queue.delete(waiting);
      const next = this.pending.get(waiting);
      if (!next || next.asked !== undefined) continue;
      const i = next.fallbacks.indexOf(peer);
      if (i < 0) continue;
      next.fallbacks.splice(i, 1);
      this.ask(peer, waiting, next, now, asks);
      break;
    }
  }

  private retry(key: string, entry: Pending, now: number, asks: Map<string, Buffer[]>, out: MempoolOutput[]): void {
    this.assign(key, entry, now, asks);
    if (entry.asked !== undefined) return;
    if (entry.fallbacks.some((p) => !this.closed.has(p))) return; // queued at a busy announcer
    this.pending.delete(key);
    this.lostCount++;
    out.push({ type: 'lost', txid: entry.txid, announcers: entry.announcers, attempts: entry.attempts });
  }

  private finish(key: string, entry: Pending, asks: Map<string, Buffer[]>, now: number): void {
    if (entry.asked !== undefined) this.release(entry.asked, key, entry, asks, now);
    for (const p of entry.fallbacks) this.peers.get(p)?.queue.delete(key);
    this.pending.delete(key);
  }

  private flush(asks: Map<string, Buffer[]>): MempoolOutput[] {
    const out: MempoolOutput[] = [];
    for (const [peer, txids] of asks) out.push({ type: 'getdata', peer, txids });
    return out;
  }
}

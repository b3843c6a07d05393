// A one-process simulator for BlockSync: peers that serve getdata at a given rate (or stall, drip, lie or
// hang up), a fake clock in 100 ms steps, a 1 s tick, and a consumer acknowledging blocks in order.
// Every run is bounded in simulated time.
import { createHash } from 'node:crypto';
import { BlockSync, type BlockSyncOptions, type BlockSyncOutput } from '../../lib/chain/block-sync.js';
import type { HeaderEntry } from '../../lib/chain/types.js';

export type SimBlockBehaviour =
  | { readonly kind: 'honest'; readonly bytesPerSecond: number }
  /** Takes getdata and sends nothing. */
  | { readonly kind: 'silent' }
  /** Sends its blocks, but at this rate. */
  | { readonly kind: 'drip'; readonly bytesPerSecond: number }
  /** Answers every getdata with a block of another height. */
  | { readonly kind: 'wrong-block'; readonly bytesPerSecond: number }
  /** Sends the right header and transactions, but the merkle root does not match. */
  | { readonly kind: 'bad-merkle'; readonly bytesPerSecond: number }
  /** Hangs up after this many bytes of its first block. */
  | { readonly kind: 'disconnect-mid-block'; readonly bytesPerSecond: number; readonly afterBytes: number };

/** The best chain in `entries`; every header ever made (forks included) stays known, as in a HeaderTree. */
export class SimChain {
  readonly entries: HeaderEntry[] = [];
  private readonly all = new Map<string, HeaderEntry>();
  constructor(length: number, seed = 'a') {
    for (let h = 0; h <= length; h++) this.push(seed);
  }
  push(seed: string): void {
    const h = this.entries.length;
    const hash = createHash('sha256').update(`${seed}:${h}`).digest();
    const entry = { hash, prevHash: this.entries[h - 1]?.hash ?? Buffer.alloc(32), height: h, version: 4, time: h, bits: 0, chainWork: BigInt(h) };
    this.entries.push(entry);
    this.all.set(hash.toString('hex'), entry);
  }
  get(hash: Buffer): HeaderEntry | undefined {
    return this.all.get(hash.toString('hex'));
  }
  commonHeight(hash: Buffer): number | undefined {
    let e = this.get(hash);
    while (e && !this.entries[e.height]?.hash.equals(e.hash)) e = this.get(e.prevHash);
    return e?.height;
  }
  /** The branch ending at `hash`, genesis first (hex hashes). */
  branch(hash: Buffer): Set<string> {
    const out = new Set<string>();
    for (let e = this.get(hash); e; e = this.get(e.prevHash)) out.add(e.hash.toString('hex'));
    return out;
  }
  /** Replace everything above `height` with a branch of `length` blocks made from `seed`. */
  fork(height: number, length: number, seed: string): void {
    this.entries.length = height + 1;
    for (let i = 0; i < length; i++) this.push(seed);
  }
  get best(): HeaderEntry {
    return this.entries[this.entries.length - 1]!;
  }
  atHeight(height: number): HeaderEntry | undefined {
    return this.entries[height];
  }
}

interface SimPeer {
  readonly id: string;
  readonly behaviour: SimBlockBehaviour;
  /** Hex hashes of the blocks it has (undefined: every block); asked for another, it does as `missing` says. */
  holds: Set<string> | undefined;
  /** 'notfound' as bcash does, or 'ignore' (skip the item silently, as the BSV node does for blocks). */
  readonly missing: 'notfound' | 'ignore';
  readonly queue: Buffer[];
  bytes: number;
  /** Bytes of the front block sent so far. */
  sent: number;
  started: boolean;
  closed: boolean;
  /** We stopped reading from it (our disk behind): it sends nothing until resumed. */
  paused?: boolean;
}

export interface SimLogEntry {
  readonly t: number;
  readonly output: BlockSyncOutput;
}

export class BlockSim {
  now = 0;
  readonly sync: BlockSync;
  readonly peers = new Map<string, SimPeer>();
  readonly log: SimLogEntry[] = [];
  /** Heights delivered to the consumer, in order. */
  readonly delivered: number[] = [];
  /** Time each hash was first asked of each peer (hex:peer -> t). */
  readonly asked = new Map<string, number>();
  readonly heightOf = new Map<string, number>();
  /** Blocks peers answered notfound for. */
  readonly notFounds: { readonly t: number; readonly peer: string; readonly hash: Buffer; readonly logIndex: number }[] = [];

  constructor(
    readonly chain: SimChain,
    readonly sizeOf: (height: number) => number,
    options: Omit<BlockSyncOptions, 'chain'>,
    /** Acknowledge a delivered block (default: at once). */
    readonly consumerDelayMs = 0,
  ) {
    this.sync = new BlockSync({ ...options, chain });
  }

  /**
   * A peer claiming `height` in version that then shows its header at that height, as its headers would (unless
   * `announce` is false). With `holds`, it has only the branch ending at that hash.
   */
  addPeer(id: string, behaviour: SimBlockBehaviour, height = this.chain.best.height, options: { announce?: boolean; holds?: Buffer; missing?: 'notfound' | 'ignore' } = {}): void {
    const holds = options.holds ? this.chain.branch(options.holds) : undefined;
    this.peers.set(id, { id, behaviour, holds, missing: options.missing ?? 'notfound', queue: [], bytes: 0, sent: 0, started: false, closed: false });
    this.apply(this.sync.peerReady(id, { height, services: 1n }, this.now));
    if (options.announce !== false) this.announce(id, options.holds ?? this.chain.atHeight(height)!.hash);
  }

  /** The peer shows this header (headers or inv); with `holds`, it now has that branch too. */
  announce(id: string, hash: Buffer): void {
    const p = this.peers.get(id);
    if (p?.holds) for (const h of this.chain.branch(hash)) p.holds.add(h);
    this.apply(this.sync.peerHas(id, hash, this.now));
  }

  private heightFor(hash: Buffer): number {
    return this.chain.get(hash)?.height ?? -1;
  }

  apply(outputs: BlockSyncOutput[]): void {
    for (const o of outputs) {
      this.log.push({ t: this.now, output: o });
      if (o.type === 'getdata') {
        const p = this.peers.get(o.peer);
        if (!p || p.closed) continue;
        for (const h of o.hashes) {
          p.queue.push(h);
          const k = `${h.toString('hex')}:${o.peer}`;
          if (!this.asked.has(k)) this.asked.set(k, this.now);
        }
      } else if (o.type === 'disconnect') {
        this.close(o.peer);
      }
    }
  }

  close(id: string): void {
    const p = this.peers.get(id);
    if (!p || p.closed) return;
    p.closed = true;
    this.apply(this.sync.peerClosed(id, this.now));
  }

  private nextAckAt = 0;

  /** Run until every block up to the tip is delivered, or `maxMs` of simulated time passed. */
  run(maxMs: number, until = () => this.delivered.length > 0 && this.delivered[this.delivered.length - 1] === this.chain.best.height): void {
    const stepMs = 100;
    const end = this.now + maxMs;
    while (this.now < end && !until()) {
      this.now += stepMs;
      for (const p of this.peers.values()) this.serve(p, stepMs);
      if (this.now % 1000 === 0) this.apply(this.sync.tick(this.now));
      this.consume();
    }
  }

  private consume(): void {
    for (;;) {
      const next = this.sync.nextToDeliver();
      if (!next || this.now < this.nextAckAt) return;
      this.delivered.push(next.height);
      this.nextAckAt = this.now + this.consumerDelayMs;
      this.apply(this.sync.setCursor(next.height, this.now));
      if (this.consumerDelayMs > 0) return;
    }
  }

  private serve(p: SimPeer, stepMs: number): void {
    if (p.closed || p.paused) return;
    const b = p.behaviour;
    if (b.kind === 'silent') return;
    let budget = (b.bytesPerSecond * stepMs) / 1000;
    while (budget > 0 && p.queue.length > 0 && !p.closed) {
      const asked = p.queue[0]!;
      if (p.holds && !p.holds.has(asked.toString('hex')) && !p.started) {
        p.queue.shift();
        if (p.missing === 'notfound') {
          this.notFounds.push({ t: this.now, peer: p.id, hash: asked, logIndex: this.log.length });
          this.apply(this.sync.notFound(p.id, asked, this.now));
        }
        continue;
      }
      const height = this.heightFor(asked);
      const size = this.sizeOf(Math.max(0, height));
      if (!p.started) {
        p.started = true;
        const sentHash = b.kind === 'wrong-block' ? this.chain.atHeight((height + 7) % this.chain.entries.length)!.hash : asked;
        this.apply(this.sync.blockStarted(p.id, sentHash, this.now));
        if (p.closed) return;
      }
      const n = Math.min(budget, size - p.sent);
      p.sent += n;
      p.bytes += n;
      budget -= n;
      this.sync.progress(p.id, p.bytes, this.now);
      if (b.kind === 'disconnect-mid-block' && p.sent >= b.afterBytes) {
        this.close(p.id);
        return;
      }
      if (p.sent >= size) {
        p.queue.shift();
        p.sent = 0;
        p.started = false;
        const verdict = b.kind === 'bad-merkle' ? ({ ok: false, reason: 'bad-merkle-root' } as const) : ({ ok: true, bytes: size } as const);
        const r = this.sync.blockCompleted(p.id, asked, verdict, this.now);
        this.apply(r.outputs);
      }
    }
    if (p.queue.length > 0) this.sync.progress(p.id, p.bytes, this.now);
  }

  /** Outputs of a type, with their times. */
  outputs<T extends BlockSyncOutput['type']>(type: T): { t: number; output: Extract<BlockSyncOutput, { type: T }> }[] {
    return this.log.filter((l) => l.output.type === type) as { t: number; output: Extract<BlockSyncOutput, { type: T }> }[];
  }
}

// BlockSync: which blocks of the best header chain to ask which peer for, how much may be in flight,
// and what to do with peers that stall or lie. A sans-IO core like header-sync.ts: peer events, block
// progress and time go in; getdata, scores and disconnects come out. The shell (block-follower.ts)
// carries them to a Manager, spools the blocks on disk and hands them to the app in chain order.
import type { HeaderEntry } from './types.js';

/** Bitcoin Core's BLOCK_DOWNLOAD_WINDOW: how far past the cursor blocks are fetched. */
export const DEFAULT_BLOCK_WINDOW = 1024;
/** Bitcoin Core's MAX_BLOCKS_IN_TRANSIT_PER_PEER. */
export const DEFAULT_MAX_BLOCKS_PER_PEER = 16;
/** The BSV node's bandwidth floor for a stalling peer (bytes/s). */
export const DEFAULT_BANDWIDTH_FLOOR = 100_000;
/**
 * How long a peer's front request may run below the floor before its blocks go elsewhere. The node's
 * window is 10 s; 9 s plus a 1 s tick keeps the re-request within 10 s of the getdata.
 */
export const DEFAULT_STALL_WINDOW_MS = 9_000;
/** After this long in flight a block is asked of one more peer (the node: 30 s, up to 3 peers). */
export const DEFAULT_SLOW_BLOCK_MS = 30_000;
export const DEFAULT_MAX_SOURCES = 3;
/** What a block of unknown size is assumed to weigh before any block completed (headers carry no size). */
export const DEFAULT_INITIAL_BLOCK_ESTIMATE = 1_000_000;
/** Bytes on disk (spooled plus the estimate of what is in flight) past which getdata pauses. */
export const DEFAULT_SPOOL_BUDGET = 512 * 1024 * 1024;
/** A peer may always have this many estimated bytes outstanding, whatever its measured rate. */
export const DEFAULT_MIN_PEER_BYTES = 8 * 1024 * 1024;
/** A peer's byte allowance is its measured rate times this (enough to keep its pipe full between ticks). */
export const DEFAULT_PEER_BYTES_SECONDS = 10;
const NODE_NETWORK = 1n;
const RECENT_SIZES = 16;

/** Points given for a block that does not match (the node: 100 for a bad merkle root). */
export const BLOCK_SYNC_POINTS = {
  'bad-merkle-root': 100,
  'bad-checksum': 100,
  /** Not a node rule: answering a getdata with a block we did not ask this peer for. */
  'unrequested-block': 20,
} as const;
const BAN_SCORE = 100;

/** What the core needs of the header tree (HeaderTree provides it). */
export interface BlockChain {
  readonly best: HeaderEntry;
  atHeight(height: number): HeaderEntry | undefined;
  get(hash: Buffer): HeaderEntry | undefined;
  /** Height of the last header the branch ending at `hash` shares with the best chain (its own when on it); undefined if unknown. */
  commonHeight(hash: Buffer): number | undefined;
}

export interface BlockSyncOptions {
  readonly chain: BlockChain;
  /** The height of the last block the app acknowledged (the start height minus one). */
  readonly cursorHeight: number;
  readonly windowBlocks?: number;
  readonly maxBlocksPerPeer?: number;
  readonly bandwidthFloor?: number;
  readonly stallWindowMs?: number;
  readonly slowBlockMs?: number;
  readonly maxSources?: number;
  readonly initialBlockEstimate?: number;
  readonly spoolBudget?: number;
  readonly minPeerBytes?: number;
  /** Stop fetching above this height (default: follow the tip). */
  readonly stopHeight?: number;
}

export interface BlockPeerInfo {
  readonly services?: bigint;
  /** The height it claimed in version: says nothing of the branch, so it stands in only until a header of the peer is known. */
  readonly height: number;
}

export type BlockSyncOutput =
  | { readonly type: 'getdata'; readonly peer: string; readonly hashes: Buffer[] }
  | { readonly type: 'misbehavior'; readonly peer: string; readonly points: number; readonly reason: string; readonly score: number }
  | { readonly type: 'disconnect'; readonly peer: string; readonly reason: string; readonly ban: boolean }
  /** Informative: these blocks were asked of another peer (stall, slow block, failure, disconnect). */
  | { readonly type: 'rerequest'; readonly hash: Buffer; readonly from: string | undefined; readonly to: string; readonly reason: string }
  /** The shell drops this copy of a block (a duplicate from a parallel fetch, or a block no longer on the best chain). */
  | { readonly type: 'discard'; readonly hash: Buffer };

export type BlockOutcome = { readonly ok: true; readonly bytes: number } | { readonly ok: false; readonly reason: 'bad-merkle-root' | 'bad-checksum' };

interface Request {
  readonly key: string;
  readonly hash: Buffer;
  readonly at: number;
}

interface PeerState {
  readonly id: string;
  readonly info: BlockPeerInfo;
  /** The height it claimed (version, peerHeight); used only while bestKnown is undefined. */
  claimed: number;
  /** The most-work header it is known to have (headers or inv it sent, a block it delivered): Core's pindexBestKnownBlock. */
  bestKnown: HeaderEntry | undefined;
  /** A block it announced whose header we lack yet (Core's hashLastUnknownBlock): taken up once the header arrives. */
  unknownBest: Buffer | undefined;
  /** Last height of our best chain that bestKnown's branch holds, and the chain (best tip hex) it was worked out for. */
  common: number;
  commonFor: string;
  /** It answered notfound for our best chain's block at this height: it lacks that branch from there (until it shows a new header). */
  missingFrom: number;
  /** Requests in the order sent: a peer serves getdata in order, so the first is the one arriving. */
  readonly queue: Request[];
  /** When the front request started to be served (its request, or the completion of the one before). */
  frontSince: number;
  /** (time, cumulative bytes received from this peer), oldest first, for the bandwidth floor. */
  readonly samples: { t: number; bytes: number }[];
  bytes: number;
  /** Measured delivery rate of whole blocks (bytes/s), 0 until one completed. */
  rate: number;
  score: number;
  /** The stall of this front request was reported already (only peer left: kept, but not re-reported). */
  stallReported: string | undefined;
  /** How many of our own pauses of its socket (disk behind) are in force: while any is, it cannot be blamed. */
  holds: number;
  /** When our last pause of it ended: the stall window starts again from there. */
  releasedAt: number;
}

interface BlockState {
  readonly key: string;
  readonly hash: Buffer;
  readonly height: number;
  /** Peers asked, in order. */
  readonly sources: string[];
  /** Peers that failed it (bad data, notfound, stalled): never asked again for it. */
  readonly excluded: Set<string>;
  firstRequestedAt: number;
  /** Its size once complete. */
  done: number | undefined;
  /** Why and from whom it last lost a source (reported with the re-request). */
  lostReason: string | undefined;
  lostFrom: string | undefined;
}

const hex = (h: Buffer): string => h.toString('hex');

export class BlockSync {
  private readonly chain: BlockChain;
  private readonly peers = new Map<string, PeerState>();
  private readonly blocks = new Map<string, BlockState>();
  private cursor: number;
  private estimate: number;
  /** Sizes of the last completed blocks: their mean is the estimate for blocks not yet complete. */
  private readonly recentSizes: number[] = [];
  private readonly o: Required<Omit<BlockSyncOptions, 'chain' | 'cursorHeight' | 'stopHeight'>> & { stopHeight: number };

  constructor(options: BlockSyncOptions) {
    this.chain = options.chain;
    this.cursor = options.cursorHeight;
    this.o = {
      windowBlocks: options.windowBlocks ?? DEFAULT_BLOCK_WINDOW,
      maxBlocksPerPeer: options.maxBlocksPerPeer ?? DEFAULT_MAX_BLOCKS_PER_PEER,
      bandwidthFloor: options.bandwidthFloor ?? DEFAULT_BANDWIDTH_FLOOR,
      stallWindowMs: options.stallWindowMs ?? DEFAULT_STALL_WINDOW_MS,
      slowBlockMs: options.slowBlockMs ?? DEFAULT_SLOW_BLOCK_MS,
      maxSources: options.maxSources ?? DEFAULT_MAX_SOURCES,
      initialBlockEstimate: options.initialBlockEstimate ?? DEFAULT_INITIAL_BLOCK_ESTIMATE,
      spoolBudget: options.spoolBudget ?? DEFAULT_SPOOL_BUDGET,
      minPeerBytes: options.minPeerBytes ?? DEFAULT_MIN_PEER_BYTES,
      stopHeight: options.stopHeight ?? Infinity,
    };
    this.estimate = this.o.initialBlockEstimate;
  }

  /** The last acknowledged height. */
  get cursorHeight(): number {
    return this.cursor;
  }

  /** The size assumed for a block not yet complete: the mean of the last 16 completed blocks (bytes). */
  get blockEstimate(): number {
    return this.estimate;
  }

  /** Spooled bytes (complete, not yet acknowledged) plus the estimate of the bytes in flight. */
  get spoolUsed(): number {
    let used = 0;
    for (const b of this.blocks.values()) used += b.done ?? this.estimate * b.sources.length;
    return used;
  }

  inFlight(peer: string): readonly Buffer[] {
    return this.peers.get(peer)?.queue.map((r) => r.hash) ?? [];
  }

  peerReady(peer: string, info: BlockPeerInfo, now: number): BlockSyncOutput[] {
    if (this.peers.has(peer)) return [];
    // Only full nodes serve old blocks.
    if (info.services !== undefined && (info.services & NODE_NETWORK) === 0n) return [];
    this.peers.set(peer, {
      id: peer, info, claimed: info.height, bestKnown: undefined, unknownBest: undefined, common: -1, commonFor: '', missingFrom: Infinity,
      queue: [], frontSince: now, samples: [{ t: now, bytes: 0 }], bytes: 0, rate: 0, score: 0, stallReported: undefined,
      holds: 0, releasedAt: -Infinity,
    });
    return this.schedule(now);
  }

  peerClosed(peer: string, now: number): BlockSyncOutput[] {
    const out: BlockSyncOutput[] = [];
    this.drop(peer, 'disconnected');
    out.push(...this.schedule(now));
    return out;
  }

  /**
   * The peer claims blocks up to this height without showing which branch: like its version start height, this
   * stands in only while none of its headers is known. Prefer peerHas.
   */
  peerHeight(peer: string, height: number, now: number): BlockSyncOutput[] {
    const p = this.peers.get(peer);
    if (!p || height <= p.claimed) return [];
    p.claimed = height;
    return p.bestKnown ? [] : this.schedule(now);
  }

  /**
   * The peer showed it has this block or header (the last header of a `headers` message, a block hash in an
   * `inv`): it holds that header's whole branch. Blocks of our best chain are asked only of peers whose best
   * known header is that block or a descendant of it, as Bitcoin Core does with pindexBestKnownBlock.
   */
  peerHas(peer: string, hash: Buffer, now: number): BlockSyncOutput[] {
    const p = this.peers.get(peer);
    if (!p || !this.learn(p, hash)) return [];
    return this.schedule(now);
  }

  /**
   * The peer answered our getheaders (whose locator starts at our tip) with no headers: its tip is a block of our
   * best chain, so it holds our chain up to its claimed height. (A peer on another branch sends that branch.)
   */
  peerNothingNewer(peer: string, now: number): BlockSyncOutput[] {
    const p = this.peers.get(peer);
    const e = p && this.chain.atHeight(Math.min(p.claimed, this.chain.best.height));
    if (!p || !e || !this.learn(p, e.hash)) return [];
    return this.schedule(now);
  }

  /** Cumulative bytes received from the peer (socket bytes: progress inside a big transaction counts too). */
  progress(peer: string, totalBytes: number, now: number): void {
    const p = this.peers.get(peer);
    if (!p || totalBytes < p.bytes) return;
    p.bytes = totalBytes;
    const last = p.samples[p.samples.length - 1];
    if (last && now - last.t < 200) last.bytes = totalBytes;
    else p.samples.push({ t: now, bytes: totalBytes });
    // Keep what the floor looks back at, and one sample before it.
    const horizon = now - this.o.stallWindowMs - 1000;
    while (p.samples.length > 2 && p.samples[1]!.t <= horizon) p.samples.shift();
  }

  /**
   * We stopped reading from the peer (our spool's disk is behind): until `peerReleased`, the time and the
   * missing bytes are ours, not its, so the stall rule leaves it alone and measures afresh afterwards.
   */
  peerHeld(peer: string): void {
    const p = this.peers.get(peer);
    if (p) p.holds++;
  }

  peerReleased(peer: string, now: number): void {
    const p = this.peers.get(peer);
    if (!p || p.holds === 0) return;
    p.holds--;
    if (p.holds === 0) p.releasedAt = now;
  }

  /** A block's header arrived from the peer: it must be one we asked it for. */
  blockStarted(peer: string, hash: Buffer, now: number): BlockSyncOutput[] {
    const p = this.peers.get(peer);
    if (!p) return [];
    if (p.queue.some((r) => r.hash.equals(hash))) return [];
    // A peer that owes us nothing may be serving someone else's getdata on the same connection (an app's
    // getBlock): only a block in place of one we asked for is a lie.
    if (p.queue.length === 0) return [];
    const out: BlockSyncOutput[] = [];
    this.punish(p, 'unrequested-block', out);
    out.push(...this.schedule(now));
    return out;
  }

  /**
   * The peer has no such block (notfound): ask another at once, without blame. A peer lacking our best chain's
   * block at a height lacks every block of that branch above it too, so it is not asked for those either
   * until it shows a new best header.
   */
  notFound(peer: string, hash: Buffer, now: number): BlockSyncOutput[] {
    const p = this.peers.get(peer);
    const key = hex(hash);
    if (!p) return [];
    this.unqueue(p, key, now);
    const b = this.blocks.get(key);
    if (b) {
      b.excluded.add(peer);
      remove(b.sources, peer);
      if (b.sources.length === 0 && b.done === undefined) b.firstRequestedAt = Infinity;
      b.lostReason = 'notfound';
      b.lostFrom = peer;
      p.missingFrom = Math.min(p.missingFrom, b.height);
    }
    return this.schedule(now);
  }

  /**
   * The block ended (blockEnd). A good one is kept unless another copy won already (`discard`); a bad
   * one costs the peer its score and connection, and the block is asked elsewhere.
   * Returns whether the shell keeps this copy.
   */
  blockCompleted(peer: string, hash: Buffer, verdict: BlockOutcome, now: number): { keep: boolean; outputs: BlockSyncOutput[] } {
    const out: BlockSyncOutput[] = [];
    const key = hex(hash);
    const p = this.peers.get(peer);
    const b = this.blocks.get(key);
    if (p) {
      const req = p.queue.find((r) => r.key === key);
      if (req && p.queue[0] === req && verdict.ok) {
        const took = Math.max(1, now - p.frontSince);
        const rate = (verdict.bytes * 1000) / took;
        p.rate = p.rate === 0 ? rate : 0.7 * p.rate + 0.3 * rate;
      }
      this.unqueue(p, key, now);
    }
    if (!verdict.ok) {
      if (b) {
        b.excluded.add(peer);
        remove(b.sources, peer);
      }
      if (p) this.punish(p, verdict.reason, out);
      out.push(...this.schedule(now));
      return { keep: false, outputs: out };
    }
    // A peer that delivered a block has its branch (raising a best known header; for a peer known only by its
    // claim, one block says less than the claim).
    if (p?.bestKnown) this.learn(p, hash);
    let keep = false;
    if (b && b.done === undefined) {
      b.done = verdict.bytes;
      keep = true;
      this.recentSizes.push(verdict.bytes);
      if (this.recentSizes.length > RECENT_SIZES) this.recentSizes.shift();
      this.estimate = Math.max(1, Math.round(this.recentSizes.reduce((a, b) => a + b, 0) / this.recentSizes.length));
    }
    if (p) out.push(...this.schedule(now));
    return { keep, outputs: out };
  }

  /** Whether a copy of this block is still wanted (tracked and not complete). */
  wants(hash: Buffer): boolean {
    const b = this.blocks.get(hex(hash));
    return b !== undefined && b.done === undefined;
  }

  /** A complete block's copy was lost (the spool failed): fetch it again. */
  unspool(hash: Buffer, now: number): BlockSyncOutput[] {
    const b = this.blocks.get(hex(hash));
    if (!b || b.done === undefined) return [];
    b.done = undefined;
    b.sources.length = 0;
    b.firstRequestedAt = Infinity;
    return this.schedule(now);
  }

  /** The block at cursor + 1, complete and waiting for delivery. */
  nextToDeliver(): HeaderEntry | undefined {
    const e = this.chain.atHeight(this.cursor + 1);
    if (!e) return undefined;
    const b = this.blocks.get(hex(e.hash));
    return b?.done !== undefined ? e : undefined;
  }

  /** The app acknowledged (or a reorg rewound to) this height: blocks at or below it leave the spool. */
  setCursor(height: number, now: number): BlockSyncOutput[] {
    this.cursor = height;
    const out: BlockSyncOutput[] = [];
    for (const [key, b] of this.blocks) {
      if (b.height <= height && (b.done !== undefined || b.sources.length === 0)) this.blocks.delete(key);
    }
    out.push(...this.schedule(now));
    return out;
  }

  /** The best chain changed (new tip or reorg): blocks no longer on it are dropped, new ones fetched. */
  chainChanged(now: number): BlockSyncOutput[] {
    const out: BlockSyncOutput[] = [];
    for (const [key, b] of this.blocks) {
      const e = this.chain.atHeight(b.height);
      if (e && hex(e.hash) === key) continue;
      this.blocks.delete(key);
      // In-flight requests stay in their peers' queues (the peer will still send them); the copy is dropped.
      if (b.done !== undefined) out.push({ type: 'discard', hash: b.hash });
    }
    out.push(...this.schedule(now));
    return out;
  }

  /** Stall and slow-block rules, then fill the window. Call about every second. */
  tick(now: number): BlockSyncOutput[] {
    const out: BlockSyncOutput[] = [];
    const floorBytes = (this.o.bandwidthFloor * this.o.stallWindowMs) / 1000;
    for (const p of [...this.peers.values()]) {
      const front = p.queue[0];
      if (!front || p.holds > 0) continue;
      const since = Math.max(p.frontSince, p.releasedAt);
      if (now - since < this.o.stallWindowMs) continue;
      const got = p.bytes - this.bytesAt(p, Math.max(since, now - this.o.stallWindowMs));
      if (got >= floorBytes) continue;
      // Below the floor for the whole window: this peer's own slowness (it is measured only while it
      // owes us a block, and a block we asked of it is all it has to send).
      const others = [...this.peers.values()].some((q) => q !== p);
      if (others) {
        out.push({ type: 'disconnect', peer: p.id, reason: 'block-stall', ban: false });
        this.drop(p.id, 'block-stall', true);
      } else if (p.stallReported !== front.key) {
        p.stallReported = front.key;
      }
    }
    // A block in flight too long gets one more source (up to maxSources), however healthy its peer looks.
    for (const b of this.blocks.values()) {
      if (b.done !== undefined || b.sources.length === 0) continue;
      if (b.sources.length >= this.o.maxSources) continue;
      if (now - b.firstRequestedAt < this.o.slowBlockMs * b.sources.length) continue;
      const to = this.pickPeer(b, false);
      if (!to) continue;
      this.assign(b, to, now, out);
      out.push({ type: 'rerequest', hash: b.hash, from: b.sources[0], to: to.id, reason: 'slow-block' });
    }
    out.push(...this.schedule(now));
    return coalesce(out);
  }

  private bytesAt(p: PeerState, t: number): number {
    let v = p.samples[0]?.bytes ?? 0;
    for (const s of p.samples) {
      if (s.t <= t) v = s.bytes;
      else break;
    }
    return v;
  }

  private unqueue(p: PeerState, key: string, now: number): void {
    const i = p.queue.findIndex((r) => r.key === key);
    if (i < 0) return;
    p.queue.splice(i, 1);
    if (i === 0) {
      p.frontSince = now;
      p.stallReported = undefined;
    }
  }

  private punish(p: PeerState, reason: keyof typeof BLOCK_SYNC_POINTS, out: BlockSyncOutput[]): void {
    const points = BLOCK_SYNC_POINTS[reason];
    p.score += points;
    out.push({ type: 'misbehavior', peer: p.id, points, reason, score: p.score });
    out.push({ type: 'disconnect', peer: p.id, reason, ban: p.score >= BAN_SCORE });
    this.drop(p.id, reason, true);
  }

  /** Forget a peer; its blocks lose it as a source (and never get it back when it failed them). */
  private drop(peer: string, reason: string, blame = false): void {
    const p = this.peers.get(peer);
    if (!p) return;
    this.peers.delete(peer);
    for (const r of p.queue) {
      const b = this.blocks.get(r.key);
      if (!b) continue;
      remove(b.sources, peer);
      if (blame) b.excluded.add(peer);
      if (b.done === undefined) b.firstRequestedAt = Infinity;
      b.lostReason = reason;
      b.lostFrom = peer;
    }
  }

  private capacity(p: PeerState): boolean {
    if (p.queue.length >= this.o.maxBlocksPerPeer) return false;
    if (p.queue.length === 0) return true;
    const allowance = Math.max(this.o.minPeerBytes, p.rate * DEFAULT_PEER_BYTES_SECONDS);
    return (p.queue.length + 1) * this.estimate <= allowance;
  }

  /** The peer's best known header: the most work of what it showed (Core takes >=, so a later equal-work sibling wins). */
  private learn(p: PeerState, hash: Buffer): boolean {
    const e = this.chain.get(hash);
    if (!e) {
      p.unknownBest = hash;
      return false;
    }
    if (p.unknownBest?.equals(hash)) p.unknownBest = undefined;
    if (p.bestKnown && (p.bestKnown.hash.equals(e.hash) || e.chainWork < p.bestKnown.chainWork)) return false;
    p.bestKnown = e;
    p.commonFor = '';
    p.missingFrom = Infinity;
    return true;
  }

  /**
   * How surely the peer has our best chain's block at this height: 2 its best known header is that block or a
   * descendant; 1 it showed no header yet and claimed (version) at least this height, no higher than our tip
   * (a higher claim is of headers we lack, maybe another branch: wait for them); 0 it does not have it.
   * A claim says nothing of the branch, so pickPeer uses 1 only where no peer's known branch holds the block.
   */
  private holds(p: PeerState, height: number, bestHex: string): 0 | 1 | 2 {
    if (height >= p.missingFrom) return 0;
    if (p.bestKnown) {
      if (p.commonFor !== bestHex) {
        p.common = this.chain.commonHeight(p.bestKnown.hash) ?? -1;
        p.commonFor = bestHex;
      }
      return height <= p.common ? 2 : 0;
    }
    return height <= p.claimed && p.claimed <= this.chain.best.height ? 1 : 0;
  }

  private pickPeer(b: BlockState, requireCapacity = true): PeerState | undefined {
    let best: PeerState | undefined;
    let bestHolds = 0;
    let knownHolder = false;
    const bestHex = hex(this.chain.best.hash);
    for (const p of this.peers.values()) {
      if (b.excluded.has(p.id)) continue;
      // Only a peer that has the block is asked: one without it would let the request wait out the stall rule.
      const holds = this.holds(p, b.height, bestHex);
      if (holds === 2) knownHolder = true;
      if (holds === 0 || b.sources.includes(p.id)) continue;
      if (requireCapacity && !this.capacity(p)) continue;
      if (!requireCapacity && p.queue.length >= this.o.maxBlocksPerPeer) continue;
      // Prefer peers whose branch is known, then the least loaded, then the faster.
      if (!best || holds > bestHolds || (holds === bestHolds && (p.queue.length < best.queue.length || (p.queue.length === best.queue.length && p.rate > best.rate)))) {
        best = p;
        bestHolds = holds;
      }
    }
    // A peer known only by its claim may be on a fork whose headers are still on the way: it is the last resort.
    return bestHolds === 1 && knownHolder ? undefined : best;
  }

  private assign(b: BlockState, p: PeerState, now: number, out: BlockSyncOutput[]): void {
    if (p.queue.length === 0) {
      p.frontSince = now;
      p.stallReported = undefined;
    }
    p.queue.push({ key: b.key, hash: b.hash, at: now });
    b.sources.push(p.id);
    if (b.firstRequestedAt === Infinity) b.firstRequestedAt = now;
    out.push({ type: 'getdata', peer: p.id, hashes: [b.hash] });
  }

  private schedule(now: number): BlockSyncOutput[] {
    const out: BlockSyncOutput[] = [];
    if (this.peers.size === 0) return out;
    for (const p of this.peers.values()) if (p.unknownBest) this.learn(p, p.unknownBest);
    const top = Math.min(this.chain.best.height, this.cursor + this.o.windowBlocks, this.o.stopHeight);
    let used = this.spoolUsed;
    for (let h = this.cursor + 1; h <= top; h++) {
      const e = this.chain.atHeight(h);
      if (!e) break;
      const key = hex(e.hash);
      let b = this.blocks.get(key);
      if (b && (b.done !== undefined || b.sources.length > 0)) continue;
      // Past the budget only the block the app waits for is fetched, so delivery never deadlocks.
      if (h !== this.cursor + 1 && used + this.estimate > this.o.spoolBudget) break;
      if (!b) {
        b = { key, hash: e.hash, height: h, sources: [], excluded: new Set(), firstRequestedAt: Infinity, done: undefined, lostReason: undefined, lostFrom: undefined };
        this.blocks.set(key, b);
      }
      let p = this.pickPeer(b);
      if (!p && b.excluded.size > 0 && [...this.peers.keys()].every((id) => b!.excluded.has(id))) {
        // Every peer we have failed this block: forgive notfound/stall history rather than stop forever.
        b.excluded.clear();
        p = this.pickPeer(b);
      }
      if (!p) continue;
      const reason = b.lostReason;
      this.assign(b, p, now, out);
      if (reason) out.push({ type: 'rerequest', hash: b.hash, from: b.lostFrom, to: p.id, reason });
      b.lostReason = undefined;
      used += this.estimate;
    }
    return coalesce(out);
  }
}

function remove(list: string[], item: string): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

/** One getdata per peer, hashes in request order; other outputs keep their place. */
function coalesce(out: BlockSyncOutput[]): BlockSyncOutput[] {
  const merged: BlockSyncOutput[] = [];
  const byPeer = new Map<string, Buffer[]>();
  for (const o of out) {
    if (o.type !== 'getdata') {
      merged.push(o);
      continue;
    }
    const list = byPeer.get(o.peer);
    if (list) list.push(...o.hashes);
    else {
      const hashes = [...o.hashes];
      byPeer.set(o.peer, hashes);
      merged.push({ type: 'getdata', peer: o.peer, hashes });
    }
  }
  return merged;
}

// HeaderSync: which headers to ask which peer for, what to make of what they send, and when a peer is
// useless or hostile. A sans-IO core like peer/protocol.ts: peer events and time go in, requests,
// scores and disconnects come out, chain events are emitted. The shell (header-follower.ts) ties it to
// a Manager and a timer.
import { EventEmitter } from 'eventemitter3';
import type { BlockHeader } from '../messages/block-header.js';
import { sha256d } from '../hash.js';
import { isHeadersReply } from '../peer/headers-reply.js';
import type { ChainView, HeaderEntry, Reorg } from './types.js';
import { emitSafely } from './run-core.js';

/** How the drop of a peer that missed the getheaders deadline begins (metrics count header stalls by it). */
export const HEADERS_STALL_REASON = 'no headers reply';
/** The node's MAX_HEADERS_RESULTS: a reply this long means "there is more, ask again". */
export const MAX_HEADERS_RESULTS = 2000;
/** The node's MAX_BLOCKS_TO_ANNOUNCE: shorter unconnecting messages are announcements, answered with getheaders. */
export const MAX_BLOCKS_TO_ANNOUNCE = 8;
/** The node's MAX_UNCONNECTING_HEADERS: every this many unconnecting announcements cost 20 points. */
export const MAX_UNCONNECTING_HEADERS = 10;
/**
 * How long a peer has to answer getheaders. The BSV node has no such timeout and Bitcoin Core allows
 * 15 minutes; 30 s plus one tick keeps a silent sync peer's replacement under 35 s.
 */
export const DEFAULT_HEADERS_RESPONSE_TIMEOUT_MS = 30_000;
/** Announced block hashes remembered per peer until it serves their headers. */
const MAX_PENDING_ANNOUNCEMENTS = 64;
const BAN_SCORE = 100;

/** Points, as the node gives them (PROTOCOL.md §7.3). */
export const HEADER_SYNC_POINTS = {
  'non-continuous-headers': 20,
  'unconnecting-headers': 20,
  /** The node's nDoS for a header whose parent it does not have, in a message too long to be an announcement. */
  'prev-blk-not-found': 10,
  /** Not a node rule: a peer that claims a height or block and then does not serve it. */
  'unserved-claim': 20,
} as const;

/** What the core needs of the header tree (lib/chain/header-tree.ts's HeaderTree provides it). */
export interface SyncTree {
  readonly best: HeaderEntry;
  get(hash: Buffer): HeaderEntry | undefined;
  has(hash: Buffer): boolean;
  /** The branch ending at this entry, for the consensus rules. */
  view(tip?: HeaderEntry): ChainView;
  path(from: HeaderEntry, to: HeaderEntry): Reorg;
  locator(from?: HeaderEntry): Buffer[];
}

/** A header refused by the consensus rules. */
export interface HeaderRefusal {
  readonly reason: string;
  /** Misbehaviour points, as the node gives them for this reason. */
  readonly misbehavior: number;
}

export interface HeaderSyncOptions {
  readonly tree: SyncTree;
  /** The consensus rules for a header on top of `parent` (lib/chain/rules.ts's checkHeader, bound to its params). */
  readonly check: (header: BlockHeader, hash: Buffer, parent: ChainView, nowSeconds: number) => HeaderRefusal | undefined;
  /** Puts a checked header into the tree (and the store, when there is one); the parent is in the tree. */
  readonly insert: (header: BlockHeader, hash: Buffer) => HeaderEntry;
  /** Called once after each batch was inserted and before its events: a store writes the batch in one go here. */
  readonly afterBatch?: () => void;
  readonly responseTimeoutMs?: number;
}

export interface SyncPeerInfo {
  /** The height the peer claimed in its version message. */
  readonly startHeight: number;
  readonly services?: bigint;
  readonly version?: number;
}

export type HeaderSyncOutput =
  | { readonly type: 'getheaders'; readonly peer: string; readonly locator: Buffer[]; readonly stop: Buffer }
  | { readonly type: 'sendheaders'; readonly peer: string }
  | { readonly type: 'misbehavior'; readonly peer: string; readonly points: number; readonly reason: string; readonly score: number }
  /** Drop the peer (the Manager then fills its slot with another); `ban` once its score reached 100. */
  | { readonly type: 'disconnect'; readonly peer: string; readonly reason: string; readonly ban: boolean };

export interface HeaderSyncEvents {
  /** A header joined the best chain (ordinary progress, and each header of a reorg's new branch after the reorg). */
  header: (entry: HeaderEntry) => void;
  /** The best chain has a new tip (once per batch). */
  tip: (entry: HeaderEntry) => void;
  /** The best chain switched branch; delivered before any header or tip event of the new branch. */
  reorg: (reorg: Reorg) => void;
  /** The initial download reached the sync peer's tip: from now on every peer's announcements are followed. */
  synced: (tip: HeaderEntry) => void;
  /** Persisting a batch failed (afterBatch threw); the headers stay in the tree. */
  storeError: (error: unknown) => void;
  /** A listener threw; the core carries on. */
  listenerError: (error: unknown) => void;
}

interface PendingRequest {
  readonly sentAt: number;
  readonly seq: number;
  /** Hex of the locator hashes: a reply starts on one of them. */
  readonly locator: ReadonlySet<string>;
  /** Sent when the peer had claimed nothing past our best: silence may just mean "nothing newer" (bcash). */
  readonly atTip: boolean;
}

interface PeerSync {
  readonly id: string;
  /** The highest height the peer claimed (version) or showed (headers it sent). */
  claimedHeight: number;
  /** The highest height of a header we know the peer has. */
  servedHeight: number;
  request: PendingRequest | undefined;
  /** Another request is due once the one in flight is answered (an announcement arrived meanwhile). */
  askAgain: boolean;
  unconnecting: number;
  score: number;
  /** Announced block hashes (hex) not yet in the tree -> the first request sent after the announcement. */
  readonly announced: Map<string, number>;
  sentSendheaders: boolean;
}

const ZERO_HASH = Buffer.alloc(32);
const headerScratch = Buffer.alloc(80);

/** A header's hash (wire order), serialised into one reused buffer: the sync hashes every header it is sent. */
function headerHash(h: BlockHeader): Buffer {
  headerScratch.writeInt32LE(h.version, 0);
  // set(), not copy(): the same bytes without Buffer.copy's argument handling, a million times over.
  headerScratch.set(h.prevBlock.length === 32 ? h.prevBlock : h.prevBlock.subarray(0, 32), 4);
  headerScratch.set(h.merkleRoot.length === 32 ? h.merkleRoot : h.merkleRoot.subarray(0, 32), 36);
  headerScratch.writeUInt32LE(h.timestamp, 68);
  headerScratch.writeUInt32LE(h.bits, 72);
  headerScratch.writeUInt32LE(h.nonce, 76);
  return sha256d(headerScratch);
}

/**
 * Headers-first sync from one peer, then every peer's announcements; the best chain is the one with
 * the most work, whichever peer brought it. Every request has a deadline that never switches off.
 */
export class HeaderSync extends EventEmitter<HeaderSyncEvents> {
  private readonly tree: SyncTree;
  private readonly check: HeaderSyncOptions['check'];
  private readonly insertHeader: HeaderSyncOptions['insert'];
  private readonly afterBatch: (() => void) | undefined;
  private readonly responseTimeoutMs: number;
  private readonly peers = new Map<string, PeerSync>();
  private syncPeer: string | undefined;
  private following = false;
  private requestSeq = 0;
  private out: HeaderSyncOutput[] = [];

  constructor(options: HeaderSyncOptions) {
    super();
    this.tree = options.tree;
    this.check = options.check;
    this.insertHeader = options.insert;
    this.afterBatch = options.afterBatch;
    this.responseTimeoutMs = options.responseTimeoutMs ?? DEFAULT_HEADERS_RESPONSE_TIMEOUT_MS;
  }

  /** True once the initial download caught up with a sync peer. */
  get synced(): boolean {
    return this.following;
  }
  get best(): HeaderEntry {
    return this.tree.best;
  }
  /** The peer the initial download asks, if any. */
  get currentSyncPeer(): string | undefined {
    return this.syncPeer;
  }
  /** The highest height a peer claimed (version) or showed (headers it sent); -1 without peers. For the headers lag metric. */
  get bestPeerHeight(): number {
    let best = -1;
    for (const peer of this.peers.values()) best = Math.max(best, peer.claimedHeight);
    return best;
  }
  peerScore(id: string): number | undefined {
    return this.peers.get(id)?.score;
  }

  /** A peer finished its handshake. */
  peerReady(id: string, info: SyncPeerInfo, now: number): HeaderSyncOutput[] {
    if (!this.peers.has(id)) {
      this.peers.set(id, {
        id,
        claimedHeight: Math.max(0, info.startHeight),
        servedHeight: -1,
        request: undefined,
        askAgain: false,
        unconnecting: 0,
        score: 0,
        announced: new Map(),
        sentSendheaders: false,
      });
      if (this.following) {
        const peer = this.peers.get(id)!;
        this.sendSendheaders(peer);
        // One catch-up ask per new peer: it may be on another branch at the same height.
        this.request(peer, now);
      }
    }
    this.advance(now);
    return this.flush();
  }

  /** A peer went away (or was dropped): forget it and pick another sync peer if needed. */
  peerClosed(id: string, now: number): HeaderSyncOutput[] {
    this.forget(id);
    this.advance(now);
    return this.flush();
  }

  /** A `headers` message from a peer: a reply to our getheaders, or an announcement. */
  headers(id: string, headers: readonly BlockHeader[], now: number): HeaderSyncOutput[] {
    const peer = this.peers.get(id);
    if (!peer) return this.flush();
    this.onHeaders(peer, headers, now);
    this.advance(now);
    return this.flush();
  }

  /** Block hashes a peer announced by `inv`. */
  blockInv(id: string, hashes: readonly Buffer[], now: number): HeaderSyncOutput[] {
    const peer = this.peers.get(id);
    if (!peer) return this.flush();
    let unknown = false;
    for (const hash of hashes) {
      if (this.tree.has(hash)) continue;
      unknown = true;
      const key = hash.toString('hex');
      if (!peer.announced.has(key) && peer.announced.size >= MAX_PENDING_ANNOUNCEMENTS) {
        peer.announced.delete(peer.announced.keys().next().value!);
      }
      // Covered by the next request we send (not the one in flight: its reply may predate the block).
      peer.announced.set(key, this.requestSeq + 1);
    }
    if (unknown && (this.following || id === this.syncPeer)) {
      // A request sent at the peer's tip may never be answered (bcash is silent when it has nothing newer):
      // ask again at once rather than waiting out its deadline.
      if (peer.request && !peer.request.atTip) peer.askAgain = true;
      else this.request(peer, now);
    }
    this.advance(now);
    return this.flush();
  }

  /** Time passes: deadlines are enforced here. */
  tick(now: number): HeaderSyncOutput[] {
    for (const peer of [...this.peers.values()]) {
      if (peer.request && now - peer.request.sentAt >= this.responseTimeoutMs) {
        const request = peer.request;
        if (request.atTip && peer.claimedHeight <= this.tree.best.height && peer.announced.size === 0) {
          // bcash answers a getheaders it has nothing for with silence, not an empty headers message: a peer
          // that claimed nothing past our best and announced nothing we lack is taken as having nothing newer.
          peer.request = undefined;
          this.afterReply(peer, request, 0, now);
        } else {
          this.drop(peer, `${HEADERS_STALL_REASON} within ${this.responseTimeoutMs} ms`, false);
        }
      }
    }
    this.advance(now);
    return this.flush();
  }

  private onHeaders(peer: PeerSync, headers: readonly BlockHeader[], now: number): void {
    const request = peer.request;
    const isReply = request !== undefined && isHeadersReply(request.locator, ZERO_HASH, headers);
    if (isReply) peer.request = undefined;
    if (headers.length === 0) {
      if (isReply) this.afterReply(peer, request!, 0, now);
      return;
    }
    const hashes = headers.map(headerHash);
    for (let i = 1; i < headers.length; i++) {
      if (!headers[i]!.prevBlock.equals(hashes[i - 1]!)) {
        this.punish(peer, 'non-continuous-headers', `header ${i} does not follow header ${i - 1}`);
        if (this.peers.has(peer.id)) this.drop(peer, 'sent non-continuous headers', false);
        return;
      }
    }
    if (!this.tree.has(headers[0]!.prevBlock)) {
      if (headers.length < MAX_BLOCKS_TO_ANNOUNCE) {
        // As the node: an announcement we cannot place is answered with getheaders, and only
        // every 10th costs points, since a peer may simply be ahead of what we asked.
        peer.unconnecting++;
        if (peer.unconnecting % MAX_UNCONNECTING_HEADERS === 0) {
          this.punish(peer, 'unconnecting-headers', `${peer.unconnecting} unconnecting announcements`);
        }
        if (!this.peers.has(peer.id)) return;
        if (peer.unconnecting % MAX_UNCONNECTING_HEADERS === 0) {
          this.drop(peer, `${peer.unconnecting} unconnecting announcements`, false);
          return;
        }
        if (peer.request) peer.askAgain = true;
        else this.request(peer, now);
      } else {
        this.punish(peer, 'prev-blk-not-found', `${headers.length} headers whose first parent is unknown`);
        if (this.peers.has(peer.id)) this.drop(peer, 'sent headers that do not connect', false);
      }
      return;
    }

    const before = this.tree.best;
    let last: HeaderEntry | undefined;
    let refused: HeaderRefusal | undefined;
    let refusedHash: Buffer | undefined;
    let inserted = 0;
    const nowSeconds = Math.floor(now / 1000);
    for (let i = 0; i < headers.length; i++) {
      const hash = hashes[i]!;
      if (this.tree.has(hash)) {
        last = this.tree.get(hash);
        continue;
      }
      const header = headers[i]!;
      const parent = last && last.hash.equals(header.prevBlock) ? last : this.tree.get(header.prevBlock)!;
      const refusal = this.check(header, hash, this.tree.view(parent), nowSeconds);
      if (refusal) {
        refused = refusal;
        refusedHash = hash;
        break;
      }
      last = this.insertHeader(header, hash);
      inserted++;
    }
    if (inserted > 0 && this.afterBatch) {
      try {
        this.afterBatch();
      } catch (err) {
        // The headers stay in the tree and the sync goes on; the app decides what a failing disk means.
        this.safeEmit('storeError', err);
      }
    }
    if (last) {
      peer.servedHeight = Math.max(peer.servedHeight, last.height);
      peer.claimedHeight = Math.max(peer.claimedHeight, last.height);
      if (!refused) peer.unconnecting = 0;
      for (const [key] of peer.announced) if (this.tree.has(Buffer.from(key, 'hex'))) peer.announced.delete(key);
    }
    // Whatever was valid is kept and announced before the peer is dealt with.
    this.announceBest(before);
    if (refused) {
      this.punishPoints(peer, refused.misbehavior, `invalid header ${refusedHash!.toString('hex')}: ${refused.reason}`);
      if (this.peers.has(peer.id)) this.drop(peer, `sent an invalid header (${refused.reason})`, false);
      return;
    }
    if (isReply) this.afterReply(peer, request!, headers.length, now, last);
    else if (!peer.request && peer.askAgain) {
      peer.askAgain = false;
      this.request(peer, now);
    }
  }

  /** A reply arrived: ask for more, or check the peer served what it claimed. */
  private afterReply(peer: PeerSync, request: PendingRequest, count: number, now: number, last?: HeaderEntry): void {
    if (count >= MAX_HEADERS_RESULTS && last) {
      peer.askAgain = false;
      this.request(peer, now, last);
      return;
    }
    // A short reply is the peer's whole chain past our locator: it must reach what the peer claimed.
    const reached = Math.max(peer.servedHeight, last?.height ?? 0, this.tree.best.height);
    if (peer.claimedHeight > reached) {
      this.punish(peer, 'unserved-claim', `claimed height ${peer.claimedHeight}, served up to ${reached}`);
      if (this.peers.has(peer.id)) this.drop(peer, `claimed height ${peer.claimedHeight} but served only up to ${reached}`, false);
      return;
    }
    for (const [key, seq] of peer.announced) {
      // Another peer may have brought it meanwhile; then this one has nothing new to show.
      if (this.tree.has(Buffer.from(key, 'hex'))) {
        peer.announced.delete(key);
        continue;
      }
      if (seq <= request.seq) {
        this.punish(peer, 'unserved-claim', `announced block ${key} and did not serve its header`);
        if (this.peers.has(peer.id)) this.drop(peer, 'announced a block it did not serve', false);
        return;
      }
    }
    if (peer.id === this.syncPeer && !this.following) this.startFollowing(now);
    if (peer.askAgain) {
      peer.askAgain = false;
      this.request(peer, now);
    }
  }

  /** The initial download caught up: every peer now announces by headers, and each is asked once. */
  private startFollowing(now: number): void {
    this.following = true;
    this.syncPeer = undefined;
    for (const peer of this.peers.values()) {
      this.sendSendheaders(peer);
      if (peer.servedHeight < 0 && !peer.request) this.request(peer, now);
    }
    this.safeEmit('synced', this.tree.best);
  }

  /** Keep a sync peer busy while the initial download runs. */
  private advance(now: number): void {
    if (this.following) return;
    if (this.syncPeer && this.peers.has(this.syncPeer)) {
      const peer = this.peers.get(this.syncPeer)!;
      if (!peer.request) this.request(peer, now);
      return;
    }
    this.syncPeer = undefined;
    if (this.peers.size === 0) return;
    let chosen: PeerSync | undefined;
    for (const peer of this.peers.values()) if (!chosen || peer.claimedHeight > chosen.claimedHeight) chosen = peer;
    this.syncPeer = chosen!.id;
    if (!chosen!.request) this.request(chosen!, now);
  }

  private request(peer: PeerSync, now: number, from?: HeaderEntry): void {
    const locator = this.tree.locator(from ?? this.tree.best);
    const seq = ++this.requestSeq;
    const atTip = peer.claimedHeight <= this.tree.best.height;
    peer.request = { sentAt: now, seq, locator: new Set(locator.map((h) => h.toString('hex'))), atTip };
    this.out.push({ type: 'getheaders', peer: peer.id, locator, stop: ZERO_HASH });
  }

  private sendSendheaders(peer: PeerSync): void {
    if (peer.sentSendheaders) return;
    peer.sentSendheaders = true;
    this.out.push({ type: 'sendheaders', peer: peer.id });
  }

  /** Emit events for a change of best chain since `before`: a reorg first when the old tip left it. */
  private announceBest(before: HeaderEntry): void {
    const after = this.tree.best;
    if (after.hash.equals(before.hash)) return;
    const view = this.tree.view(after);
    const onBranch = view.at(before.height);
    let connected: readonly HeaderEntry[];
    if (onBranch && onBranch.hash.equals(before.hash)) {
      const list: HeaderEntry[] = [];
      for (let h = before.height + 1; h <= after.height; h++) list.push(view.at(h)!);
      connected = list;
    } else {
      const reorg = this.tree.path(before, after);
      this.safeEmit('reorg', reorg);
      connected = reorg.connected;
    }
    for (const entry of connected) this.safeEmit('header', entry);
    this.safeEmit('tip', after);
  }

  private punish(peer: PeerSync, kind: keyof typeof HEADER_SYNC_POINTS, detail: string): void {
    this.punishPoints(peer, HEADER_SYNC_POINTS[kind], `${kind}: ${detail}`);
  }

  private punishPoints(peer: PeerSync, points: number, reason: string): void {
    // The rules refuse some headers without blame (a clock ahead of ours): the peer is dropped unscored.
    if (points <= 0) return;
    peer.score += points;
    this.out.push({ type: 'misbehavior', peer: peer.id, points, reason, score: peer.score });
    if (peer.score >= BAN_SCORE) this.drop(peer, `misbehaviour score ${peer.score} (last: ${reason})`, true);
  }

  private drop(peer: PeerSync, reason: string, ban: boolean): void {
    this.out.push({ type: 'disconnect', peer: peer.id, reason, ban });
    this.forget(peer.id);
  }

  private forget(id: string): void {
    this.peers.delete(id);
    if (this.syncPeer === id) this.syncPeer = undefined;
  }

  private flush(): HeaderSyncOutput[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private safeEmit<E extends keyof HeaderSyncEvents>(event: E, ...args: Parameters<HeaderSyncEvents[E]>): void {
    emitSafely(this, undefined, event as string, args);
  }
}

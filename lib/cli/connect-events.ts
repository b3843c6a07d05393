// What `bsv-wire connect` reports: Manager events turned into flat records, shown as JSON lines,
// plain log lines or the live view's "last events".
import type { Manager, ManagedPeer } from '../manager/index.js';
import { MSG_BLOCK, MSG_TX } from '../messages/inventory.js';
import { blockHash } from '../messages/block-header.js';
import { toDisplayHex } from '../hash.js';
import { formatTarget } from '../transport/index.js';
import { emptySeedAnswer } from './common.js';
import type { HeaderEntry } from '../chain/types.js';
import { MAX_BLOCKS_TO_ANNOUNCE } from '../chain/header-sync.js';

export type ConnectEvent =
  | { readonly event: 'start'; readonly network: string; readonly dataDir: string; readonly peers: readonly string[]; readonly outbound: number; readonly inbound: number }
  | { readonly event: 'listening'; readonly address: string }
  | { readonly event: 'discovery'; readonly method: string; readonly seed?: string; readonly found: number; readonly added: number; readonly failures: readonly string[]; readonly empty?: readonly { readonly seed: string; readonly rcode: string }[] }
  | {
      readonly event: 'handshake';
      readonly peer: string;
      readonly direction: string;
      readonly type: string;
      readonly userAgent: string;
      readonly version: number;
      readonly services: string;
      readonly height: number;
    }
  | { readonly event: 'block'; readonly peer: string; readonly hash: string; readonly height: number | undefined }
  | { readonly event: 'close'; readonly peer: string; readonly direction: string; readonly code: string; readonly message: string }
  | { readonly event: 'ban'; readonly peer: string; readonly subnet: string; readonly reason: string }
  | { readonly event: 'evict'; readonly peer: string }
  | { readonly event: 'dial-failed'; readonly peer: string; readonly message: string }
  | { readonly event: 'warning'; readonly code: string; readonly message: string }
  | { readonly event: 'stop'; readonly cause: string; readonly uptimeMs: number; readonly bytesIn: number; readonly bytesOut: number; readonly blocks: number; readonly txs: number };

export type TimedEvent = ConnectEvent & { readonly time: string };

export function peerLabel(peer: Pick<ManagedPeer, 'remoteAddress' | 'remotePort'>): string {
  return peer.remoteAddress.includes(':') ? `[${peer.remoteAddress}]:${peer.remotePort}` : `${peer.remoteAddress}:${peer.remotePort}`;
}

/** The 'handshake' record of a peer that completed its handshake (also what `replay` prints). */
export function handshakeEvent(peer: Pick<ManagedPeer, 'remoteAddress' | 'remotePort' | 'direction' | 'remote'>, type: string): Extract<ConnectEvent, { event: 'handshake' }> {
  const v = peer.remote.version!;
  return {
    event: 'handshake',
    peer: peerLabel(peer),
    direction: peer.direction,
    type,
    userAgent: v.userAgent ?? '',
    version: v.version,
    services: v.services.toString(),
    height: v.startHeight ?? -1,
  };
}

/** One plain log line (no timestamp: the caller adds it). */
export function describeEvent(e: ConnectEvent): string {
  switch (e.event) {
    case 'start':
      return `start ${e.network} datadir=${e.dataDir} outbound=${e.outbound} inbound=${e.inbound}${e.peers.length ? ` peers=${e.peers.join(',')}` : ''}`;
    case 'listening':
      return `listening on ${e.address}`;
    case 'discovery':
      return `discovery ${e.method}${e.seed ? ` ${e.seed}` : ''}: ${e.found} found, ${e.added} new${e.failures.length ? `; failed: ${e.failures.join('; ')}` : ''}${e.empty?.length ? `; no addresses: ${e.empty.map((x) => emptySeedAnswer(x.seed, x.rcode)).join('; ')}` : ''}`;
    case 'handshake':
      return `handshake ${e.peer} ${e.direction} ${e.userAgent} v${e.version} services=0x${BigInt(e.services).toString(16)} height=${e.height}`;
    case 'block':
      return `block ${e.hash}${e.height === undefined ? '' : ` height=${e.height}`} from ${e.peer}`;
    case 'close':
      return `disconnect ${e.peer} ${e.direction}: ${e.code} (${e.message})`;
    case 'ban':
      return `ban ${e.subnet} (${e.peer}): ${e.reason}`;
    case 'evict':
      return `evict ${e.peer}`;
    case 'dial-failed':
      return `dial failed ${e.peer}: ${e.message}`;
    case 'warning':
      return `warning ${e.code}: ${e.message}`;
    case 'stop':
      return `stop (${e.cause}) after ${Math.round(e.uptimeMs / 1000)}s: ${e.bytesIn} bytes in, ${e.bytesOut} bytes out, ${e.blocks} blocks and ${e.txs} txs announced`;
  }
}

/** The header chain connect places announced blocks on. */
export interface ConnectChain {
  readonly tree: { get(hash: Buffer): HeaderEntry | undefined };
  readonly follower: { on(event: 'header', fn: (entry: HeaderEntry) => void): unknown };
}

/**
 * Subscribes to a Manager and keeps what the views need besides its stats(): per-peer height
 * estimates, totals of closed peers, announcement counts. Every record goes to `emit`.
 */
export class ConnectTracker {
  /** Heights announced by each peer: its version height plus the new blocks it announced since. */
  private readonly peerHeights = new Map<string, number>();
  /** Announced blocks the header chain has not placed yet -> who announced them first. */
  private readonly pending = new Map<string, { readonly label: string; readonly id: string }>();
  private readonly seenBlocks = new Set<string>();
  private readonly seenTxs = new Set<string>();
  private closedBytesIn = 0;
  private closedBytesOut = 0;
  bestHeight = -1;
  blocksAnnounced = 0;
  txsAnnounced = 0;

  constructor(
    private readonly manager: Manager,
    private readonly emit: (e: ConnectEvent) => void,
    /** Where announced blocks get their height: the header chain a HeaderFollower keeps. */
    private readonly chain: ConnectChain,
  ) {
    chain.follower.on('header', (entry) => {
      const key = entry.hash.toString('hex');
      const who = this.pending.get(key);
      if (!who) return;
      this.pending.delete(key);
      this.placed(who.label, who.id, entry);
    });
    manager.on('discovery', (d) => emit({ event: 'discovery', method: d.method, seed: d.seed, found: d.found, added: d.added, failures: d.failures, empty: d.empty }));
    manager.on('peer:ready', (peer) => {
      const e = handshakeEvent(peer, peer.type);
      this.peerHeights.set(peer.id, e.height);
      this.bestHeight = Math.max(this.bestHeight, e.height);
      emit(e);
    });
    manager.on('peer:close', (peer, reason) => {
      const s = peer.stats();
      this.closedBytesIn += s.bytesReceived;
      this.closedBytesOut += s.bytesSent;
      this.peerHeights.delete(peer.id);
      // Feelers and address fetches close by design; only report peers that were in use.
      if (peer.type === 'feeler' || peer.type === 'addr-fetch') return;
      emit({ event: 'close', peer: peerLabel(peer), direction: peer.direction, code: reason.code, message: reason.message });
    });
    manager.on('peer:ban', (peer, ban) => emit({ event: 'ban', peer: peerLabel(peer), subnet: ban.subnet, reason: ban.reason }));
    manager.on('peer:evict', ({ victim }) => emit({ event: 'evict', peer: peerLabel(victim) }));
    manager.on('warning', (w) => emit({ event: 'warning', code: w.code, message: w.message }));
    // A --peer that cannot be reached is worth saying each time; discovered addresses fail quietly.
    manager.on('dial:failed', (f) => {
      if (f.type !== 'manual') return;
      emit({ event: 'dial-failed', peer: formatTarget(f.host, f.port), message: f.error instanceof Error ? f.error.message : String(f.error) });
    });
    manager.on('inv', (m, peer) => {
      for (const item of m.inventory) {
        if (item.type === MSG_BLOCK) this.onBlockAnnounced(peer, item.hash);
        else if (item.type === MSG_TX) this.onTxAnnounced(item.hash);
      }
    });
    manager.on('headers', (m, peer) => {
      // A headers reply to the follower's getheaders is not an announcement; short messages are.
      if (m.headers.length <= MAX_BLOCKS_TO_ANNOUNCE) for (const header of m.headers) this.onBlockAnnounced(peer, blockHash(header));
    });
  }

  /** Bytes of every peer this session, connected or gone. */
  totals(): { bytesIn: number; bytesOut: number } {
    let bytesIn = this.closedBytesIn;
    let bytesOut = this.closedBytesOut;
    for (const p of this.manager.peers) {
      const s = p.stats();
      bytesIn += s.bytesReceived;
      bytesOut += s.bytesSent;
    }
    return { bytesIn, bytesOut };
  }

  /** The best height a peer has told us about (version height plus its announcements). */
  heightOf(peer: ManagedPeer): number | undefined {
    return this.peerHeights.get(peer.id);
  }

  /** A block announced by inv or headers: shown once the header chain places it, with the chain's height. */
  private onBlockAnnounced(peer: ManagedPeer, hash: Buffer): void {
    const key = hash.toString('hex');
    if (this.seenBlocks.has(key)) return;
    if (this.seenBlocks.size > 10_000) this.seenBlocks.clear();
    this.seenBlocks.add(key);
    this.blocksAnnounced++;
    const placed = this.chain.tree.get(hash);
    if (placed) {
      this.placed(peerLabel(peer), peer.id, placed);
      return;
    }
    // The follower asks for the header (getheaders with a locator) and reports it as a 'header' event.
    if (this.pending.size >= 10_000) this.pending.clear();
    this.pending.set(key, { label: peerLabel(peer), id: peer.id });
  }

  private placed(label: string, peerId: string, entry: HeaderEntry): void {
    const own = this.peerHeights.get(peerId);
    if (own !== undefined && entry.height > own) this.peerHeights.set(peerId, entry.height);
    this.bestHeight = Math.max(this.bestHeight, entry.height);
    this.emit({ event: 'block', peer: label, hash: toDisplayHex(entry.hash), height: entry.height });
  }

  private onTxAnnounced(hash: Buffer): void {
    const key = hash.toString('hex');
    if (this.seenTxs.has(key)) return;
    // Bounded: the set only dedupes announcements from several peers, recent ones are enough.
    if (this.seenTxs.size > 100_000) this.seenTxs.clear();
    this.seenTxs.add(key);
    this.txsAnnounced++;
  }
}

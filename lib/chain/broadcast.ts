// Broadcast's sans-IO core: announce a transaction to a subset of peers, serve their getdata, and count
// it as propagated only when peers we never sent it to announce it back (bitcoinj's "seen by 1 peer"
// counted the peer it was handed to). Rebroadcast until mined, rejected or timed out. Time is an input.
import { parseTransaction, type RawTransaction } from '../messages/transaction.js';
import { merkleProofTxid } from '../messages/merkle-proof.js';
import type { DsDetectedMessage } from '../messages/dsdetected.js';

export interface BroadcastOptions {
  /** How many ready peers get our inv (default: half of them, at least 1; the others are the witnesses). */
  readonly announceTo?: number;
  /** Announcements from peers we never sent the tx to needed to call it propagated (default 2). */
  readonly minEchoes?: number;
  /** Re-announce to peers that have not echoed every this many ms until settled (default 60 s). */
  readonly rebroadcastMs?: number;
  /** Give up after this long without being mined or rejected (default 20 min). */
  readonly timeoutMs?: number;
}

export type BroadcastStatus = 'pending' | 'propagated' | 'mined' | 'rejected' | 'timeout';

export interface PeerBroadcastStatus {
  readonly peer: string;
  /** Announced to: we sent it our inv. Witness: not told by us. */
  role: 'announced' | 'witness';
  announcedAt?: number;
  requestedAt?: number;
  /** We sent it the tx (its getdata served); its echo does not count. */
  sentAt?: number;
  echoedAt?: number;
  rejectedAt?: number;
  rejectReason?: string;
}

export interface BroadcastResult {
  readonly txid: Buffer;
  readonly status: BroadcastStatus;
  readonly startedAt: number;
  readonly propagatedAt?: number;
  readonly settledAt?: number;
  readonly minedIn?: Buffer;
  /** Why it was rejected: a peer's reject, or a dsdetected naming a conflicting spend. */
  readonly rejection?: { readonly peer: string; readonly reason: string };
  /** Peers that echoed the tx without having been sent it. */
  readonly echoes: number;
  readonly rebroadcasts: number;
  readonly peers: readonly PeerBroadcastStatus[];
}

export type BroadcastOutput =
  | { readonly type: 'inv'; readonly peer: string; readonly txid: Buffer }
  | { readonly type: 'tx'; readonly peer: string; readonly tx: RawTransaction }
  | { readonly type: 'propagated'; readonly result: BroadcastResult }
  | { readonly type: 'settled'; readonly result: BroadcastResult };

interface Tracked {
  readonly tx: RawTransaction;
  /** Outpoints the tx spends ("txidhex:vout"), to recognise a dsdetected about it. */
  readonly spends: Set<string>;
  readonly startedAt: number;
  readonly peers: Map<string, PeerBroadcastStatus>;
  status: BroadcastStatus;
  propagatedAt?: number;
  settledAt?: number;
  minedIn?: Buffer;
  rejection?: { peer: string; reason: string };
  echoes: number;
  rebroadcasts: number;
  nextRebroadcast: number;
  deadline: number;
}

export class BroadcastCore {
  readonly minEchoes: number;
  readonly rebroadcastMs: number;
  readonly timeoutMs: number;
  private readonly announceTo: number | undefined;
  private readonly ready = new Set<string>();
  private readonly tracked = new Map<string, Tracked>();

  constructor(options: BroadcastOptions = {}) {
    this.announceTo = options.announceTo;
    this.minEchoes = options.minEchoes ?? 2;
    this.rebroadcastMs = options.rebroadcastMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 20 * 60_000;
    for (const [k, v] of Object.entries({ minEchoes: this.minEchoes, rebroadcastMs: this.rebroadcastMs, timeoutMs: this.timeoutMs })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, got ${v}`);
    }
  }

  /** Transactions not settled yet. */
  get active(): number {
    return this.tracked.size;
  }

  peerReady(peer: string): void {
    this.ready.add(peer);
  }

  peerClosed(peer: string): void {
    this.ready.delete(peer);
  }

  /** Start broadcasting: inv to a subset of the ready peers. Throws if none is ready or the tx is already tracked. */
  broadcast(tx: RawTransaction, now: number): BroadcastOutput[] {
    const key = tx.txid.toString('hex');
    if (this.tracked.has(key)) throw new Error(`tx ${key} is already being broadcast`);
    const peers = [...this.ready];
    if (peers.length === 0) throw new Error('no ready peer to broadcast to');
    const spends = new Set<string>();
    for (const input of parseTransaction(tx.raw).inputs) spends.add(`${input.prevTxid.toString('hex')}:${input.vout}`);
    const count = Math.max(1, Math.min(peers.length, this.announceTo ?? Math.floor(peers.length / 2)));
    const entry: Tracked = {
      tx,
      spends,
      startedAt: now,
      peers: new Map(),
      status: 'pending',
      echoes: 0,
      rebroadcasts: 0,
      nextRebroadcast: now + this.rebroadcastMs,
      deadline: now + this.timeoutMs,
    };
    const out: BroadcastOutput[] = [];
    peers.forEach((peer, i) => {
      const announce = i < count;
      entry.peers.set(peer, { peer, role: announce ? 'announced' : 'witness', ...(announce ? { announcedAt: now } : {}) });
      if (announce) out.push({ type: 'inv', peer, txid: tx.txid });
    });
    this.tracked.set(key, entry);
    return out;
  }

  /** A peer asked for txids: ours are served. */
  getdata(peer: string, txids: readonly Buffer[], now: number): BroadcastOutput[] {
    const out: BroadcastOutput[] = [];
    for (const txid of txids) {
      const entry = this.tracked.get(txid.toString('hex'));
      if (!entry) continue;
      const status = this.peerStatus(entry, peer);
      status.requestedAt ??= now;
      status.sentAt ??= now;
      out.push({ type: 'tx', peer, tx: entry.tx });
    }
    return out;
  }

  /** A peer announced txids: an echo of ours counts if we never sent it the tx. */
  inv(peer: string, txids: readonly Buffer[], now: number): BroadcastOutput[] {
    const out: BroadcastOutput[] = [];
    for (const txid of txids) {
      const entry = this.tracked.get(txid.toString('hex'));
      if (!entry) continue;
      const status = this.peerStatus(entry, peer);
      if (status.echoedAt !== undefined) continue;
      status.echoedAt = now;
      if (status.sentAt !== undefined) continue;
      entry.echoes++;
      if (entry.status === 'pending' && entry.echoes >= this.minEchoes) {
        entry.status = 'propagated';
        entry.propagatedAt = now;
        out.push({ type: 'propagated', result: this.result(entry) });
      }
    }
    return out;
  }

  /** A peer sent reject for one of our txs. */
  reject(peer: string, message: string, txid: Buffer | undefined, reason: string, now: number): BroadcastOutput[] {
    if (message !== 'tx' || !txid) return [];
    const entry = this.tracked.get(txid.toString('hex'));
    if (!entry) return [];
    const status = this.peerStatus(entry, peer);
    status.rejectedAt = now;
    status.rejectReason = reason;
    entry.rejection = { peer, reason };
    return this.settle(entry, 'rejected', now);
  }

  /** A dsdetected whose proofs carry a tx spending one of our outpoints (and not ours): rejected as double-spent. */
  dsDetected(peer: string, message: DsDetectedMessage, now: number): BroadcastOutput[] {
    const out: BroadcastOutput[] = [];
    for (const block of message.blocks) {
      const proofTx = block.proof.txOrId;
      if (Buffer.isBuffer(proofTx)) continue;
      let inputs;
      try {
        inputs = parseTransaction(proofTx.raw, 'dsdetected').inputs;
      } catch {
        continue;
      }
      const conflictId = merkleProofTxid(block.proof).toString('hex');
      for (const entry of [...this.tracked.values()]) {
        if (entry.status === 'rejected' || conflictId === entry.tx.txid.toString('hex')) continue;
        if (inputs.some((i) => entry.spends.has(`${i.prevTxid.toString('hex')}:${i.vout}`))) {
          entry.rejection = { peer, reason: `double spend: ${conflictId}` };
          out.push(...this.settle(entry, 'rejected', now));
        }
      }
    }
    return out;
  }

  /** Txids a block holds (streamed block, merkleblock matches): ours there are mined. */
  mined(blockHash: Buffer, txids: readonly Buffer[], now: number): BroadcastOutput[] {
    const out: BroadcastOutput[] = [];
    for (const txid of txids) {
      const entry = this.tracked.get(txid.toString('hex'));
      if (!entry) continue;
      entry.minedIn = Buffer.from(blockHash);
      out.push(...this.settle(entry, 'mined', now));
    }
    return out;
  }

  /** Whether a txid is being broadcast (the shell checks streamed block txs with it). */
  has(txid: Buffer): boolean {
    return this.tracked.has(txid.toString('hex'));
  }

  /** Rebroadcasts and timeouts. */
  tick(now: number): BroadcastOutput[] {
    const out: BroadcastOutput[] = [];
    for (const entry of [...this.tracked.values()]) {
      if (now >= entry.deadline) {
        out.push(...this.settle(entry, 'timeout', now));
        continue;
      }
      if (now < entry.nextRebroadcast) continue;
      entry.nextRebroadcast = now + this.rebroadcastMs;
      entry.rebroadcasts++;
      // Announce again to announced peers still here that have not taken it. Keep the announced count up
      // when some left, and if none of them asked for it (a peer that ignores invs), tell one more:
      // a witness that has not echoed it, or a new peer.
      const announced = [...entry.peers.values()].filter((p) => p.role === 'announced');
      const taken = announced.some((p) => p.sentAt !== undefined);
      const target = Math.max(1, this.announceTo ?? announced.length) + (taken ? 0 : 1);
      let live = 0;
      for (const p of announced) {
        if (!this.ready.has(p.peer)) continue;
        live++;
        if (p.sentAt === undefined && p.echoedAt === undefined) {
          p.announcedAt = now;
          out.push({ type: 'inv', peer: p.peer, txid: entry.tx.txid });
        }
      }
      // New peers first, so the witnesses stay witnesses while others can be told.
      const candidates = [...this.ready].sort((x, y) => Number(entry.peers.has(x)) - Number(entry.peers.has(y)));
      for (const peer of candidates) {
        if (live >= target) break;
        const known = entry.peers.get(peer);
        if (known && (known.role === 'announced' || known.echoedAt !== undefined)) continue;
        if (known) {
          known.role = 'announced';
          known.announcedAt = now;
        } else {
          entry.peers.set(peer, { peer, role: 'announced', announcedAt: now });
        }
        out.push({ type: 'inv', peer, txid: entry.tx.txid });
        live++;
      }
    }
    return out;
  }

  private peerStatus(entry: Tracked, peer: string): PeerBroadcastStatus {
    let status = entry.peers.get(peer);
    if (!status) entry.peers.set(peer, (status = { peer, role: 'witness' }));
    return status;
  }

  private settle(entry: Tracked, status: BroadcastStatus, now: number): BroadcastOutput[] {
    if (!this.tracked.has(entry.tx.txid.toString('hex'))) return [];
    entry.status = status;
    entry.settledAt = now;
    this.tracked.delete(entry.tx.txid.toString('hex'));
    return [{ type: 'settled', result: this.result(entry) }];
  }

  private result(entry: Tracked): BroadcastResult {
    return {
      txid: entry.tx.txid,
      status: entry.status,
      startedAt: entry.startedAt,
      ...(entry.propagatedAt !== undefined ? { propagatedAt: entry.propagatedAt } : {}),
      ...(entry.settledAt !== undefined ? { settledAt: entry.settledAt } : {}),
      ...(entry.minedIn ? { minedIn: entry.minedIn } : {}),
      ...(entry.rejection ? { rejection: { ...entry.rejection } } : {}),
      echoes: entry.echoes,
      rebroadcasts: entry.rebroadcasts,
      peers: [...entry.peers.values()].map((p) => ({ ...p })),
    };
  }
}

// The shell around MempoolCore: feeds it a Manager's inv/tx/notfound/close and streamed-block events and
// a timer, sends its getdata, and emits one `tx` per txid. Uses only the Manager's public peers and events.
import { EventEmitter } from 'eventemitter3';
import type { Manager, ManagedPeer } from '../manager/index.js';
import type { Message, MessageOf } from '../messages/index.js';
import { MSG_TX } from '../messages/inventory.js';
import type { BlockEnd, BlockTransactionEvent, BlockTxEndEvent } from '../peer/block-receiver.js';
import type { TxEndEvent } from '../peer/tx-receiver.js';
import { systemClock, type Clock } from '../peer/clock.js';
import { encodeBlockHeader } from '../messages/block-header.js';
import { sha256d, toDisplayHex } from '../hash.js';
import { decodePartialMerkleTree } from './spv.js';
import { MempoolCore, type MempoolCoreOptions, type MempoolOutput, type MempoolStats } from './mempool.js';
import { Listeners } from './listeners.js';
import { emitSafely, runCore } from './run-core.js';
import { LogHook, logHook, type Logger } from '../logger.js';

export interface MempoolWatcherOptions extends MempoolCoreOptions {
  readonly manager: Manager;
  readonly clock?: Clock;
  /** How often deadlines are checked (default 250 ms, so a re-ask comes within 5.25 s). */
  readonly tickIntervalMs?: number;
  /** Report txids of blocks the Manager's peers stream as mined (default true). */
  readonly watchBlocks?: boolean;
  /** Where records go: start, txs fetched only after a re-ask (debug), txs lost, errors. Never one record per tx. Default: nothing. */
  readonly logger?: Logger;
}

export interface MempoolTxEvent {
  readonly txid: Buffer;
  /** The whole transaction; undefined for a huge one that came in pieces (txStart/txPiece/txEnd on the Manager). */
  readonly raw: Buffer | undefined;
  /** The peer that delivered it. */
  readonly peer: ManagedPeer | undefined;
  readonly firstAnnouncer: string;
  readonly announcers: number;
  readonly announcedAt: number;
  readonly receivedAt: number;
  /** Peers asked before it came (1 = the first announcer delivered). */
  readonly attempts: number;
}

export interface MempoolWatcherEvents {
  tx: (event: MempoolTxEvent) => void;
  /** Txids that were seen in the mempool and are now in a block. */
  mined: (event: { readonly blockHash: Buffer; readonly txids: readonly Buffer[] }) => void;
  /** Every announcer of a txid was asked and none delivered. */
  lost: (event: { readonly txid: Buffer; readonly announcers: number; readonly attempts: number }) => void;
  listenerError: (error: unknown) => void;
}

/** Watches the mempool through a Manager's peers: every announced transaction once, none lost to a silent peer. */
export class MempoolWatcher extends EventEmitter<MempoolWatcherEvents> {
  readonly core: MempoolCore;
  private readonly manager: Manager;
  private readonly clock: Clock;
  private readonly tickIntervalMs: number;
  private readonly watchBlocks: boolean;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions = new Listeners();
  /** Per streamed block (by hash): mempool txids it holds, reported at its end if the block checks out. */
  private readonly blockHits = new Map<string, Buffer[]>();
  private readonly log: LogHook;

  constructor(options: MempoolWatcherOptions) {
    super();
    this.log = logHook(options.logger);
    this.manager = options.manager;
    this.clock = options.clock ?? systemClock;
    this.tickIntervalMs = options.tickIntervalMs ?? 250;
    this.watchBlocks = options.watchBlocks ?? true;
    this.core = new MempoolCore(options);
  }

  stats(): MempoolStats {
    return this.core.stats();
  }

  start(): void {
    if (this.timer) return;
    const on = <E extends keyof import('../manager/options.js').ManagerEvents>(event: E, fn: (...args: never[]) => void): void =>
      this.subscriptions.on(this.manager, event, fn);
    on('inv', (m: MessageOf<'inv'>, peer: ManagedPeer) => {
      const txids = m.inventory.filter((i) => i.type === MSG_TX).map((i) => i.hash);
      if (txids.length > 0) this.run(() => this.core.announce(peer.id, txids, this.clock.now()));
    });
    on('tx', (m: MessageOf<'tx'>, peer: ManagedPeer) => this.run(() => this.core.received(peer.id, m.txid, Buffer.from(m.raw), this.clock.now())));
    on('txEnd', (e: TxEndEvent, peer: ManagedPeer) => {
      if (e.checksumOk) this.run(() => this.core.received(peer.id, e.txid, undefined, this.clock.now()));
    });
    on('notfound', (m: MessageOf<'notfound'>, peer: ManagedPeer) => {
      const txids = m.inventory.filter((i) => i.type === MSG_TX).map((i) => i.hash);
      if (txids.length > 0) this.run(() => this.core.notFound(peer.id, txids, this.clock.now()));
    });
    on('peer:close', (peer: ManagedPeer) => this.run(() => this.core.peerClosed(peer.id, this.clock.now())));
    if (this.watchBlocks) {
      // A merkleblock (someone's filterload) names matched txids of a block: those we saw are mined.
      on('merkleblock', (m: MessageOf<'merkleblock'>) => {
        let matched: Buffer[];
        try {
          const { root, matches } = decodePartialMerkleTree(m.totalTransactions, m.hashes, m.flags);
          if (!root.equals(m.header.merkleRoot)) return;
          matched = matches.map((x) => x.txid);
        } catch {
          return; // a bad partial tree proves nothing
        }
        if (matched.length > 0) this.minedIn(sha256d(encodeBlockHeader(m.header)), matched);
      });
      const hit = (blockHash: Buffer, txid: Buffer): void => {
        if (!this.core.isKnown(txid)) return;
        const key = blockHash.toString('hex');
        let list = this.blockHits.get(key);
        if (!list) this.blockHits.set(key, (list = []));
        list.push(Buffer.from(txid));
      };
      on('blockTx', (e: BlockTransactionEvent) => hit(e.blockHash, e.txid));
      on('blockTxEnd', (e: BlockTxEndEvent) => hit(e.blockHash, e.txid));
      on('blockEnd', (end: BlockEnd) => {
        const key = end.hash.toString('hex');
        const hits = this.blockHits.get(key) ?? [];
        this.blockHits.delete(key);
        // A block that failed its checks proves nothing about its txs.
        if (end.checksumOk && end.merkleRootOk !== false && hits.length > 0) this.minedIn(end.hash, hits);
      });
    }
    this.timer = setInterval(() => this.run(() => this.core.tick(this.clock.now())), this.tickIntervalMs);
    this.timer.unref();
    this.log.info('mempool watcher started', () => ({ watchBlocks: this.watchBlocks }));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.subscriptions.offAll();
    this.blockHits.clear();
  }

  /** Txids a block holds, from any source (a merkleblock's matches, a block the app streamed itself). */
  minedIn(blockHash: Buffer, txids: readonly Buffer[]): void {
    this.run(() => this.core.mined(blockHash, txids, this.clock.now()));
  }

  /** The app refused this tx: never fetched again while remembered. */
  reject(txid: Buffer): void {
    this.core.reject(txid);
  }

  private run(step: () => MempoolOutput[]): void {
    runCore(step, (o) => this.apply(o), (err) => this.safeEmit('listenerError', err));
  }

  private apply(o: MempoolOutput): void {
    switch (o.type) {
      case 'getdata': {
        const peer = this.manager.peers.find((p) => p.id === o.peer);
        if (!peer || peer.state !== 'ready') return;
        peer.send({ command: 'getdata', inventory: o.txids.map((hash) => ({ type: MSG_TX, hash })) } as Message);
        return;
      }
      case 'tx': {
        const peer = this.manager.peers.find((p) => p.id === o.peer);
        const { type: _type, peer: _peer, ...rest } = o;
        // Only a fetch that needed a re-ask is logged: one record per retried tx, none for the ordinary case.
        if (o.attempts > 1) this.log.debug('tx fetched after re-ask', () => ({ txid: toDisplayHex(o.txid), peer: o.peer, firstAnnouncer: o.firstAnnouncer, attempts: o.attempts, waitedMs: o.receivedAt - o.announcedAt }));
        this.safeEmit('tx', { ...rest, peer });
        return;
      }
      case 'mined':
        this.safeEmit('mined', { blockHash: o.blockHash, txids: o.txids });
        return;
      case 'lost':
        this.log.warn('tx lost', () => ({ txid: toDisplayHex(o.txid), announcers: o.announcers, attempts: o.attempts }));
        this.safeEmit('lost', { txid: o.txid, announcers: o.announcers, attempts: o.attempts });
        return;
    }
  }

  private safeEmit<E extends keyof MempoolWatcherEvents>(event: E, ...args: Parameters<MempoolWatcherEvents[E]>): void {
    emitSafely(this, this.log, event as string, args);
  }
}

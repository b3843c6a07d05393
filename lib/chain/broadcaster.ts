// The shell around BroadcastCore: Manager peers in, inv/tx out, and a promise per broadcast. To see a
// broadcast mined it fetches new blocks announced while broadcasts are active (inv or headers) from the
// announcing peer and watches their txids as they stream; given a running BlockFollower (`blocks`), it
// takes the matches from the blocks that one fetches instead and fetches none itself. The app may also
// call minedIn().
import { EventEmitter } from 'eventemitter3';
import type { Manager, ManagedPeer } from '../manager/index.js';
import type { ManagerEvents } from '../manager/options.js';
import type { Message, MessageOf } from '../messages/index.js';
import { MSG_BLOCK, MSG_TX } from '../messages/inventory.js';
import { encodeBlockHeader } from '../messages/block-header.js';
import { rawTransaction, type RawTransaction } from '../messages/transaction.js';
import type { BlockEnd, BlockTransactionEvent } from '../peer/block-receiver.js';
import { sha256d, toDisplayHex } from '../hash.js';
import { systemClock, type Clock } from '../peer/clock.js';
import { BroadcastCore, type BroadcastOptions, type BroadcastOutput, type BroadcastResult } from './broadcast.js';
import type { BlockFollower } from './block-follower.js';
import { Listeners } from './listeners.js';
import { emitSafely, runCore } from './run-core.js';
import { LogHook, logHook, type Logger } from '../logger.js';

export interface BroadcasterOptions extends BroadcastOptions {
  readonly manager: Manager;
  readonly clock?: Clock;
  /** Default 1 s. */
  readonly tickIntervalMs?: number;
  /** Fetch blocks announced while broadcasts are active to see them mined (default true; false with `blocks`). */
  readonly fetchBlocks?: boolean;
  /** Where records go: each broadcast's start, propagation and outcome, and errors. Default: nothing. */
  readonly logger?: Logger;
  /**
   * A BlockFollower the app runs anyway: our txs are looked for in the blocks it fetches (its `blockStored`
   * event), and the broadcaster fetches no block itself, so no block is downloaded twice.
   */
  readonly blocks?: Pick<BlockFollower, 'watchTxids' | 'on' | 'off'>;
}

export interface BroadcastTxOptions {
  /** Resolve when propagated (default) or wait until settled (mined, rejected or timed out). */
  readonly until?: 'propagated' | 'settled';
}

export interface BroadcasterEvents {
  propagated: (result: BroadcastResult) => void;
  settled: (result: BroadcastResult) => void;
  listenerError: (error: unknown) => void;
}

export class Broadcaster extends EventEmitter<BroadcasterEvents> {
  readonly core: BroadcastCore;
  private readonly manager: Manager;
  private readonly clock: Clock;
  private readonly tickIntervalMs: number;
  private readonly fetchBlocks: boolean;
  private readonly blocks: BroadcasterOptions['blocks'];
  private unwatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions = new Listeners();
  private readonly waiting = new Map<string, { until: 'propagated' | 'settled'; resolve: (r: BroadcastResult) => void }>();
  /** Blocks asked for (hash hex), so one announced by several peers is fetched once. */
  private readonly blocksAsked = new Set<string>();
  private readonly hits = new Map<string, Buffer[]>();
  private readonly log: LogHook;

  constructor(options: BroadcasterOptions) {
    super();
    this.log = logHook(options.logger);
    this.manager = options.manager;
    this.clock = options.clock ?? systemClock;
    this.tickIntervalMs = options.tickIntervalMs ?? 1000;
    this.blocks = options.blocks;
    this.fetchBlocks = options.blocks ? false : (options.fetchBlocks ?? true);
    this.core = new BroadcastCore(options);
  }

  start(): void {
    if (this.timer) return;
    const on = <E extends keyof ManagerEvents>(event: E, fn: (...args: never[]) => void): void => this.subscriptions.on(this.manager, event, fn);
    on('peer:ready', (peer: ManagedPeer) => this.core.peerReady(peer.id));
    on('peer:close', (peer: ManagedPeer) => this.core.peerClosed(peer.id));
    on('getdata', (m: MessageOf<'getdata'>, peer: ManagedPeer) => {
      const txids = m.inventory.filter((i) => i.type === MSG_TX).map((i) => i.hash);
      if (txids.length > 0) this.run(() => this.core.getdata(peer.id, txids, this.clock.now()));
    });
    on('inv', (m: MessageOf<'inv'>, peer: ManagedPeer) => {
      const txids = m.inventory.filter((i) => i.type === MSG_TX).map((i) => i.hash);
      if (txids.length > 0) this.run(() => this.core.inv(peer.id, txids, this.clock.now()));
      const blocks = m.inventory.filter((i) => i.type === MSG_BLOCK).map((i) => i.hash);
      if (blocks.length > 0) this.askBlocks(peer, blocks);
    });
    on('headers', (m: MessageOf<'headers'>, peer: ManagedPeer) => {
      // A short headers message is a new-block announcement (after sendheaders); long ones are a sync.
      if (m.headers.length > 0 && m.headers.length <= 8) this.askBlocks(peer, m.headers.map((h) => sha256d(encodeBlockHeader(h))));
    });
    on('reject', (m: MessageOf<'reject'>, peer: ManagedPeer) => this.run(() => this.core.reject(peer.id, m.message, m.hash, m.reason, this.clock.now())));
    on('dsdetected', (m: MessageOf<'dsdetected'>, peer: ManagedPeer) => this.run(() => this.core.dsDetected(peer.id, m, this.clock.now())));
    if (this.blocks) {
      // The follower's blocks, as each arrives verified: our txids among them are mined.
      this.unwatch = this.blocks.watchTxids((txid) => this.core.has(txid));
      this.subscriptions.on(this.blocks, 'blockStored', (block: { readonly hash: Buffer; readonly watched: readonly Buffer[] }) => {
        if (block.watched.length > 0) this.minedIn(block.hash, block.watched);
      });
    } else {
      on('blockTx', (e: BlockTransactionEvent) => {
        if (!this.core.has(e.txid)) return;
        const key = e.blockHash.toString('hex');
        let list = this.hits.get(key);
        if (!list) this.hits.set(key, (list = []));
        list.push(Buffer.from(e.txid));
      });
      on('blockEnd', (end: BlockEnd) => {
        const key = end.hash.toString('hex');
        const hits = this.hits.get(key);
        this.hits.delete(key);
        if (hits && end.checksumOk && end.merkleRootOk !== false) this.minedIn(end.hash, hits);
      });
    }
    for (const peer of this.manager.peers) if (peer.state === 'ready') this.core.peerReady(peer.id);
    this.timer = setInterval(() => this.run(() => this.core.tick(this.clock.now())), this.tickIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.subscriptions.offAll();
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Announce a transaction (raw bytes or a RawTransaction) and resolve with its per-peer status and timings. */
  broadcastTx(tx: Buffer | RawTransaction, options: BroadcastTxOptions = {}): Promise<BroadcastResult> {
    const raw = Buffer.isBuffer(tx) ? rawTransaction(Buffer.from(tx)) : tx;
    return new Promise((resolve, reject) => {
      let outputs: BroadcastOutput[];
      try {
        outputs = this.core.broadcast(raw, this.clock.now());
      } catch (err) {
        reject(err);
        return;
      }
      this.waiting.set(raw.txid.toString('hex'), { until: options.until ?? 'propagated', resolve });
      this.log.info('broadcast started', () => ({ txid: toDisplayHex(raw.txid), size: raw.raw.length, peers: this.manager.peers.filter((p) => p.state === 'ready').length }));
      for (const o of outputs) this.apply(o);
    });
  }

  /** Txids a block holds, from any source: ours there are mined. */
  minedIn(blockHash: Buffer, txids: readonly Buffer[]): void {
    this.run(() => this.core.mined(blockHash, txids, this.clock.now()));
  }

  private askBlocks(peer: ManagedPeer, hashes: Buffer[]): void {
    if (!this.fetchBlocks || this.core.active === 0) return;
    const fresh = hashes.filter((h) => !this.blocksAsked.has(h.toString('hex')));
    if (fresh.length === 0) return;
    for (const h of fresh) {
      this.blocksAsked.add(h.toString('hex'));
      if (this.blocksAsked.size > 1000) this.blocksAsked.delete(this.blocksAsked.values().next().value as string);
    }
    try {
      peer.send({ command: 'getdata', inventory: fresh.map((hash) => ({ type: MSG_BLOCK, hash })) } as Message);
    } catch (err) {
      this.safeEmit('listenerError', err);
    }
  }

  private run(step: () => BroadcastOutput[]): void {
    runCore(step, (o) => this.apply(o), (err) => this.safeEmit('listenerError', err));
  }

  private apply(o: BroadcastOutput): void {
    try {
      switch (o.type) {
        case 'inv':
        case 'tx': {
          const peer = this.manager.peers.find((p) => p.id === o.peer);
          if (!peer || peer.state !== 'ready') return;
          if (o.type === 'inv') peer.send({ command: 'inv', inventory: [{ type: MSG_TX, hash: o.txid }] } as Message);
          else peer.send({ command: 'tx', raw: o.tx.raw, txid: o.tx.txid } as Message);
          return;
        }
        case 'propagated':
        case 'settled': {
          const key = o.result.txid.toString('hex');
          const waiter = this.waiting.get(key);
          if (waiter && (o.type === 'settled' || waiter.until === 'propagated')) {
            this.waiting.delete(key);
            waiter.resolve(o.result);
          }
          if (o.type === 'propagated') this.log.info('broadcast propagated', () => broadcastFields(o.result));
          else if (o.result.status === 'rejected' || o.result.status === 'timeout') this.log.warn('broadcast settled', () => broadcastFields(o.result));
          else this.log.info('broadcast settled', () => broadcastFields(o.result));
          this.safeEmit(o.type, o.result);
          return;
        }
      }
    } catch (err) {
      this.safeEmit('listenerError', err);
    }
  }

  private safeEmit<E extends keyof BroadcasterEvents>(event: E, ...args: Parameters<BroadcasterEvents[E]>): void {
    emitSafely(this, this.log, event as string, args);
  }
}

/** A broadcast outcome's log fields. */
function broadcastFields(r: BroadcastResult): Record<string, unknown> {
  return {
    txid: toDisplayHex(r.txid),
    status: r.status,
    peers: r.peers.length,
    echoes: r.echoes,
    rebroadcasts: r.rebroadcasts,
    propagatedMs: r.propagatedAt === undefined ? undefined : r.propagatedAt - r.startedAt,
    settledMs: r.settledAt === undefined ? undefined : r.settledAt - r.startedAt,
    minedIn: r.minedIn ? toDisplayHex(r.minedIn) : undefined,
    rejection: r.rejection,
  };
}

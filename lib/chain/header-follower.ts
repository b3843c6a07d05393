// The shell around HeaderSync: feeds it a Manager's peer events and a timer, and carries its requests,
// scores and disconnects out to the peers. It uses only the Manager's public peers, events and ban();
// the Manager knows nothing of it.
import { EventEmitter } from 'eventemitter3';
import type { Manager, ManagedPeer } from '../manager/index.js';
import type { Message, MessageOf } from '../messages/index.js';
import type { BlockHeader } from '../messages/block-header.js';
import type { CloseReason } from '../peer/reasons.js';
import { systemClock, type Clock } from '../peer/clock.js';
import { isIPv4Mapped, parseIp } from '../ip.js';
import { consensusParams, type ConsensusParams } from './consensus.js';
import { checkHeader } from './rules.js';
import { HeaderSync, type HeaderSyncEvents, type HeaderSyncOutput, type SyncTree } from './header-sync.js';
import type { ChainView, HeaderEntry, Reorg } from './types.js';
import { Listeners } from './listeners.js';
import { emitSafely, runCore } from './run-core.js';
import { LogHook, logHook, type Logger } from '../logger.js';
import { toDisplayHex } from '../hash.js';

/** The part of a HeaderStore the follower uses: its tree, and append(), which persists whatever the tree holds beyond the files. */
export interface HeaderSink {
  readonly tree: SyncTree & { insert(header: BlockHeader, hash: Buffer): HeaderEntry };
  append(headers: readonly { readonly header: BlockHeader; readonly hash: Buffer }[]): unknown;
}

export interface HeaderFollowerOptions {
  readonly manager: Manager;
  /** Where accepted headers go: a HeaderStore (persisted), or a bare HeaderTree (memory only). */
  readonly store?: HeaderSink;
  readonly tree?: SyncTree;
  /** Default: the rules of the Manager's network. */
  readonly params?: ConsensusParams;
  readonly clock?: Clock;
  /** How often deadlines are checked (default 1 s). */
  readonly tickIntervalMs?: number;
  /** How long a peer has to answer getheaders (default 30 s). */
  readonly responseTimeoutMs?: number;
  /** Ban peers whose score reaches 100 through the Manager (default true; loopback peers are only disconnected, as the node does). */
  readonly ban?: boolean;
  /** Where lifecycle records go: batches accepted (debug), synced, reorgs, misbehaviour, drops, store and listener errors. Default: nothing. */
  readonly logger?: Logger;
}

export interface HeaderFollowerEvents extends HeaderSyncEvents {
  /** A peer was scored for what it sent. */
  misbehavior: (event: { readonly peer: ManagedPeer; readonly points: number; readonly score: number; readonly reason: string }) => void;
  /** A peer was dropped (silent, stalling, lying or hostile); the Manager fills its slot again. */
  drop: (event: { readonly peer: ManagedPeer; readonly reason: string; readonly ban: boolean }) => void;
}

const HEADER_SYNC_EVENTS = ['header', 'tip', 'reorg', 'synced', 'storeError'] as const;

/** Follows the best header chain across a Manager's peers (see HeaderSync for the rules). */
export class HeaderFollower extends EventEmitter<HeaderFollowerEvents> {
  readonly sync: HeaderSync;
  private readonly manager: Manager;
  private readonly clock: Clock;
  private readonly tickIntervalMs: number;
  private readonly banPeers: boolean;
  private readonly byId = new Map<string, ManagedPeer>();
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions = new Listeners();
  private readonly log: LogHook;
  /** The headers message being applied, for the batch's log record. */
  private batch: { readonly peer: ManagedPeer; readonly from: number; readonly received: number } | undefined;

  constructor(options: HeaderFollowerOptions) {
    super();
    this.log = logHook(options.logger);
    const tree = options.store?.tree ?? options.tree;
    if (!tree) throw new TypeError('HeaderFollower needs a store or a tree');
    this.manager = options.manager;
    this.clock = options.clock ?? systemClock;
    this.tickIntervalMs = options.tickIntervalMs ?? 1000;
    this.banPeers = options.ban ?? true;
    const params = options.params ?? consensusParams(options.manager.network);
    const checkpointHeights = [...params.checkpoints.keys()].sort((a, b) => a - b);
    const store = options.store;
    this.sync = new HeaderSync({
      tree,
      check: (header: BlockHeader, hash: Buffer, parent: ChainView, nowSeconds: number) => {
        // The highest checkpoint our best chain holds: forks below it are refused, as the node does.
        const best = tree.best.height;
        let lastCheckpointHeight: number | undefined;
        for (const h of checkpointHeights) if (h <= best) lastCheckpointHeight = h;
        return checkHeader(params, header, hash, parent, nowSeconds, { lastCheckpointHeight });
      },
      insert: (header, hash) => (tree as SyncTree & { insert(h: BlockHeader, x: Buffer): HeaderEntry }).insert(header, hash),
      // Headers go into the store's tree one by one and to disk once per batch: append([]) writes every
      // record the tree holds beyond the files, in one write per file.
      afterBatch: store ? () => store.append([]) : undefined,
      responseTimeoutMs: options.responseTimeoutMs,
    });
    if (typeof (tree as { insert?: unknown }).insert !== 'function') throw new TypeError('the tree has no insert()');
    for (const name of HEADER_SYNC_EVENTS) {
      this.sync.on(name, (...args: unknown[]) => this.safeEmit(name, ...(args as [never])));
    }
    this.sync.on('listenerError', (e) => this.safeEmit('listenerError', e));
    this.sync.on('reorg', (r) => this.log.info('reorg', () => reorgFields(r)));
    // One record per batch that moved the tip (the core's tip event), never one per header.
    this.sync.on('tip', (tip) => {
      const batch = this.batch;
      this.log.debug('headers accepted', () => ({ peer: batch?.peer.id, address: batch?.peer.remoteAddress, received: batch?.received, from: batch?.from, height: tip.height }));
    });
    this.sync.on('synced', (tip) => this.log.info('headers synced', () => ({ height: tip.height, hash: toDisplayHex(tip.hash) })));
    this.sync.on('storeError', (err) => this.log.error('header store write failed', () => ({ err })));
  }

  get best(): HeaderEntry {
    return this.sync.best;
  }

  /** Start following: peers already connected are taken up at once. */
  start(): void {
    if (this.timer) return;
    const on = <E extends 'peer:ready' | 'peer:close' | 'headers' | 'inv'>(event: E, fn: (...args: never[]) => void): void =>
      this.subscriptions.on(this.manager, event, fn);
    on('peer:ready', (peer: ManagedPeer) => this.onReady(peer));
    on('peer:close', (peer: ManagedPeer, _reason: CloseReason) => this.run(() => this.sync.peerClosed(peer.id, this.clock.now()), () => this.byId.delete(peer.id)));
    on('headers', (m: MessageOf<'headers'>, peer: ManagedPeer) => {
      if (this.log.enabled) this.batch = { peer, from: this.sync.best.height, received: m.headers.length };
      this.run(() => this.sync.headers(peer.id, m.headers, this.clock.now()), () => (this.batch = undefined));
    });
    on('inv', (m: MessageOf<'inv'>, peer: ManagedPeer) => {
      const blocks = m.inventory.filter((i) => i.type === 2).map((i) => i.hash);
      if (blocks.length > 0) this.run(() => this.sync.blockInv(peer.id, blocks, this.clock.now()));
    });
    for (const peer of this.manager.peers) if (peer.state === 'ready') this.onReady(peer);
    this.timer = setInterval(() => this.run(() => this.sync.tick(this.clock.now())), this.tickIntervalMs);
    this.timer.unref();
    this.log.info('header follower started', () => ({ height: this.sync.best.height, hash: toDisplayHex(this.sync.best.hash) }));
  }

  /** Stop following; the tree keeps what was accepted. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.subscriptions.offAll();
    this.byId.clear();
  }

  private onReady(peer: ManagedPeer): void {
    if (this.byId.has(peer.id)) return;
    this.byId.set(peer.id, peer);
    const version = peer.remote.version;
    this.run(() => this.sync.peerReady(peer.id, { startHeight: version?.startHeight ?? 0, services: version?.services, version: version?.version }, this.clock.now()));
  }

  /** Run a core step and carry out what it asks; nothing throws out of a Manager event handler. */
  private run(step: () => HeaderSyncOutput[], after?: () => void): void {
    const stepThenAfter = (): HeaderSyncOutput[] => {
      try {
        return step();
      } finally {
        after?.();
      }
    };
    runCore(stepThenAfter, (o) => this.apply(o), (err) => this.safeEmit('listenerError', err));
  }

  private apply(o: HeaderSyncOutput): void {
    const peer = this.byId.get(o.peer);
    if (!peer) return;
    try {
      switch (o.type) {
        case 'getheaders':
          peer.send({ command: 'getheaders', version: this.manager.network.protocolVersion, locator: o.locator, hashStop: o.stop } as Message);
          break;
        case 'sendheaders':
          peer.send({ command: 'sendheaders' } as Message);
          break;
        case 'misbehavior':
          this.log.warn('misbehavior', () => ({ peer: peer.id, address: peer.remoteAddress, points: o.points, score: o.score, reason: o.reason }));
          this.safeEmit('misbehavior', { peer, points: o.points, score: o.score, reason: o.reason });
          break;
        case 'disconnect': {
          this.byId.delete(o.peer);
          const ban = o.ban && this.banPeers && !isLoopback(peer.remoteAddress);
          this.log.warn('peer dropped', () => ({ peer: peer.id, address: peer.remoteAddress, reason: o.reason, ban }));
          this.safeEmit('drop', { peer, reason: o.reason, ban });
          if (ban) this.manager.ban(peer.remoteAddress, { reason: o.reason });
          else void peer.close(o.ban ? 'banned' : 'local', o.reason);
          break;
        }
      }
    } catch (err) {
      this.safeEmit('listenerError', err);
    }
  }

  private safeEmit<E extends keyof HeaderFollowerEvents>(event: E, ...args: Parameters<HeaderFollowerEvents[E]>): void {
    emitSafely(this, this.log, event as string, args);
  }
}

const IPV6_LOOPBACK = Buffer.from('00000000000000000000000000000001', 'hex');

/** The node disconnects local peers that reach the ban score but never bans them. */
function isLoopback(address: string): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  if (isIPv4Mapped(ip)) return ip[12] === 127;
  return ip.equals(IPV6_LOOPBACK);
}

/** A reorg's log fields: how deep, and the old and new tips. */
function reorgFields(r: Reorg): Record<string, unknown> {
  const oldTip = r.disconnected[0] ?? r.fork;
  const newTip = r.connected[r.connected.length - 1] ?? r.fork;
  return {
    depth: r.disconnected.length,
    forkHeight: r.fork.height,
    oldTip: { height: oldTip.height, hash: toDisplayHex(oldTip.hash) },
    newTip: { height: newTip.height, hash: toDisplayHex(newTip.hash) },
  };
}

// A one-process network simulator for HeaderSync: simulated peers with their own chains and latency,
// a fake clock, and the core's outputs carried to them. Every run is bounded in simulated time and steps.
import { HeaderTree } from '../../lib/chain/header-tree.js';
import { HeaderSync, type HeaderSyncOutput } from '../../lib/chain/header-sync.js';
import { consensusParams } from '../../lib/chain/consensus.js';
import { checkHeader } from '../../lib/chain/rules.js';
import type { HeaderEntry, Reorg } from '../../lib/chain/types.js';
import type { BlockHeader } from '../../lib/messages/block-header.js';
import { regtest } from '../../lib/networks.js';
import { regtestGenesis, regtestGenesisHash, type SyntheticHeader } from '../helpers/synthetic-headers.js';

/** Fake time starts here (ms): after every synthetic header's timestamp, so none is "too new". */
export const SIM_START_MS = 2_000_000_000_000;
const TICK_MS = 1000;

export type SimBehaviour =
  /** Answers every getheaders after its latency. */
  | 'honest'
  /** Never answers. */
  | 'silent'
  /** Answers the first request, then never again. */
  | 'stall-after-first';

export interface SimPeerOptions {
  readonly id: string;
  /** Its chain above genesis (height 1 first). */
  readonly chain: readonly SyntheticHeader[];
  readonly latencyMs?: number;
  readonly behaviour?: SimBehaviour;
  /** The height it claims in its version message (default: its chain's). */
  readonly startHeight?: number;
}

export class SimPeer {
  readonly id: string;
  chain: SyntheticHeader[];
  readonly latencyMs: number;
  behaviour: SimBehaviour;
  readonly startHeight: number;
  answered = 0;
  requests = 0;
  gotSendheaders = false;
  droppedAt: number | undefined;
  dropReason: string | undefined;

  constructor(opts: SimPeerOptions) {
    this.id = opts.id;
    this.chain = [...opts.chain];
    this.latencyMs = opts.latencyMs ?? 10;
    this.behaviour = opts.behaviour ?? 'honest';
    this.startHeight = opts.startHeight ?? opts.chain.length;
  }

  /** What the node would reply: the headers after the first locator hash on its chain (genesis if none), at most 2000. */
  serve(locator: readonly Buffer[]): BlockHeader[] {
    let start = 0;
    for (const hash of locator) {
      if (hash.equals(regtestGenesisHash)) break;
      const i = this.chain.findIndex((h) => h.hash.equals(hash));
      if (i >= 0) {
        start = i + 1;
        break;
      }
    }
    return this.chain.slice(start, start + 2000).map((h) => h.header);
  }
}

export interface SimLogEntry {
  readonly at: number;
  readonly output: HeaderSyncOutput;
}

export type SimEvent =
  | { readonly at: number; readonly type: 'header'; readonly entry: HeaderEntry }
  | { readonly at: number; readonly type: 'tip'; readonly entry: HeaderEntry }
  | { readonly at: number; readonly type: 'reorg'; readonly reorg: Reorg }
  | { readonly at: number; readonly type: 'synced'; readonly entry: HeaderEntry };

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class SimNet {
  readonly tree = HeaderTree.fromGenesis(regtestGenesis);
  readonly sync: HeaderSync;
  readonly peers = new Map<string, SimPeer>();
  readonly log: SimLogEntry[] = [];
  readonly events: SimEvent[] = [];
  now = SIM_START_MS;
  private queue: Scheduled[] = [];
  private seq = 0;
  private nextTick = SIM_START_MS + TICK_MS;

  constructor(opts: { responseTimeoutMs?: number; afterBatch?: () => void } = {}) {
    const params = consensusParams(regtest);
    this.sync = new HeaderSync({
      tree: this.tree,
      check: (header, hash, parent, nowSeconds) => checkHeader(params, header, hash, parent, nowSeconds),
      insert: (header, hash) => this.tree.insert(header, hash),
      responseTimeoutMs: opts.responseTimeoutMs,
      afterBatch: opts.afterBatch,
    });
    this.sync.on('header', (entry) => this.events.push({ at: this.now, type: 'header', entry }));
    this.sync.on('tip', (entry) => this.events.push({ at: this.now, type: 'tip', entry }));
    this.sync.on('reorg', (reorg) => this.events.push({ at: this.now, type: 'reorg', reorg }));
    this.sync.on('synced', (entry) => this.events.push({ at: this.now, type: 'synced', entry }));
  }

  /** A peer completes its handshake after `delayMs`. */
  connect(peer: SimPeer, delayMs = 0): SimPeer {
    this.peers.set(peer.id, peer);
    this.at(delayMs, () => this.apply(this.sync.peerReady(peer.id, { startHeight: peer.startHeight }, this.now)));
    return peer;
  }

  /** The peer sends `headers` (an announcement) after `delayMs`. */
  sendHeaders(peer: SimPeer, headers: readonly BlockHeader[], delayMs = 0): void {
    this.at(delayMs, () => {
      if (peer.droppedAt === undefined) this.apply(this.sync.headers(peer.id, headers, this.now));
    });
  }

  /** The peer sends a block `inv` after `delayMs`. */
  sendInv(peer: SimPeer, hashes: readonly Buffer[], delayMs = 0): void {
    this.at(delayMs, () => {
      if (peer.droppedAt === undefined) this.apply(this.sync.blockInv(peer.id, hashes, this.now));
    });
  }

  at(delayMs: number, run: () => void): void {
    this.queue.push({ at: this.now + delayMs, seq: this.seq++, run });
    this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  /** Run until `untilMs` of simulated time has passed or `done()` holds; at most `maxSteps` steps. */
  run(untilMs: number, done: () => boolean = () => false, maxSteps = 100_000): void {
    const end = this.now + untilMs;
    for (let step = 0; step < maxSteps; step++) {
      if (done()) return;
      const next = this.queue[0];
      if (next && next.at <= this.nextTick && next.at <= end) {
        this.queue.shift();
        this.now = Math.max(this.now, next.at);
        next.run();
      } else if (this.nextTick <= end) {
        this.now = this.nextTick;
        this.nextTick += TICK_MS;
        this.apply(this.sync.tick(this.now));
      } else {
        this.now = end;
        return;
      }
    }
    throw new Error(`simulation did not settle in ${maxSteps} steps`);
  }

  outputs<T extends HeaderSyncOutput['type']>(type: T, peer?: string): (SimLogEntry & { output: Extract<HeaderSyncOutput, { type: T }> })[] {
    return this.log.filter((l) => l.output.type === type && (peer === undefined || l.output.peer === peer)) as never;
  }

  private apply(outputs: HeaderSyncOutput[]): void {
    for (const output of outputs) {
      this.log.push({ at: this.now, output });
      const peer = this.peers.get(output.peer);
      if (!peer || peer.droppedAt !== undefined) continue;
      switch (output.type) {
        case 'getheaders': {
          peer.requests++;
          if (peer.behaviour === 'silent' || (peer.behaviour === 'stall-after-first' && peer.answered >= 1)) break;
          peer.answered++;
          const locator = output.locator;
          this.at(peer.latencyMs, () => {
            if (peer.droppedAt === undefined) this.apply(this.sync.headers(peer.id, peer.serve(locator), this.now));
          });
          break;
        }
        case 'sendheaders':
          peer.gotSendheaders = true;
          break;
        case 'disconnect':
          peer.droppedAt = this.now;
          peer.dropReason = output.reason;
          this.at(0, () => this.apply(this.sync.peerClosed(peer.id, this.now)));
          break;
        case 'misbehavior':
          break;
      }
    }
  }
}

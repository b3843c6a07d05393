// A real Manager over in-memory duplex pairs, with scripted peers on the far ends, for tests of the chain
// shells (BlockFollower, Broadcaster) under a fake clock. The blocks are real: valid transactions, true merkle
// roots and hashes (no proof of work: the header chain is a test chain switched by hand, as a HeaderTree's best
// chain would be). Each scripted peer handshakes, records every frame it gets, and answers getdata for blocks
// as its mode says; it writes blocks in 64 KiB pieces and waits for 'drain' like a socket, so what it managed
// to hand over (`accepted`) shows whether the connection is reading.
import { EventEmitter } from 'eventemitter3';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';
import { onRawFrames, scriptedVersion, sendScripted } from '../helpers/scripted-peer.js';
import { encodeFrame } from '../../lib/framing/index.js';
import { Manager } from '../../lib/manager/index.js';
import { blockHash, encodeBlockHeader, type BlockHeader } from '../../lib/messages/block-header.js';
import { decodeMessage, type Message } from '../../lib/messages/index.js';
import { MSG_BLOCK } from '../../lib/messages/inventory.js';
import { merkleRoot } from '../../lib/messages/merkle.js';
import { sha256d } from '../../lib/hash.js';
import { regtest } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import type { Clock } from '../../lib/peer/clock.js';
import type { HeaderEntry } from '../../lib/chain/types.js';
import { compactSize } from '../messages/data-fixtures.js';

export const PIECE = 64 * 1024;

/** A clock that moves only when told. */
export class FakeClock implements Clock {
  t = 1_800_000_000_000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A valid one-input one-output transaction whose output script holds `scriptBytes` bytes (seeded, so txids differ). */
export function makeTx(seed: number, scriptBytes = 25): Buffer {
  const input = Buffer.alloc(32 + 4 + 1 + 4);
  input.writeUInt32LE(seed, 0);
  input.writeUInt32LE(0xffffffff, 37);
  const script = Buffer.alloc(scriptBytes, seed & 0xff);
  const value = Buffer.alloc(8);
  value.writeUInt32LE(seed, 0);
  return Buffer.concat([Buffer.from([1, 0, 0, 0]), compactSize(1), input, compactSize(1), value, compactSize(scriptBytes), script, Buffer.alloc(4)]);
}

export interface TestBlock {
  readonly entry: HeaderEntry;
  readonly txs: readonly Buffer[];
  readonly txids: readonly Buffer[];
  /** The `block` message payload. */
  readonly payload: Buffer;
}

export function makeBlock(parent: HeaderEntry | undefined, txs: readonly Buffer[], time: number): TestBlock {
  const txids = txs.map((tx) => sha256d(tx));
  const header: BlockHeader = {
    version: 1, prevBlock: parent?.hash ?? Buffer.alloc(32), merkleRoot: merkleRoot(txids), timestamp: time, bits: 0x207fffff, nonce: time,
  };
  const height = parent ? parent.height + 1 : 0;
  const entry: HeaderEntry = { hash: blockHash(header), prevHash: header.prevBlock, height, version: 1, time, bits: header.bits, chainWork: BigInt(height + 1) };
  return { entry, txs, txids, payload: Buffer.concat([encodeBlockHeader(header), compactSize(txs.length), ...txs]) };
}

/** Blocks 0..count on one line: block 0 stands for a genesis that is never fetched; `txsOf(h)` gives each block's transactions. */
export function makeLine(count: number, txsOf: (height: number) => Buffer[]): TestBlock[] {
  const line: TestBlock[] = [makeBlock(undefined, [makeTx(0)], 1000)];
  for (let h = 1; h <= count; h++) line.push(makeBlock(line[h - 1]!.entry, txsOf(h), 1000 + h));
  return line;
}

/** A best chain switched by hand, keeping every header ever seen (as a HeaderTree does). */
export class TestChain {
  private readonly all = new Map<string, HeaderEntry>();
  private line: HeaderEntry[] = [];
  readonly headers = new EventEmitter<{ tip: () => void; reorg: () => void }>();
  constructor(blocks: readonly TestBlock[] = []) {
    this.setBest(blocks);
  }
  get best(): HeaderEntry {
    return this.line[this.line.length - 1]!;
  }
  atHeight(height: number): HeaderEntry | undefined {
    return this.line[height];
  }
  get(hash: Buffer): HeaderEntry | undefined {
    return this.all.get(hash.toString('hex'));
  }
  /** Where the branch of `hash` meets the best line (as HeaderTree.commonHeight). */
  commonHeight(hash: Buffer): number | undefined {
    let e = this.get(hash);
    while (e && !this.line[e.height]?.hash.equals(e.hash)) e = this.get(e.prevHash);
    return e?.height;
  }
  setBest(blocks: readonly TestBlock[]): void {
    this.setEntries(blocks.map((b) => b.entry));
  }
  /** The best line, by header entries. */
  setEntries(line: readonly HeaderEntry[]): void {
    for (const e of line) this.all.set(e.hash.toString('hex'), e);
    this.line = [...line];
  }
  /** The chain grew: as a HeaderFollower's `tip` event. */
  extend(blocks: readonly TestBlock[]): void {
    this.setBest(blocks);
    this.headers.emit('tip');
  }
}

/** What a scripted peer does with a getdata for a block: serve it at once, keep it for the test, or ignore it. */
export type ServeMode = 'serve' | 'hold' | 'silent';

export class ScriptedPeer {
  /** Every message we sent it, decoded. */
  readonly received: Message[] = [];
  /** Hashes of blocks asked of it (getdata), in order, repeats included. */
  readonly blocksAsked: Buffer[] = [];
  /** Bytes of block frames it handed to the connection (written and not held back by backpressure). */
  accepted = 0;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly stream: Duplex,
    readonly blocks: ReadonlyMap<string, TestBlock>,
    public mode: ServeMode,
    startHeight: number,
  ) {
    onRawFrames(stream, (command, payload) => {
      const message = decodeMessage(command, payload);
      this.received.push(message);
      if (message.command === 'version') {
        sendScripted(stream, scriptedVersion({ startHeight, nonce: BigInt(port) }));
        sendScripted(stream, { command: 'verack' });
      } else if (message.command === 'ping') {
        if (message.nonce !== undefined) sendScripted(stream, { command: 'pong', nonce: message.nonce });
      } else if (message.command === 'getdata') {
        for (const item of message.inventory) {
          if (item.type !== MSG_BLOCK) continue;
          this.blocksAsked.push(item.hash);
          if (this.mode === 'serve') void this.sendBlock(item.hash);
        }
      }
    }, () => stream.destroy());
  }

  /** getdata frames for blocks it received. */
  get blockGetdatas(): number {
    return this.received.filter((m) => m.command === 'getdata' && m.inventory.some((i) => i.type === MSG_BLOCK)).length;
  }

  /** Sends the block (after any block being sent), in 64 KiB pieces, each after the connection took the one before. */
  sendBlock(hash: Buffer, options: { readonly stopAfter?: number } = {}): Promise<void> {
    const block = this.blocks.get(hash.toString('hex'));
    if (!block) throw new Error(`the scripted peer has no block ${hash.toString('hex')}`);
    const frame = encodeFrame(regtest.magic, 'block', block.payload);
    const end = Math.min(frame.length, options.stopAfter ?? frame.length);
    this.sending = this.sending.then(async () => {
      for (let at = 0; at < end && !this.stream.destroyed; at += PIECE) {
        const piece = frame.subarray(at, Math.min(end, at + PIECE));
        const flowing = this.stream.write(piece);
        this.accepted += piece.length;
        if (!flowing) await drained(this.stream);
      }
    });
    return this.sending;
  }

  /** An unsolicited message (an inv, say). */
  send(message: Message): void {
    sendScripted(this.stream, message);
  }
}

function drained(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

export interface Net {
  readonly manager: Manager;
  /** The scripted peer behind each port, the latest connection first replaced on a redial. */
  readonly peers: Map<number, ScriptedPeer>;
  /** Resolves once `count` peers are ready on the Manager. */
  ready(count: number): Promise<void>;
}

/**
 * A Manager with manual peers 127.0.0.1:1..n, each dial answered by a fresh scripted peer over a duplex pair
 * (mode from `modes`, serving `blocks`, claiming `startHeight`). Nothing touches a real socket.
 */
export function scriptedNet(options: { clock: Clock; modes: readonly ServeMode[]; blocks: readonly TestBlock[]; startHeight: number }): Net {
  const byHash = new Map(options.blocks.map((b) => [b.entry.hash.toString('hex'), b]));
  const peers = new Map<number, ScriptedPeer>();
  const manager = new Manager({
    network: regtest,
    discover: false,
    outbound: 0,
    feelerIntervalMs: 0,
    clock: options.clock,
    peers: options.modes.map((_, i) => `127.0.0.1:${i + 1}`),
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
    dialer: async (_host, port) => {
      const [ours, theirs] = duplexPair();
      peers.set(port, new ScriptedPeer(port, theirs, byHash, options.modes[port - 1]!, options.startHeight));
      return ours;
    },
  });
  return {
    manager,
    peers,
    ready: (count) => waitFor(`${count} peers ready`, () => manager.peers.filter((p) => p.state === 'ready').length >= count),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every 5 ms of real time; throws after `ms`. */
export async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A promise with its resolve and reject at hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

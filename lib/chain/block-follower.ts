// The shell around BlockSync: feeds it a Manager's peers and block streams and a timer, writes every block
// as it streams into an on-disk spool (so blocks that arrive ahead of their turn cost disk, not memory),
// and hands blocks to the app's async handler one at a time in chain order. The app acknowledges a block
// by resolving its handler; the cursor is then persisted crash-safely (block-cursor.ts). A reorg that
// takes away acknowledged blocks is told to the app as blockDisconnected, tip first, before the new branch.
// The Manager knows nothing of this; only its public peers and events are used.
import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'eventemitter3';
import type { Manager, ManagedPeer } from '../manager/index.js';
import type { Message, MessageOf } from '../messages/index.js';
import { blockHash, decodeBlockHeader, encodeBlockHeader, type BlockHeader } from '../messages/block-header.js';
import type { BlockEnd, BlockHeaderEvent, BlockTransactionEvent, BlockTxEndEvent, BlockTxPieceEvent, BlockTxStartEvent } from '../peer/block-receiver.js';
import type { CloseReason } from '../peer/reasons.js';
import { systemClock, type Clock } from '../peer/clock.js';
import { BlockSync, type BlockChain, type BlockSyncOptions, type BlockSyncOutput } from './block-sync.js';
import { CursorFile, type BlockCursor } from './block-cursor.js';
import type { HeaderEntry } from './types.js';
import { Listeners } from './listeners.js';
import { emitSafely, runCore } from './run-core.js';
import { LogHook, logHook, type Logger } from '../logger.js';
import { toDisplayHex } from '../hash.js';

/** One transaction of a delivered block. */
export interface DeliveredTx {
  readonly index: number;
  readonly txid: Buffer;
  readonly size: number;
  /** The whole transaction, when at most `maxWholeTx` bytes. */
  readonly raw: Buffer | undefined;
  /** Its bytes in pieces from the spool (a larger one has no `raw`); read them before asking for the next transaction. */
  pieces(): AsyncIterable<Buffer>;
}

/** A block handed to the app: its header at once, its transactions streamed from the spool, in order. */
export interface DeliveredBlock {
  readonly height: number;
  readonly hash: Buffer;
  readonly header: BlockHeader;
  readonly txCount: number;
  /** Size of the block message (header and transactions). */
  readonly bytes: number;
  /** Verdict of blockEnd: only blocks whose checksum and merkle root matched are delivered. */
  readonly merkleRootOk: boolean | undefined;
  transactions(): AsyncIterable<DeliveredTx>;
}

export interface BlockFollowerOptions {
  readonly manager: Manager;
  /** The header tree the HeaderFollower keeps (a HeaderStore's tree or a HeaderTree). */
  readonly tree: BlockChain & { get(hash: Buffer): HeaderEntry | undefined };
  /** Tell the follower when the best chain changes: a HeaderFollower (its `tip` and `reorg` events). */
  readonly headers: { on(event: 'tip' | 'reorg', fn: () => void): unknown; off(event: 'tip' | 'reorg', fn: () => void): unknown };
  /** Directory for `cursor.json` and the `spool/` folder. */
  readonly dir: string;
  /** First block to deliver when there is no saved cursor (default 0). A saved cursor always wins. */
  readonly fromHeight?: number;
  /**
   * Or the first block by hash (wire order), when there is no saved cursor: it must be a header of the best
   * chain the tree already holds (sync headers first), else the constructor throws a RangeError.
   */
  readonly fromHash?: Buffer;
  /** The app's handler: resolve to acknowledge the block (the cursor is then saved); a rejection stops the follower. */
  readonly onBlock: (block: DeliveredBlock) => Promise<void> | void;
  /** An acknowledged block left the best chain (tip first); resolve to move the cursor below it. */
  readonly onBlockDisconnected?: (block: { readonly height: number; readonly hash: Buffer }) => Promise<void> | void;
  /** Bytes the spool may hold (complete blocks plus the estimate in flight) before getdata pauses (default 512 MiB). */
  readonly spoolBudget?: number;
  /** Transactions up to this size come whole in `raw` (default 16 MiB). */
  readonly maxWholeTx?: number;
  readonly clock?: Clock;
  /** How often the stall rules run (default 500 ms: with the 9 s window a silent peer's block moves within 9.5 s plus timer lag). */
  readonly tickIntervalMs?: number;
  /** Passed to the core (window, per-peer limits, floor, stall and slow-block times). */
  readonly sync?: Omit<BlockSyncOptions, 'chain' | 'cursorHeight' | 'spoolBudget'>;
  /** Where lifecycle records go: start, re-requests (stalls), misbehaviour, drops, cursor saves (debug), disconnected blocks, errors. Default: nothing. */
  readonly logger?: Logger;
}

export interface BlockFollowerEvents {
  /** A block was acknowledged and the cursor saved. */
  acknowledged: (cursor: BlockCursor) => void;
  /**
   * A block of the best chain arrived whole, checksum and merkle root verified, ahead of its turn to be
   * delivered. `watched`: its txids that a watchTxids() predicate matched (a broadcaster's own, to see them mined).
   */
  blockStored: (block: { readonly hash: Buffer; readonly height: number; readonly watched: readonly Buffer[] }) => void;
  /** A block was asked of another peer (stall, slow block, bad data, disconnect). */
  rerequest: (event: { readonly hash: Buffer; readonly from: string | undefined; readonly to: string; readonly reason: string }) => void;
  misbehavior: (event: { readonly peer: ManagedPeer; readonly points: number; readonly score: number; readonly reason: string }) => void;
  drop: (event: { readonly peer: ManagedPeer; readonly reason: string; readonly ban: boolean }) => void;
  /** The handler rejected or the spool failed: the follower stopped. */
  error: (error: unknown) => void;
  listenerError: (error: unknown) => void;
}

const SPOOL_MAGIC = Buffer.from('BSPL');
const WRITE_BUFFER = 1 << 20;
const DEFAULT_MAX_WHOLE_TX = 16 * 1024 * 1024;

/** Bytes of one block waiting to be written past which the peer sending it is paused (it reads again at half). */
const MAX_PENDING_WRITES = 4 * WRITE_BUFFER;

/** Write buffers whose write completed, reused by the next flush of any writer (fewer 1 MiB allocations to collect). */
const spareBuffers: Buffer[] = [];
const MAX_SPARE_BUFFERS = 8;

/**
 * One block being written to the spool as it streams in from one peer. Writes go out asynchronously, one
 * after another (a huge transaction's header is patched after its placeholder), so a slow disk never blocks
 * the event loop and the other peers' sockets; past MAX_PENDING_WRITES, congestion() tells the shell to
 * pause this peer, which bounds the bytes waiting in memory.
 */
class SpoolWriter {
  private fh: fs.promises.FileHandle | undefined;
  private buf = spareBuffers.pop() ?? Buffer.allocUnsafe(WRITE_BUFFER);
  private used = 0;
  /** File offset of the first buffered byte. */
  private pos = 0;
  private hugeAt = -1;
  /** Txids of this block that a watchTxids() predicate matched. */
  readonly watched: Buffer[] = [];
  /** The last queued step: each write waits for the one before. */
  private tail: Promise<void>;
  private pendingBytes = 0;
  private failure: unknown;
  private aborted = false;
  private drainWaiters: (() => void)[] = [];

  constructor(readonly file: string, readonly hash: Buffer, start: BlockHeaderEvent) {
    this.tail = fs.promises.open(file, 'w').then(
      (fh) => {
        this.fh = fh;
      },
      (err: unknown) => {
        this.failure = err;
      },
    );
    const head = Buffer.alloc(4 + 80 + 4);
    SPOOL_MAGIC.copy(head, 0);
    encodeBlockHeader(start.header).copy(head, 4);
    head.writeUInt32LE(start.txCount, 84);
    this.write(head);
  }

  /** The file's size once everything queued and buffered is written. */
  get size(): number {
    return this.pos + this.used;
  }

  /** The first write error (the block cannot be kept), if any. */
  get error(): unknown {
    return this.failure;
  }

  tx(raw: Buffer, txid: Buffer): void {
    const h = Buffer.allocUnsafe(36);
    h.writeUInt32LE(raw.length, 0);
    txid.copy(h, 4);
    this.write(h);
    this.write(raw);
  }

  hugeStart(): void {
    this.flush();
    this.hugeAt = this.pos;
    this.write(Buffer.alloc(36));
  }

  hugePiece(bytes: Buffer): void {
    this.write(bytes);
  }

  hugeEnd(txid: Buffer, size: number): void {
    this.flush();
    const h = Buffer.allocUnsafe(36);
    h.writeUInt32LE(size, 0);
    txid.copy(h, 4);
    this.enqueue(h, this.hugeAt);
  }

  /**
   * While more than MAX_PENDING_WRITES bytes wait to be written: a promise that settles once they are down
   * to half (or the writer ends). Given once per such episode, so the peer is held once.
   */
  congestion(): Promise<void> | undefined {
    if (this.pendingBytes <= MAX_PENDING_WRITES || this.drainWaiters.length > 0 || this.aborted) return undefined;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Writes what is buffered and closes the file; rejects when any write failed. */
  finish(): Promise<void> {
    this.flush();
    const done = this.tail.then(async () => {
      const fh = this.fh;
      this.fh = undefined;
      if (fh) await fh.close().catch((err: unknown) => void (this.failure ??= err));
      if (this.failure !== undefined) throw this.failure;
    });
    this.tail = done.catch(() => undefined);
    return done;
  }

  /** Drops what is still queued, closes and removes the file. */
  abort(): Promise<void> {
    if (!this.aborted) {
      this.aborted = true;
      this.release();
      this.tail = this.tail.then(async () => {
        const fh = this.fh;
        this.fh = undefined;
        await fh?.close().catch(() => undefined);
        await fs.promises.rm(this.file, { force: true });
      });
    }
    return this.tail;
  }

  private write(b: Buffer): void {
    if (this.used + b.length > this.buf.length) this.flush();
    if (b.length >= this.buf.length) {
      // Queued as it is: the decoder never writes to a buffer it emitted.
      this.enqueue(b, this.pos);
      this.pos += b.length;
      return;
    }
    b.copy(this.buf, this.used);
    this.used += b.length;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.enqueue(this.buf.subarray(0, this.used), this.pos, this.buf);
    this.pos += this.used;
    this.buf = spareBuffers.pop() ?? Buffer.allocUnsafe(WRITE_BUFFER);
    this.used = 0;
  }

  /** `reuse`: a write buffer that goes back to the spares once written. */
  private enqueue(data: Buffer, at: number, reuse?: Buffer): void {
    this.pendingBytes += data.length;
    this.tail = this.tail.then(async () => {
      try {
        for (let done = 0; done < data.length && this.failure === undefined && !this.aborted; ) {
          const { bytesWritten } = await this.fh!.write(data, done, data.length - done, at + done);
          if (bytesWritten === 0) throw new Error(`spool file ${this.file}: nothing written`);
          done += bytesWritten;
        }
      } catch (err) {
        this.failure ??= err;
      }
      this.pendingBytes -= data.length;
      if (reuse && spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(reuse);
      if (this.pendingBytes <= MAX_PENDING_WRITES / 2 || this.failure !== undefined) this.release();
    });
  }

  private release(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}

/** Sequential reads from a spool file, at most `chunk` bytes held. */
class SpoolReader {
  private buf = Buffer.alloc(0);
  private filePos = 0;
  private constructor(private readonly fh: fs.promises.FileHandle, private readonly chunk: number) {}

  static async open(file: string): Promise<SpoolReader> {
    return new SpoolReader(await fs.promises.open(file, 'r'), WRITE_BUFFER);
  }

  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      const want = Math.max(this.chunk, n - this.buf.length);
      const b = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.fh.read(b, 0, want, this.filePos);
      if (bytesRead === 0) throw new Error('spool file ends early');
      this.filePos += bytesRead;
      this.buf = this.buf.length === 0 ? b.subarray(0, bytesRead) : Buffer.concat([this.buf, b.subarray(0, bytesRead)]);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Up to `max` bytes of what is left of a record, for pieces. */
  async readSome(max: number): Promise<Buffer> {
    if (this.buf.length === 0) await this.read(1).then((b) => (this.buf = Buffer.concat([b, this.buf])));
    const n = Math.min(max, this.buf.length);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

export class BlockFollower extends EventEmitter<BlockFollowerEvents> {
  readonly sync: BlockSync;
  private readonly o: BlockFollowerOptions;
  private readonly clock: Clock;
  private readonly cursorFile: CursorFile;
  private readonly spoolDir: string;
  private cursorState: BlockCursor;
  private readonly byId = new Map<string, ManagedPeer>();
  private readonly writers = new Map<string, SpoolWriter>();
  /** Hex hash -> spool file of a complete block waiting for its turn. */
  private readonly spooled = new Map<string, { readonly file: string; readonly bytes: number }>();
  /** Hex hash -> a complete block whose last writes are still going to disk (`discarded`: dropped meanwhile). */
  private readonly finishing = new Map<string, { discarded: boolean }>();
  /** Spool work running in the background (writes, renames, removals), awaited by stop(). */
  private readonly io = new Set<Promise<void>>();
  private readonly subscriptions = new Listeners();
  private readonly txWatchers = new Set<(txid: Buffer) => boolean>();
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private stopped = true;
  private idle: Promise<void> = Promise.resolve();
  private readonly log: LogHook;

  constructor(options: BlockFollowerOptions) {
    super();
    this.o = options;
    this.log = logHook(options.logger);
    this.clock = options.clock ?? systemClock;
    fs.mkdirSync(options.dir, { recursive: true });
    this.cursorFile = new CursorFile(path.join(options.dir, 'cursor.json'));
    this.spoolDir = path.join(options.dir, 'spool');
    // The spool holds nothing the cursor needs: blocks past it are fetched again after a restart.
    fs.rmSync(this.spoolDir, { recursive: true, force: true });
    fs.mkdirSync(this.spoolDir, { recursive: true });
    this.cursorState = this.cursorFile.load() ?? BlockFollower.startCursor(options);
    this.sync = new BlockSync({ ...options.sync, chain: options.tree, cursorHeight: this.cursorState.height, spoolBudget: options.spoolBudget });
  }

  /** The cursor before the first block to deliver, from fromHash or fromHeight. */
  private static startCursor(options: BlockFollowerOptions): BlockCursor {
    if (options.fromHeight !== undefined && options.fromHash !== undefined) throw new RangeError('give fromHeight or fromHash, not both');
    if (options.fromHash !== undefined) {
      const entry = options.tree.get(options.fromHash);
      if (!entry || !options.tree.atHeight(entry.height)?.hash.equals(entry.hash)) {
        throw new RangeError(`fromHash ${toDisplayHex(options.fromHash)} is not a block of the best header chain (sync its headers first)`);
      }
      return { height: entry.height - 1, hash: entry.height > 0 ? entry.prevHash : undefined };
    }
    const from = options.fromHeight ?? 0;
    return { height: from - 1, hash: from > 0 ? options.tree.atHeight(from - 1)?.hash : undefined };
  }

  /** The last acknowledged block. */
  get cursor(): BlockCursor {
    return this.cursorState;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const m = this.o.manager;
    const on = (event: string, fn: (...args: never[]) => void): void => this.subscriptions.on(m, event as 'peer:ready', fn);
    on('peer:ready', (peer: ManagedPeer) => this.onReady(peer));
    on('peer:close', (peer: ManagedPeer, _r: CloseReason) => {
      this.abortWriter(peer.id);
      this.byId.delete(peer.id);
      this.run(() => this.sync.peerClosed(peer.id, this.clock.now()));
    });
    on('blockHeader', (ev: BlockHeaderEvent, peer: ManagedPeer) => this.onBlockHeader(ev, peer));
    on('blockTx', (tx: BlockTransactionEvent, peer: ManagedPeer) => this.spoolWrite(peer, (w) => (w.tx(tx.raw, tx.txid), this.watchTx(w, tx.txid))));
    on('blockTxStart', (_e: BlockTxStartEvent, peer: ManagedPeer) => this.spoolWrite(peer, (w) => w.hugeStart()));
    on('blockTxPiece', (e: BlockTxPieceEvent, peer: ManagedPeer) => this.spoolWrite(peer, (w) => w.hugePiece(e.bytes)));
    on('blockTxEnd', (e: BlockTxEndEvent, peer: ManagedPeer) => this.spoolWrite(peer, (w) => (w.hugeEnd(e.txid, e.size), this.watchTx(w, e.txid))));
    on('blockEnd', (end: BlockEnd, peer: ManagedPeer) => this.onBlockEnd(end, peer));
    on('notfound', (msg: MessageOf<'notfound'>, peer: ManagedPeer) => {
      for (const item of msg.inventory) if (item.type === 2) this.run(() => this.sync.notFound(peer.id, item.hash, this.clock.now()));
    });
    on('headers', (msg: MessageOf<'headers'>, peer: ManagedPeer) => {
      if (msg.headers.length > 0) this.onAnnounce(peer, [this.lastHash(msg)]);
      else this.run(() => this.sync.peerNothingNewer(peer.id, this.clock.now()));
    });
    on('inv', (msg: MessageOf<'inv'>, peer: ManagedPeer) => this.onAnnounce(peer, msg.inventory.filter((i) => i.type === 2).map((i) => i.hash)));
    const chainChanged = (): void => {
      this.run(() => this.sync.chainChanged(this.clock.now()));
      this.pump();
    };
    this.subscriptions.on(this.o.headers, 'tip', chainChanged);
    this.subscriptions.on(this.o.headers, 'reorg', chainChanged);
    for (const peer of m.peers) if (peer.state === 'ready') this.onReady(peer);
    this.timer = setInterval(() => this.tick(), this.o.tickIntervalMs ?? 500);
    this.timer.unref();
    this.run(() => this.sync.chainChanged(this.clock.now()));
    this.pump();
    this.log.info('block follower started', () => ({ cursor: this.cursorState.height, dir: this.o.dir }));
  }

  /** Stop fetching and delivering; resolves once the handler running (if any) and the spool's writes have settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.subscriptions.offAll();
    for (const id of [...this.writers.keys()]) this.abortWriter(id);
    await this.idle;
    while (this.io.size > 0) await Promise.all([...this.io]);
  }

  /**
   * Look for txids in every block fetched (the Broadcaster's own, with `blocks: follower`): the matches come
   * with `blockStored`, so nobody else has to download the block again. Returns the function that ends the watch.
   */
  watchTxids(match: (txid: Buffer) => boolean): () => void {
    const watcher = (txid: Buffer): boolean => match(txid);
    this.txWatchers.add(watcher);
    return () => this.txWatchers.delete(watcher);
  }

  private watchTx(writer: SpoolWriter, txid: Buffer): void {
    for (const match of this.txWatchers) {
      if (!match(txid)) continue;
      writer.watched.push(Buffer.from(txid));
      return;
    }
  }

  private lastHash(msg: MessageOf<'headers'>): Buffer {
    return blockHash(msg.headers[msg.headers.length - 1]!);
  }

  /** The peer showed these headers (a `headers` message's last, an `inv`'s blocks): the core asks it only for their branch. */
  private onAnnounce(peer: ManagedPeer, hashes: Buffer[]): void {
    for (const h of hashes) this.run(() => this.sync.peerHas(peer.id, h, this.clock.now()));
  }

  private onReady(peer: ManagedPeer): void {
    if (this.byId.has(peer.id)) return;
    this.byId.set(peer.id, peer);
    const v = peer.remote.version;
    this.run(() => this.sync.peerReady(peer.id, { services: v?.services, height: v?.startHeight ?? 0 }, this.clock.now()));
  }

  private tick(): void {
    const now = this.clock.now();
    for (const [id, peer] of this.byId) {
      try {
        this.sync.progress(id, peer.stats().bytesReceived, now);
      } catch (err) {
        this.safeEmit('listenerError', err);
      }
    }
    this.run(() => this.sync.tick(now));
  }

  private onBlockHeader(ev: BlockHeaderEvent, peer: ManagedPeer): void {
    this.abortWriter(peer.id);
    const now = this.clock.now();
    this.sync.progress(peer.id, peer.stats().bytesReceived, now);
    this.run(() => this.sync.blockStarted(peer.id, ev.hash, now));
    if (!this.byId.has(peer.id) || !this.sync.wants(ev.hash)) return;
    this.guard(() => {
      const file = path.join(this.spoolDir, `${ev.hash.toString('hex')}.${peer.id.replace(/[^A-Za-z0-9_-]/g, '_')}.part`);
      this.writers.set(peer.id, new SpoolWriter(file, ev.hash, ev));
    });
  }

  private onBlockEnd(end: BlockEnd, peer: ManagedPeer): void {
    const writer = this.writers.get(peer.id);
    this.writers.delete(peer.id);
    const now = this.clock.now();
    this.sync.progress(peer.id, peer.stats().bytesReceived, now);
    const ok = end.checksumOk && end.merkleRootOk !== false;
    // The spool budget counts bytes on disk: the spool file's size (36 bytes a tx over the wire's varints),
    // known before its last writes complete.
    const spoolSize = ok && writer?.hash.equals(end.hash) && writer.error === undefined ? writer.size : undefined;
    const verdict = ok ? ({ ok: true, bytes: spoolSize ?? end.bytes } as const) : ({ ok: false, reason: end.checksumOk ? 'bad-merkle-root' : 'bad-checksum' } as const);
    let keep = false;
    this.run(() => {
      const r = this.sync.blockCompleted(peer.id, end.hash, verdict, now);
      keep = r.keep;
      return r.outputs;
    });
    if (!keep || !writer || spoolSize === undefined) {
      if (writer?.error !== undefined) this.safeEmit('listenerError', writer.error);
      if (writer) this.track(writer.abort());
      // Taken as complete but with no copy on disk (the spool failed): fetch it again.
      if (keep) this.run(() => this.sync.unspool(end.hash, now));
      return;
    }
    const key = end.hash.toString('hex');
    const state = { discarded: false };
    this.finishing.set(key, state);
    this.track(this.store(writer, end, state));
    this.safeEmit('blockStored', { hash: end.hash, height: this.o.tree.get(end.hash)?.height ?? -1, watched: writer.watched });
    // The peer's next block waits while this one's writes are still backed up.
    this.guard(() => this.holdForDisk(peer, writer.congestion()));
  }

  /** The block's last bytes reach the spool file, which then takes its final name and waits for its turn. */
  private async store(writer: SpoolWriter, end: BlockEnd, state: { discarded: boolean }): Promise<void> {
    const key = end.hash.toString('hex');
    const file = path.join(this.spoolDir, `${key}.blk`);
    // Only this copy's entry: after a discard the same block may be fetched and finishing again.
    const done = (): void => {
      if (this.finishing.get(key) === state) this.finishing.delete(key);
    };
    let renamed = false;
    try {
      await writer.finish();
      if (!state.discarded) {
        await fs.promises.rename(writer.file, file);
        renamed = true;
      }
    } catch (err) {
      done();
      await writer.abort();
      this.safeEmit('listenerError', err);
      if (!state.discarded && !this.stopped) this.run(() => this.sync.unspool(end.hash, this.clock.now()));
      return;
    }
    done();
    if (state.discarded) {
      // Dropped while its writes finished (no longer on the best chain).
      await (renamed ? fs.promises.rm(file, { force: true }) : writer.abort());
      return;
    }
    this.spooled.set(key, { file, bytes: end.bytes });
    this.pump();
  }

  /** Hands one streamed piece of a block to its peer's spool writer, pausing the peer while the disk lags. */
  private spoolWrite(peer: ManagedPeer, write: (writer: SpoolWriter) => void): void {
    const writer = this.writers.get(peer.id);
    if (!writer) return;
    this.guard(() => {
      write(writer);
      this.holdForDisk(peer, writer.congestion());
    });
  }

  /** Pauses the peer until the disk caught up; BlockSync is told, so the pause is not counted as its slowness. */
  private holdForDisk(peer: ManagedPeer, congested: Promise<void> | undefined): void {
    if (!congested) return;
    peer.holdReading(congested);
    this.sync.peerHeld(peer.id);
    void congested.finally(() => this.sync.peerReleased(peer.id, this.clock.now()));
  }

  private abortWriter(peerId: string): void {
    const writer = this.writers.get(peerId);
    this.writers.delete(peerId);
    if (writer) this.track(writer.abort());
  }

  /** Keeps background spool work for stop(); a failure is reported, never thrown. */
  private track(work: Promise<void>): void {
    const tracked = work.catch((err: unknown) => this.safeEmit('listenerError', err)).finally(() => this.io.delete(tracked));
    this.io.add(tracked);
  }

  /** Deliver what is due, one block at a time, rewinding first when the cursor left the best chain. */
  private pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    this.idle = this.deliverLoop().catch((err) => {
      this.log.error('block follower stopped', () => ({ cursor: this.cursorState.height, err }));
      this.stopped = true;
      this.safeEmit('error', err);
      void this.stop();
    });
  }

  private async deliverLoop(): Promise<void> {
    try {
      while (!this.stopped) {
        const c = this.cursorState;
        if (c.hash && c.height >= 0 && !this.o.tree.get(c.hash)) return; // headers not there yet: the tip event pumps again
        if (c.hash && c.height >= 0 && !this.o.tree.atHeight(c.height)?.hash.equals(c.hash)) {
          // The acknowledged tip left the best chain: tell the app, tip first, and step the cursor back.
          this.log.info('block disconnected', () => ({ height: c.height, hash: toDisplayHex(c.hash!) }));
          await this.o.onBlockDisconnected?.({ height: c.height, hash: c.hash });
          const parent = this.o.tree.get(c.hash)?.prevHash;
          await this.saveCursor({ height: c.height - 1, hash: c.height - 1 >= 0 ? parent : undefined });
          continue;
        }
        const next = this.sync.nextToDeliver();
        if (!next) return;
        const key = next.hash.toString('hex');
        const spooled = this.spooled.get(key);
        // Its last writes are still going to disk: store() pumps again when they are done.
        if (!spooled && this.finishing.has(key)) return;
        if (!spooled) throw new Error(`block ${key} complete but not in the spool`);
        await this.deliver(next, spooled.file, spooled.bytes);
        this.spooled.delete(key);
        this.track(fs.promises.rm(spooled.file, { force: true }));
        await this.saveCursor({ height: next.height, hash: next.hash });
      }
    } finally {
      // Cleared in the same synchronous step as the last "nothing due" check. Clearing it in a `.finally`
      // on this promise left a window of microtasks in which blocks ending in the same socket read found the
      // loop still marked running, skipped their pump, and were never delivered.
      this.pumping = false;
    }
  }

  private async saveCursor(c: BlockCursor): Promise<void> {
    await this.cursorFile.save(c);
    this.cursorState = c;
    this.log.debug('cursor saved', () => ({ height: c.height, hash: c.hash ? toDisplayHex(c.hash) : undefined }));
    this.run(() => this.sync.setCursor(c.height, this.clock.now()));
    this.safeEmit('acknowledged', c);
  }

  private async deliver(entry: HeaderEntry, file: string, bytes: number): Promise<void> {
    const reader = await SpoolReader.open(file);
    try {
      const head = await reader.read(88);
      if (!head.subarray(0, 4).equals(SPOOL_MAGIC)) throw new Error(`spool file ${file} is damaged`);
      const header = decodeBlockHeader(Buffer.from(head.subarray(4, 84)));
      const txCount = head.readUInt32LE(84);
      const maxWhole = this.o.maxWholeTx ?? DEFAULT_MAX_WHOLE_TX;
      let consumed = false;
      const transactions = async function* (): AsyncGenerator<DeliveredTx> {
        if (consumed) throw new Error('transactions() can be read once');
        consumed = true;
        for (let index = 0; index < txCount; index++) {
          const h = await reader.read(36);
          const size = h.readUInt32LE(0);
          const txid = Buffer.from(h.subarray(4, 36));
          if (size <= maxWhole) {
            const raw = Buffer.from(await reader.read(size));
            yield { index, txid, size, raw, pieces: async function* () { yield raw; } };
            continue;
          }
          let left = size;
          const pieces = async function* (): AsyncGenerator<Buffer> {
            while (left > 0) {
              const b = await reader.readSome(Math.min(left, WRITE_BUFFER));
              left -= b.length;
              yield b;
            }
          };
          yield { index, txid, size, raw: undefined, pieces };
          // Skip what the app did not read.
          while (left > 0) left -= (await reader.readSome(Math.min(left, WRITE_BUFFER))).length;
        }
      };
      await this.o.onBlock({ height: entry.height, hash: entry.hash, header, txCount, bytes, merkleRootOk: true, transactions });
    } finally {
      await reader.close();
    }
  }

  private run(step: () => BlockSyncOutput[]): void {
    runCore(step, (o) => this.apply(o), (err) => this.safeEmit('listenerError', err));
  }

  private apply(o: BlockSyncOutput): void {
    try {
      switch (o.type) {
        case 'getdata': {
          const peer = this.byId.get(o.peer);
          peer?.send({ command: 'getdata', inventory: o.hashes.map((hash) => ({ type: 2, hash })) } as Message);
          break;
        }
        case 'misbehavior': {
          const peer = this.byId.get(o.peer);
          if (peer) this.log.warn('misbehavior', () => ({ peer: peer.id, address: peer.remoteAddress, points: o.points, score: o.score, reason: o.reason }));
          if (peer) this.safeEmit('misbehavior', { peer, points: o.points, score: o.score, reason: o.reason });
          break;
        }
        case 'disconnect': {
          const peer = this.byId.get(o.peer);
          if (!peer) break;
          this.byId.delete(o.peer);
          this.abortWriter(o.peer);
          this.log.warn('peer dropped', () => ({ peer: peer.id, address: peer.remoteAddress, reason: o.reason, ban: o.ban }));
          this.safeEmit('drop', { peer, reason: o.reason, ban: o.ban });
          void peer.close(o.ban ? 'banned' : 'local', o.reason);
          break;
        }
        case 'rerequest':
          this.log.warn('block re-requested', () => ({ hash: toDisplayHex(o.hash), from: o.from, to: o.to, reason: o.reason }));
          this.safeEmit('rerequest', { hash: o.hash, from: o.from, to: o.to, reason: o.reason });
          break;
        case 'discard': {
          const key = o.hash.toString('hex');
          const finishing = this.finishing.get(key);
          if (finishing) finishing.discarded = true;
          const spooled = this.spooled.get(key);
          this.spooled.delete(key);
          if (spooled) this.track(fs.promises.rm(spooled.file, { force: true }));
          break;
        }
      }
    } catch (err) {
      this.safeEmit('listenerError', err);
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.safeEmit('listenerError', err);
    }
  }

  private safeEmit<E extends keyof BlockFollowerEvents>(event: E, ...args: Parameters<BlockFollowerEvents[E]>): void {
    emitSafely(this, this.log, event as string, args);
  }
}

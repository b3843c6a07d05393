// The capture writer: the file I/O shell around CaptureCore. One folder per peer, Core's two .dat
// files plus bsv-wire's .wire sidecars and notes (format.ts), appended as bytes pass the socket.
//
// Memory is bounded. When more than `pauseBytes` of received bytes wait for the disk, the tap returns a
// promise, which holds the connection's reading paused until the queue has drained to half of that:
// a peer is then read no faster than its capture is written. Bytes we send cannot be paused that way,
// so the hard cap stays: past `maxQueueBytes` waiting, the capture of that direction stops with a
// 'stop' note (reason 'overflow') rather than grow; the connection itself is untouched. The file then
// ends inside a record, which readers see as a truncated last record.
//
// Rotation: before a record that would take a file past `maxFileBytes`, msgs_recv.dat and its .wire are
// renamed to msgs_recv.N.dat / msgs_recv.N.wire (N = 1, 2, ... in the order written, so the highest N
// is the newest; the .dat suffix keeps them readable by Core's parser) and a new file is started. Only
// the newest `keepFiles` rotated files are kept. A record is never split across files, so a single
// record larger than the cap goes alone into one file.
import { appendFile, mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Network } from '../networks.js';
import type { CloseReason } from '../peer/reasons.js';
import type { WireTap } from '../peer/wire-tap.js';
import { CaptureCore, type CapturePiece } from './core.js';
import {
  NOTES_FILE,
  RECORD_HEADER_SIZE,
  peerFolderName,
  recordFileName,
  wireFileName,
  type CaptureDirection,
  type CaptureNote,
  type CaptureStopReason,
} from './format.js';

export const DEFAULT_CAPTURE_MAX_FILE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_CAPTURE_KEEP_FILES = 4;
export const DEFAULT_CAPTURE_MAX_QUEUE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_CAPTURE_PAUSE_BYTES = 4 * 1024 * 1024;
/** Queued pieces are written in batches of up to this many bytes (one writev). */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** ... and of at most this many buffers (the usual IOV_MAX). */
const WRITE_BATCH_BUFFERS = 1024;

export interface CaptureWriterOptions {
  /** The capture directory; a folder per peer is made inside it. */
  readonly dir: string;
  readonly network: Network;
  /** Cap per .dat file before it is rotated (default 256 MiB). */
  readonly maxFileBytes?: number;
  /** Rotated files kept per direction (default 4; older ones are deleted). */
  readonly keepFiles?: number;
  /** Bytes per direction waiting for the disk before that direction's capture stops (default 16 MiB). */
  readonly maxQueueBytes?: number;
  /** Received bytes waiting for the disk above which reading from the peer is paused (default 4 MiB). */
  readonly pauseBytes?: number;
  /** Microseconds since the epoch (default: the system clock, to the µs). */
  readonly nowUs?: () => bigint;
}

export interface CapturePeer {
  readonly address: string;
  readonly port: number;
  readonly direction: 'inbound' | 'outbound';
  readonly type?: string;
}

const systemNowUs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));

type Op = { readonly kind: 'record'; readonly length: number; readonly header: Buffer; readonly wire: Buffer } | { readonly kind: 'data'; readonly bytes: Buffer };

/** One direction of one peer: its CaptureCore, its queue and its files. */
class DirectionSink {
  private readonly core: CaptureCore;
  private readonly queue: Op[] = [];
  private queued = 0;
  private dat: FileHandle | undefined;
  private wire: FileHandle | undefined;
  private datBytes = 0;
  private running: Promise<void> | undefined;
  private ended = false;
  written = 0;

  constructor(
    private readonly folder: PeerFolder,
    readonly direction: CaptureDirection,
    private readonly opts: Required<Omit<CaptureWriterOptions, 'network' | 'dir'>>,
    magic: Buffer,
    /** The folder exists and the previous session of this folder has finished writing. */
    private readonly gate: Promise<void>,
  ) {
    this.core = new CaptureCore(magic);
  }

  push(chunk: Buffer): Promise<void> | undefined {
    if (this.core.stopped || this.ended) return undefined;
    for (const piece of this.core.push(chunk, this.opts.nowUs())) this.take(piece);
    if (this.queued > this.opts.maxQueueBytes && !this.core.stopped) {
      this.core.stop('overflow');
      this.folder.note({ note: 'stop', timeUs: Number(this.opts.nowUs()), direction: this.direction, reason: 'overflow', detail: `${this.queued} bytes waiting for the disk` });
    }
    this.kick();
    if (this.queued <= this.opts.pauseBytes || this.core.stopped) return undefined;
    this.drained ??= new Promise<void>((resolve) => (this.resolveDrained = resolve));
    return this.drained;
  }

  /** Pending while the queue is over pauseBytes; settles once it is down to half. */
  private drained: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;

  private releaseIfDrained(): void {
    if (this.drained && (this.queued <= this.opts.pauseBytes / 2 || this.core.stopped || this.queue.length === 0)) {
      this.drained = undefined;
      this.resolveDrained?.();
      this.resolveDrained = undefined;
    }
  }

  private take(piece: CapturePiece): void {
    if (piece.type === 'record') {
      this.queue.push({ kind: 'record', length: piece.length, header: piece.header, wire: piece.wire });
      this.queued += RECORD_HEADER_SIZE;
    } else if (piece.type === 'payload') {
      this.queue.push({ kind: 'data', bytes: piece.bytes });
      this.queued += piece.bytes.length;
    } else {
      this.folder.note({ note: 'stop', timeUs: Number(this.opts.nowUs()), direction: this.direction, reason: piece.reason, detail: piece.detail, bytes: piece.bytes.toString('hex') });
    }
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0 && !this.core.stopped) this.kick();
    });
  }

  private async drain(): Promise<void> {
    try {
      await this.gate;
      while (this.queue.length > 0) {
        await this.openFiles();
        // One batch: consecutive records and payload pieces up to WRITE_BATCH_BYTES, cut before a
        // record that must start a new file.
        const dat: Buffer[] = [];
        const wire: Buffer[] = [];
        let size = 0;
        while (this.queue.length > 0 && size < WRITE_BATCH_BYTES && dat.length < WRITE_BATCH_BUFFERS) {
          const op = this.queue[0]!;
          if (op.kind === 'record') {
            const fileSize = this.datBytes + size;
            if (fileSize > 0 && fileSize + RECORD_HEADER_SIZE + op.length > this.opts.maxFileBytes) {
              if (dat.length > 0) break; // write what we have; rotate on the next round
              await this.rotate();
              continue; // the file is fresh: this record now fits (or is alone in it)
            }
            dat.push(op.header);
            wire.push(op.wire);
            size += RECORD_HEADER_SIZE;
            this.queued -= RECORD_HEADER_SIZE;
          } else {
            dat.push(op.bytes);
            size += op.bytes.length;
            this.queued -= op.bytes.length;
          }
          this.queue.shift();
        }
        if (wire.length > 0) await writeAll(this.wire!, wire);
        if (dat.length > 0) {
          await writeAll(this.dat!, dat);
          this.datBytes += size;
          this.written += size;
        }
        this.releaseIfDrained();
      }
    } catch (err) {
      this.stopOn('write-error', err instanceof Error ? err.message : String(err));
    } finally {
      this.releaseIfDrained();
    }
  }

  private async openFiles(): Promise<void> {
    if (this.dat) return;
    const datPath = join(this.folder.path, recordFileName(this.direction));
    this.dat = await open(datPath, 'a');
    this.wire = await open(join(this.folder.path, wireFileName(this.direction)), 'a');
    this.datBytes = (await stat(datPath)).size;
  }

  private async rotate(): Promise<void> {
    await this.closeFiles();
    const rotated = await rotatedNumbers(this.folder.path, this.direction);
    const next = (rotated.at(-1) ?? 0) + 1;
    await rename(join(this.folder.path, recordFileName(this.direction)), join(this.folder.path, recordFileName(this.direction, next)));
    await rename(join(this.folder.path, wireFileName(this.direction)), join(this.folder.path, wireFileName(this.direction, next))).catch(() => {});
    rotated.push(next);
    while (rotated.length > this.opts.keepFiles) {
      const oldest = rotated.shift()!;
      await rm(join(this.folder.path, recordFileName(this.direction, oldest)), { force: true });
      await rm(join(this.folder.path, wireFileName(this.direction, oldest)), { force: true });
    }
    this.folder.note({ note: 'rotate', timeUs: Number(this.opts.nowUs()), direction: this.direction, file: recordFileName(this.direction, next) });
    await this.openFiles();
  }

  private stopOn(reason: CaptureStopReason, detail: string): void {
    if (this.core.stopped) return;
    this.core.stop(reason);
    this.queue.length = 0;
    this.queued = 0;
    this.folder.note({ note: 'stop', timeUs: Number(this.opts.nowUs()), direction: this.direction, reason, detail });
  }

  private async closeFiles(): Promise<void> {
    const handles = [this.dat, this.wire];
    this.dat = undefined;
    this.wire = undefined;
    for (const h of handles) await h?.close();
  }

  /** Write what is queued, then close the files. */
  async end(): Promise<void> {
    this.ended = true;
    while (this.running) await this.running;
    await this.closeFiles().catch(() => {});
  }

  /** Bytes waiting for the disk. */
  get backlog(): number {
    return this.queued;
  }
}

/** writev until every byte is written (it may write less than asked). */
async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let done = 0;
  while (done < total) {
    const { bytesWritten } = await handle.writev(done === 0 ? buffers : sliceFrom(buffers, done));
    done += bytesWritten;
  }
}

function sliceFrom(buffers: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/** The N of every msgs_<direction>.N.dat in `folder`, ascending. */
export async function rotatedNumbers(folder: string, direction: CaptureDirection): Promise<number[]> {
  const pattern = new RegExp(`^msgs_${direction}\\.(\\d+)\\.dat$`);
  const names = await readdir(folder).catch(() => [] as string[]);
  return names.flatMap((n) => {
    const m = pattern.exec(n);
    return m ? [Number(m[1])] : [];
  }).sort((a, b) => a - b);
}

/** One peer's folder: its notes, written in order, and the ready promise its sinks wait on. */
class PeerFolder {
  readonly ready: Promise<void>;
  private notes: Promise<void>;
  /** Sessions of this folder not finished yet; the last one gates the next. */
  active = 0;
  last: PeerCapture | undefined;

  constructor(readonly path: string, onError: (err: unknown) => void) {
    this.ready = mkdir(path, { recursive: true }).then(() => undefined);
    this.ready.catch(onError);
    this.notes = this.ready.catch(() => {});
  }

  note(note: CaptureNote): void {
    const line = `${JSON.stringify(note)}\n`;
    this.notes = this.notes.then(() => appendFile(join(this.path, NOTES_FILE), line)).catch(() => {});
  }

  async flushNotes(): Promise<void> {
    await this.notes;
  }
}

/** A live capture of one connection; its tap goes to the PeerConnection. */
export class PeerCapture implements WireTap {
  private readonly recv: DirectionSink;
  private readonly sent_: DirectionSink;
  private done: Promise<void> | undefined;

  constructor(
    private readonly folder: PeerFolder,
    opts: Required<Omit<CaptureWriterOptions, 'network' | 'dir'>>,
    magic: Buffer,
    private readonly nowUs: () => bigint,
    gate: Promise<void>,
    private readonly onFinished: () => void,
  ) {
    this.recv = new DirectionSink(folder, 'recv', opts, magic, gate);
    this.sent_ = new DirectionSink(folder, 'sent', opts, magic, gate);
  }

  get path(): string {
    return this.folder.path;
  }

  received(chunk: Buffer): Promise<void> | undefined {
    return this.recv.push(chunk);
  }

  sent(chunk: Buffer): void {
    void this.sent_.push(chunk);
  }

  closed(reason: CloseReason, ban: string | undefined): void {
    this.folder.note({ note: 'close', timeUs: Number(this.nowUs()), code: reason.code, message: reason.message, ...(ban === undefined ? {} : { ban }) });
    void this.finish();
  }

  /** Bytes waiting for the disk, both directions. */
  get backlog(): number {
    return this.recv.backlog + this.sent_.backlog;
  }

  private resolveFinished: () => void = () => {};
  /** Resolves once finish() has run to the end (whenever that is). */
  readonly finished: Promise<void> = new Promise((resolve) => (this.resolveFinished = resolve));

  /** Resolves once everything queued is on disk and the files are closed. */
  finish(): Promise<void> {
    this.done ??= Promise.all([this.recv.end(), this.sent_.end()])
      .then(() => this.folder.flushNotes())
      .finally(() => {
        this.onFinished();
        this.resolveFinished();
      });
    return this.done;
  }
}

/**
 * Captures connections to a directory. `tap(peer)` starts one connection's capture (a folder per
 * address and port; a later connection to the same one appends, after an 'open' note that marks the
 * session); `close()` waits for every capture to reach the disk.
 */
export class CaptureWriter {
  private readonly opts: Required<Omit<CaptureWriterOptions, 'network' | 'dir'>>;
  private readonly captures = new Set<PeerCapture>();
  /** One PeerFolder per path, so two sessions of one folder keep their notes in order. */
  private readonly folders = new Map<string, PeerFolder>();
  private firstError: unknown;

  constructor(private readonly options: CaptureWriterOptions) {
    const maxFileBytes = options.maxFileBytes ?? DEFAULT_CAPTURE_MAX_FILE_BYTES;
    const keepFiles = options.keepFiles ?? DEFAULT_CAPTURE_KEEP_FILES;
    const maxQueueBytes = options.maxQueueBytes ?? DEFAULT_CAPTURE_MAX_QUEUE_BYTES;
    if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < RECORD_HEADER_SIZE) throw new RangeError(`maxFileBytes must be at least ${RECORD_HEADER_SIZE}, got ${maxFileBytes}`);
    if (!Number.isSafeInteger(keepFiles) || keepFiles < 0) throw new RangeError(`keepFiles must be a non-negative integer, got ${keepFiles}`);
    if (!Number.isSafeInteger(maxQueueBytes) || maxQueueBytes <= 0) throw new RangeError(`maxQueueBytes must be positive, got ${maxQueueBytes}`);
    const pauseBytes = options.pauseBytes ?? Math.min(DEFAULT_CAPTURE_PAUSE_BYTES, maxQueueBytes);
    if (!Number.isSafeInteger(pauseBytes) || pauseBytes <= 0 || pauseBytes > maxQueueBytes) throw new RangeError(`pauseBytes must be positive and at most maxQueueBytes, got ${pauseBytes}`);
    this.opts = { maxFileBytes, keepFiles, maxQueueBytes, pauseBytes, nowUs: options.nowUs ?? systemNowUs };
  }

  /** The first error making a folder (an unwritable directory), if any. */
  get error(): unknown {
    return this.firstError;
  }

  tap(peer: CapturePeer): PeerCapture {
    const path = join(this.options.dir, peerFolderName(peer.address, peer.port));
    let folder = this.folders.get(path);
    if (!folder) {
      folder = new PeerFolder(path, (err) => (this.firstError ??= err));
      this.folders.set(path, folder);
    }
    const owner = folder;
    // A new session of the same folder appends only once the previous one is on disk: never interleaved.
    const previous = folder.last;
    const gate = previous ? Promise.all([folder.ready, previous.finished]).then(() => undefined) : folder.ready;
    const capture = new PeerCapture(folder, this.opts, this.options.network.magic, this.opts.nowUs, gate, () => {
      this.captures.delete(capture);
      if (--owner.active === 0 && this.folders.get(path) === owner) this.folders.delete(path);
    });
    folder.active++;
    folder.last = capture;
    folder.note({
      note: 'open',
      timeUs: Number(this.opts.nowUs()),
      network: this.options.network.name,
      magic: this.options.network.magic.toString('hex'),
      peer: peer.address.includes(':') ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`,
      direction: peer.direction,
      ...(peer.type === undefined ? {} : { type: peer.type }),
    });
    this.captures.add(capture);
    return capture;
  }

  /** Waits until every capture's bytes are on disk and its files closed (open connections end their capture here). */
  async close(): Promise<void> {
    await Promise.all([...this.captures].map((c) => c.finish()));
    this.captures.clear();
  }
}

// Replay: a capture's received bytes run back through the framer, the codecs and the peer state
// machine. Each session of a peer folder (an 'open' note in bsv-wire.jsonl; the whole folder when there
// are no notes, as in a capture made by Bitcoin Core) gets a fresh PeerConnection over an in-memory
// duplex whose clock is the capture's: each record is fed at its recorded time, so handshake, ping and
// inactivity timers see the time they saw live. What the connection sends is not delivered anywhere; its
// commands are compared with msgs_sent.dat.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { Sha256dStream } from '../hash.js';
import { COMMAND_SIZE, EMPTY_PAYLOAD_CHECKSUM, EXTMSG_COMMAND, FrameDecoder, HEADER_SIZE, EXTENDED_HEADER_SIZE } from '../framing/index.js';
import { defineNetwork, getNetwork, type Network } from '../networks.js';
import { PeerConnection, type PeerConnectionOptions } from '../peer/connection.js';
import { FrameBudget } from '../peer/frame-budget.js';
import type { Clock } from '../peer/clock.js';
import type { CloseReason, CloseReasonCode } from '../peer/reasons.js';
import { NOTES_FILE, RecordParser, WIRE_ENTRY_SIZE, WIRE_FLAG_EXTENDED, recordFileName, wireFileName, type CaptureDirection, type CaptureNote } from './format.js';
import { rotatedNumbers } from './writer.js';

type OpenNote = Extract<CaptureNote, { note: 'open' }>;
type CloseNote = Extract<CaptureNote, { note: 'close' }>;
type StopNote = Extract<CaptureNote, { note: 'stop' }>;

/** One connection's worth of a capture folder. */
export interface CaptureSession {
  readonly index: number;
  /** Undefined for records before any 'open' note (or a folder without notes). */
  readonly open: OpenNote | undefined;
  readonly close: CloseNote | undefined;
  readonly stops: readonly StopNote[];
  /** First microsecond of this session (inclusive), and of the next one (exclusive). */
  readonly fromUs: bigint;
  readonly toUs: bigint;
}

/** The sessions of a peer folder, from its notes. */
export function captureSessions(folder: string): CaptureSession[] {
  const path = join(folder, NOTES_FILE);
  const notes: CaptureNote[] = existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as CaptureNote];
          } catch {
            return []; // a torn last line (the process died mid-write) is skipped
          }
        })
    : [];
  const opens = notes.filter((n): n is OpenNote => n.note === 'open');
  const bounds = opens.map((o) => BigInt(o.timeUs));
  const sessionOf = (timeUs: number): number => {
    let i = -1;
    while (i + 1 < bounds.length && bounds[i + 1]! <= BigInt(timeUs)) i++;
    return i;
  };
  const sessions: { open: OpenNote | undefined; close: CloseNote | undefined; stops: StopNote[] }[] = [];
  sessions.push({ open: undefined, close: undefined, stops: [] }); // index -1: before any open note
  for (const o of opens) sessions.push({ open: o, close: undefined, stops: [] });
  for (const n of notes) {
    const s = sessions[sessionOf(n.timeUs) + 1]!;
    if (n.note === 'close') s.close ??= n;
    else if (n.note === 'stop') s.stops.push(n);
  }
  const out: CaptureSession[] = [];
  const keepFirst = opens.length === 0; // records before the first open only exist in note-less folders
  sessions.forEach((s, i) => {
    if (i === 0 && !keepFirst) return;
    const fromUs = i === 0 ? 0n : bounds[i - 1]!;
    const toUs = i < bounds.length ? bounds[i]! : 2n ** 64n;
    out.push({ index: out.length, open: s.open, close: s.close, stops: s.stops, fromUs, toUs });
  });
  return out;
}

/** One record with its wire fields, then its payload pieces, in file order across rotated files. */
type ReplayItem =
  | { readonly type: 'record'; readonly timeUs: bigint; readonly command: string; readonly commandField: Buffer; readonly length: number; readonly checksum: Buffer; readonly extended: boolean }
  | { readonly type: 'payload'; readonly bytes: Buffer }
  | { readonly type: 'record-end' };

/** The .dat files of one direction, oldest first. */
async function directionFiles(folder: string, direction: CaptureDirection): Promise<{ dat: string; wire: string }[]> {
  const files = (await rotatedNumbers(folder, direction)).map((n) => ({ dat: join(folder, recordFileName(direction, n)), wire: join(folder, wireFileName(direction, n)) }));
  const current = { dat: join(folder, recordFileName(direction)), wire: join(folder, wireFileName(direction)) };
  if (existsSync(current.dat)) files.push(current);
  return files;
}

/** Sequential reader of a .wire sidecar, 8 bytes per record, buffered. */
class WireEntries {
  private buffer = Buffer.alloc(0);
  private offset = 0;
  private position = 0;
  private constructor(private readonly handle: FileHandle) {}

  static async open(path: string): Promise<WireEntries | undefined> {
    if (!existsSync(path)) return undefined;
    return new WireEntries(await open(path, 'r'));
  }

  async next(): Promise<Buffer | undefined> {
    if (this.offset + WIRE_ENTRY_SIZE > this.buffer.length) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await this.handle.read(chunk, 0, chunk.length, this.position);
      this.position += bytesRead;
      this.buffer = Buffer.concat([this.buffer.subarray(this.offset), chunk.subarray(0, bytesRead)]);
      this.offset = 0;
      if (this.buffer.length < WIRE_ENTRY_SIZE) return undefined;
    }
    const entry = this.buffer.subarray(this.offset, this.offset + WIRE_ENTRY_SIZE);
    this.offset += WIRE_ENTRY_SIZE;
    return entry;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** sha256d checksum of every record of a .dat file, for captures without a .wire sidecar (Core's own). */
async function computedChecksums(dat: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const parser = new RecordParser();
  let hasher: Sha256dStream | undefined;
  for await (const chunk of createReadStream(dat, { highWaterMark: 64 * 1024 })) {
    for (const ev of parser.push(chunk as Buffer)) {
      if (ev.type === 'record') hasher = new Sha256dStream();
      else if (ev.type === 'payload') hasher!.update(ev.bytes);
      else out.push(hasher!.digest().subarray(0, 4));
    }
  }
  return out;
}

/** Every record of one direction, oldest file first, payloads as pieces (never gathered). */
async function* readDirection(folder: string, direction: CaptureDirection, truncated: { value: boolean }): AsyncGenerator<ReplayItem> {
  for (const file of await directionFiles(folder, direction)) {
    const wire = await WireEntries.open(file.wire);
    const computed = wire ? undefined : await computedChecksums(file.dat);
    let index = 0;
    const parser = new RecordParser();
    try {
      for await (const chunk of createReadStream(file.dat, { highWaterMark: 64 * 1024 })) {
        for (const ev of parser.push(chunk as Buffer)) {
          if (ev.type === 'record') {
            const entry = wire ? await wire.next() : undefined;
            const checksum = entry ? Buffer.from(entry.subarray(0, 4)) : (computed?.[index] ?? EMPTY_PAYLOAD_CHECKSUM);
            index++;
            yield { type: 'record', timeUs: ev.timeUs, command: ev.command, commandField: ev.commandField, length: ev.length, checksum, extended: entry ? (entry[4]! & WIRE_FLAG_EXTENDED) !== 0 : false };
          } else yield ev;
        }
      }
    } finally {
      await wire?.close();
    }
    if (parser.truncated) truncated.value = true;
  }
}

/** The frame header a record came with: 24 bytes, or 44 with extmsg. */
function frameHeader(magic: Buffer, item: Extract<ReplayItem, { type: 'record' }>): Buffer {
  if (item.extended) {
    const h = Buffer.alloc(EXTENDED_HEADER_SIZE);
    magic.copy(h, 0);
    h.write(EXTMSG_COMMAND, 4, 'latin1');
    h.writeUInt32LE(0xffffffff, 16);
    item.checksum.copy(h, 20);
    item.commandField.copy(h, HEADER_SIZE);
    h.writeBigUInt64LE(BigInt(item.length), HEADER_SIZE + COMMAND_SIZE);
    return h;
  }
  const h = Buffer.alloc(HEADER_SIZE);
  magic.copy(h, 0);
  item.commandField.copy(h, 4, 0, COMMAND_SIZE);
  h.writeUInt32LE(item.length, 16);
  item.checksum.copy(h, 20);
  return h;
}

export interface ReplayOptions {
  /** A peer folder of a capture (holding msgs_recv.dat). */
  readonly folder: string;
  /** The network; default: the one the 'open' note names (its magic), else mainnet. */
  readonly network?: Network;
  /** Wait between records as long as they were apart live (default: as fast as possible). */
  readonly realtime?: boolean;
  /** Options for each replayed PeerConnection (user-agent policy, limits ...), as the live run had them. */
  readonly peerOptions?: Omit<PeerConnectionOptions, 'network' | 'direction' | 'remote' | 'clock' | 'wireTap'>;
  /** The same, chosen once the session's network is known (after `peerOptions`). */
  readonly peerOptionsFor?: (network: Network) => Omit<PeerConnectionOptions, 'network' | 'direction' | 'remote' | 'clock' | 'wireTap'>;
  /** Called with each session's connection before any byte is fed: attach listeners here. */
  readonly onSession?: (conn: PeerConnection, session: CaptureSession, clock: Clock) => void;
  /** How often the replayed connection checks its timers, in real ms (default 10). */
  readonly tickIntervalMs?: number;
}

export interface SessionReplay {
  readonly session: CaptureSession;
  /** How the replayed connection closed, and the ban it asked for. */
  readonly close: CloseReason | undefined;
  readonly ban: string | undefined;
  /** Received records fed, and those left over after the replayed connection closed. */
  readonly records: number;
  readonly unfed: number;
  /** The recv file ended inside a record (the live connection was dropped mid-frame). */
  readonly truncated: boolean;
  /** Commands the replayed connection sent, and those msgs_sent.dat holds for the session. */
  readonly sent: readonly string[];
  readonly capturedSent: readonly string[];
}

/** The clock the replayed connection sees: the capture's time, set record by record. */
class CaptureClock implements Clock {
  ms = 0;
  now(): number {
    return this.ms;
  }
  setUs(timeUs: bigint): void {
    this.ms = Math.max(this.ms, Math.floor(Number(timeUs) / 1000));
  }
}

function networkFor(session: CaptureSession, given: Network | undefined): Network {
  if (given) return given;
  const open = session.open;
  if (!open) return getNetwork('mainnet');
  try {
    const known = getNetwork(open.network);
    if (known.magic.toString('hex') === open.magic) return known;
  } catch {
    // a custom network: its magic is in the note
  }
  return defineNetwork({ name: open.network, magic: open.magic, defaultPort: 8333 });
}

function parsePeer(peer: string | undefined): { address: string; port: number } {
  const m = peer ? /^\[?(.*?)\]?:(\d+)$/.exec(peer) : null;
  return m ? { address: m[1]!, port: Number(m[2]) } : { address: 'unknown', port: 0 };
}

/** Close codes that come from outside the peer state machine: a replay applies them as recorded. */
const EXTERNAL_CLOSES: ReadonlySet<string> = new Set(['local', 'over-capacity', 'memory-budget', 'send-buffer-overflow']);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Commands in msgs_sent.dat within [fromUs, toUs). */
async function capturedSentCommands(folder: string, session: CaptureSession): Promise<string[]> {
  const out: string[] = [];
  for await (const item of readDirection(folder, 'sent', { value: false })) {
    if (item.type === 'record' && item.timeUs >= session.fromUs && item.timeUs < session.toUs) out.push(item.command);
  }
  return out;
}

/**
 * Replays every session of a peer folder, one after the other, and says how each one ended. Never
 * throws for what the capture holds (garbage, truncation): that is what it is there to reproduce.
 */
export async function replayCapture(opts: ReplayOptions): Promise<SessionReplay[]> {
  if (!existsSync(join(opts.folder, recordFileName('recv'))) && (await rotatedNumbers(opts.folder, 'recv')).length === 0) {
    throw new Error(`${opts.folder}: no ${recordFileName('recv')} here (give a peer folder of the capture)`);
  }
  const sessions = captureSessions(opts.folder);
  const results: SessionReplay[] = [];
  const truncated = { value: false };
  const records = readDirection(opts.folder, 'recv', truncated);
  let pending: ReplayItem | undefined;
  for (const session of sessions) {
    const run = new SessionRun(session, opts);
    let fed = 0;
    let unfed = 0;
    let skipping = false;
    for (;;) {
      const next = pending ?? (await records.next()).value;
      pending = undefined;
      if (next === undefined) break;
      if (next.type === 'record' && next.timeUs >= session.toUs) {
        pending = next;
        break;
      }
      if (next.type === 'record') {
        if (next.timeUs < session.fromUs) {
          skipping = true; // before this session's open: cannot be (clock went back); left out
          continue;
        }
        skipping = false;
        if (run.closed) {
          unfed++;
          skipping = true;
          continue;
        }
        if (opts.realtime) await run.waitUntil(next.timeUs);
        fed++;
        await run.feedRecord(next);
      } else if (next.type === 'payload' && !skipping && !run.closed) {
        await run.feed(next.bytes);
      }
    }
    results.push(await run.finish(fed, unfed, truncated.value && pending === undefined, await capturedSentCommands(opts.folder, session)));
  }
  // Drain the generator so its files close.
  if (pending === undefined) for await (const _ of records) void _;
  else await records.return(undefined);
  return results;
}

class SessionRun {
  readonly clock = new CaptureClock();
  readonly conn: PeerConnection;
  private readonly duplex: Duplex;
  private readonly network: Network;
  private closeReason: CloseReason | undefined;
  private banReason: string | undefined;
  private readonly sent: string[] = [];
  private readonly tickMs: number;
  private readonly closedPromise: Promise<void>;
  private feeds = 0;
  private readonly realtime: boolean;

  constructor(
    private readonly session: CaptureSession,
    opts: ReplayOptions,
  ) {
    this.network = networkFor(session, opts.network);
    this.realtime = opts.realtime === true;
    this.tickMs = opts.tickIntervalMs ?? 10;
    this.clock.setUs(session.open ? BigInt(session.open.timeUs) : session.fromUs);
    const sentDecoder = new FrameDecoder({ magic: this.network.magic, verifyChecksum: false, shouldStream: () => true, limits: { default: 0xffffffff, block: 0xffffffff, tx: 0xffffffff } });
    this.duplex = new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, callback) => {
        try {
          for (const ev of sentDecoder.push(chunk)) if (ev.type === 'stream-start') this.sent.push(ev.header.command);
        } catch {
          // our own output always frames; nothing to report if it did not
        }
        callback();
      },
    });
    this.duplex.on('error', () => {});
    const remote = parsePeer(session.open?.peer);
    this.conn = new PeerConnection(this.duplex, {
      frameBudget: new FrameBudget(),
      selfNonces: new Set(),
      ...opts.peerOptions,
      ...opts.peerOptionsFor?.(this.network),
      network: this.network,
      direction: session.open?.direction ?? 'outbound',
      remote,
      clock: this.clock,
      tickIntervalMs: this.tickMs,
    });
    this.closedPromise = new Promise((resolve) => this.conn.once('close', () => resolve()));
    this.conn.on('ban', (b) => (this.banReason ??= b.reason));
    this.conn.on('close', (r) => (this.closeReason = r));
    opts.onSession?.(this.conn, session, this.clock);
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  /** Real time and capture time of the first wait: --realtime keeps later ones as far apart as live. */
  private realtimeBase: { readonly realMs: number; readonly us: bigint } | undefined;

  async waitUntil(timeUs: bigint): Promise<void> {
    this.realtimeBase ??= { realMs: Date.now(), us: timeUs };
    const due = this.realtimeBase.realMs + Number(timeUs - this.realtimeBase.us) / 1000;
    if (due > Date.now()) await sleep(due - Date.now());
  }

  async feedRecord(item: Extract<ReplayItem, { type: 'record' }>): Promise<void> {
    this.clock.setUs(item.timeUs);
    await this.feed(frameHeader(this.network.magic, item));
  }

  /** Push bytes as the socket would, waiting while the connection holds reading paused. */
  async feed(bytes: Buffer): Promise<void> {
    while (this.duplex.isPaused() && !this.closed) await new Promise<void>((resolve) => {
      const done = (): void => {
        this.duplex.off('resume', done);
        this.conn.off('close', done);
        resolve();
      };
      this.duplex.once('resume', done);
      this.conn.once('close', done);
    });
    if (this.closed) return;
    this.duplex.push(bytes);
    // Let the connection's own asynchronous work (flushes, handlers, ticks) run now and then, as it
    // would between socket reads; microtasks run at every await anyway.
    if (++this.feeds % 64 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    else await Promise.resolve();
  }

  async finish(records: number, unfed: number, truncated: boolean, capturedSent: string[]): Promise<SessionReplay> {
    // Garbage the live capture stopped at: feed the refused header too, as the socket did.
    const garbage = this.session.stops.find((s) => s.direction === 'recv' && s.reason === 'garbage' && s.bytes);
    if (garbage && !this.closed) {
      this.clock.setUs(BigInt(garbage.timeUs));
      await this.feed(Buffer.from(garbage.bytes!, 'hex'));
    }
    const close = this.session.close;
    if (!this.closed && close) {
      // Time runs on to the recorded close, so a timeout that closed it live fires here too.
      if (this.realtime) await this.waitUntil(BigInt(close.timeUs));
      this.clock.setUs(BigInt(close.timeUs));
      await sleep(this.tickMs * 3);
    }
    if (!this.closed) {
      // Closes decided outside the connection (the app, the Manager, the process budget) are applied as
      // recorded; any other is the connection's own to reproduce, so the input just ends (remote-closed).
      if (close && EXTERNAL_CLOSES.has(close.code)) void this.conn.close(close.code as CloseReasonCode, close.message);
      else this.duplex.push(null);
    }
    await Promise.race([this.closedPromise, sleep(5000)]);
    if (!this.closed) void this.conn.close('local', 'replay ended');
    await this.closedPromise;
    return { session: this.session, close: this.closeReason, ban: this.banReason, records, unfed, truncated, sent: this.sent, capturedSent };
  }
}

// Frames in: an incremental decoder fed socket chunks of any size. Every header check
// (magic, command format, per-command size limit) runs before a payload byte is read or
// allocated; streamed payloads (blocks) pass through as views and are never buffered.
import { FramingError } from '../errors.js';
import { sha256d, Sha256dStream } from '../hash.js';
import {
  CHECKSUM_SIZE,
  COMMAND_SIZE,
  EMPTY_PAYLOAD_CHECKSUM,
  EXTENDED_HEADER_SIZE,
  EXTMSG_COMMAND,
  HEADER_SIZE,
  MAGIC_SIZE,
  describeCommandField,
  parseCommandField,
} from './header.js';
import { maxPayloadFor, resolvePayloadLimits, type PayloadLimits } from './limits.js';
import type { FrameEvent, FrameHeader } from './types.js';

export interface FrameDecoderOptions {
  /** The network magic, 4 bytes as on the wire. */
  readonly magic: Buffer;
  /** Overrides of the per-command payload limits (see resolvePayloadLimits). */
  readonly limits?: Partial<PayloadLimits>;
  /** Which frames to stream instead of buffering whole. Default: `block` frames. */
  readonly shouldStream?: (header: FrameHeader) => boolean;
  /** Verify the sha256d checksum of legacy frames. Default true. extmsg frames are never verified. */
  readonly verifyChecksum?: boolean;
  /**
   * What a bad checksum does: 'fail' (default) throws and fails the decoder; 'drop' skips that
   * frame with a `dropped` event and goes on, as the node does (the length was valid, so the
   * next frame's start is known).
   */
  readonly badChecksum?: 'fail' | 'drop';
  /**
   * Asked for each header that passed the size limits, before any payload byte is read:
   * 'read' (default) goes on as usual; 'skip' discards the payload as it arrives, unread and
   * unbuffered, then yields a `skipped` event. It may throw to refuse the frame: the decoder
   * is then failed with that error.
   */
  readonly onHeader?: (header: FrameHeader) => 'read' | 'skip';
  /**
   * Called once per whole (non-streamed) frame whose payload straddles chunks, right before
   * its gathering buffer is first allocated (frames that lie inside one chunk are zero-copy
   * views and never call it). It may throw to refuse the frame, failing the decoder.
   */
  readonly onBuffer?: (header: FrameHeader) => void;
}

/** A payload up to this size gets its exact buffer at once; larger ones grow as bytes arrive. */
const EAGER_ALLOCATION_BYTES = 4 * 1024 * 1024;

const streamBlocks = (header: FrameHeader): boolean => header.command === 'block';

type Phase = 'header' | 'payload' | 'stream' | 'skip';

/**
 * Incremental frame decoder. `push()` takes a chunk of any size and returns the events it
 * completes. Whole frames whose payload lies inside one chunk are zero-copy views of that
 * chunk, and stream-data events are views of the chunks too: callers must not reuse or
 * mutate a chunk after pushing it. After an error the decoder is failed and every later
 * `push()` throws the same error.
 */
export class FrameDecoder {
  private readonly magic: Buffer;
  private readonly limits: Readonly<PayloadLimits>;
  private readonly shouldStream: (header: FrameHeader) => boolean;
  private readonly verifyChecksum: boolean;
  private readonly dropBadChecksum: boolean;
  private readonly onHeader: ((header: FrameHeader) => 'read' | 'skip') | undefined;
  private readonly onBuffer: ((header: FrameHeader) => void) | undefined;

  private phase: Phase = 'header';
  private readonly headerBytes = Buffer.alloc(EXTENDED_HEADER_SIZE);
  private headerFill = 0;
  private headerNeed = HEADER_SIZE;
  private current: FrameHeader | undefined;
  /** Payload bytes of the current frame not yet received. */
  private remaining = 0;
  /** The buffer a straddling whole payload is gathered into, and how much of it is filled. */
  private partial: Buffer | undefined;
  private partialFill = 0;
  private hasher: Sha256dStream | undefined;
  private failure: Error | undefined;

  constructor(opts: FrameDecoderOptions) {
    if (opts.magic.length !== MAGIC_SIZE) throw new RangeError(`magic must be ${MAGIC_SIZE} bytes, got ${opts.magic.length}`);
    this.magic = Buffer.from(opts.magic);
    this.limits = resolvePayloadLimits(opts.limits);
    this.shouldStream = opts.shouldStream ?? streamBlocks;
    this.verifyChecksum = opts.verifyChecksum ?? true;
    this.dropBadChecksum = opts.badChecksum === 'drop';
    this.onHeader = opts.onHeader;
    this.onBuffer = opts.onBuffer;
  }

  /** Bytes the decoder holds: a partial header plus any payload buffer it allocated. */
  get bytesBuffered(): number {
    return this.headerFill + (this.partial?.length ?? 0);
  }

  /** The error that failed the decoder, if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** True between frames: no partial header or payload is pending. */
  get idle(): boolean {
    return this.phase === 'header' && this.headerFill === 0;
  }

  /**
   * Decode a chunk. Without `each`, the completed events are returned. With `each`, every
   * event is handed over as soon as it completes, before the next header is looked at (so a
   * caller's state, e.g. a finished handshake, is current when `onHeader` runs for the next
   * frame); `each` returns false to stop decoding the rest of the chunk.
   */
  push(chunk: Buffer): FrameEvent[];
  push(chunk: Buffer, each: (event: FrameEvent) => boolean): void;
  push(chunk: Buffer, each?: (event: FrameEvent) => boolean): FrameEvent[] | void {
    if (this.failure) throw this.failure;
    const events: FrameEvent[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      try {
        if (this.phase === 'header') offset = this.readHeader(chunk, offset, events);
        else if (this.phase === 'payload') offset = this.readPayload(chunk, offset, events);
        else if (this.phase === 'stream') offset = this.readStream(chunk, offset, events);
        else offset = this.skipPayload(chunk, offset, events);
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.partial = undefined;
        throw this.failure;
      }
      if (each && events.length > 0) {
        // Outside the try: an exception from `each` is the caller's, not a framing failure.
        for (const ev of events.splice(0)) if (!each(ev)) return;
      }
    }
    return each ? undefined : events;
  }

  private readHeader(chunk: Buffer, offset: number, events: FrameEvent[]): number {
    const take = Math.min(this.headerNeed - this.headerFill, chunk.length - offset);
    chunk.copy(this.headerBytes, this.headerFill, offset, offset + take);
    this.headerFill += take;
    offset += take;
    if (this.headerFill < this.headerNeed) return offset;
    if (this.headerNeed === HEADER_SIZE) {
      const header = this.parseLegacyHeader();
      if (header === undefined) {
        this.headerNeed = EXTENDED_HEADER_SIZE; // extmsg: 20 more bytes before anything is known
        return offset;
      }
      this.begin(header, events);
    } else {
      this.begin(this.parseExtendedHeader(), events);
    }
    return offset;
  }

  /** Checks the 24-byte header; returns undefined when it announces an extended header. */
  private parseLegacyHeader(): FrameHeader | undefined {
    const h = this.headerBytes;
    const commandField = h.subarray(MAGIC_SIZE, MAGIC_SIZE + COMMAND_SIZE);
    if (!h.subarray(0, MAGIC_SIZE).equals(this.magic)) {
      throw new FramingError(
        describeCommandField(commandField),
        'bad-magic',
        `got ${h.toString('hex', 0, MAGIC_SIZE)}, expected ${this.magic.toString('hex')}`,
      );
    }
    const command = parseCommandField(commandField);
    if (command === undefined) {
      throw new FramingError(describeCommandField(commandField), 'bad-command', 'not printable ASCII followed by NUL padding');
    }
    if (command === EXTMSG_COMMAND) return undefined;
    const length = h.readUInt32LE(16);
    const limit = maxPayloadFor(command, this.limits);
    if (length > limit) throw new FramingError(command, 'oversized', `declares ${length} bytes, limit ${limit}`);
    return {
      command,
      length,
      checksum: Buffer.from(h.subarray(20, 20 + CHECKSUM_SIZE)),
      extended: false,
      headerSize: HEADER_SIZE,
    };
  }

  /** Checks the 20 extmsg bytes; the legacy length and checksum fields are ignored, as in the node. */
  private parseExtendedHeader(): FrameHeader {
    const h = this.headerBytes;
    const commandField = h.subarray(HEADER_SIZE, HEADER_SIZE + COMMAND_SIZE);
    const command = parseCommandField(commandField);
    if (command === undefined) {
      throw new FramingError(describeCommandField(commandField), 'bad-command', 'extmsg command is not printable ASCII followed by NUL padding');
    }
    if (command === EXTMSG_COMMAND) throw new FramingError(command, 'bad-extmsg', 'extmsg inside extmsg');
    const declared = h.readBigUInt64LE(HEADER_SIZE + COMMAND_SIZE);
    const limit = maxPayloadFor(command, this.limits);
    if (declared > BigInt(limit)) {
      throw new FramingError(command, 'oversized', `extmsg declares ${declared} bytes, limit ${limit}`);
    }
    return {
      command,
      length: Number(declared),
      checksum: Buffer.from(h.subarray(20, 20 + CHECKSUM_SIZE)),
      extended: true,
      headerSize: EXTENDED_HEADER_SIZE,
    };
  }

  /** A validated header: switch to payload or stream mode, completing empty payloads at once. */
  private begin(header: FrameHeader, events: FrameEvent[]): void {
    this.headerFill = 0;
    this.headerNeed = HEADER_SIZE;
    this.current = header;
    this.remaining = header.length;
    if (this.onHeader?.(header) === 'skip') {
      this.phase = 'skip';
      if (this.remaining === 0) this.endSkip(events);
    } else if (this.shouldStream(header)) {
      this.hasher = header.extended || !this.verifyChecksum ? undefined : new Sha256dStream();
      events.push({ type: 'stream-start', header });
      this.phase = 'stream';
      if (this.remaining === 0) this.endStream(events);
    } else {
      this.phase = 'payload';
      if (this.remaining === 0) this.endFrame(Buffer.alloc(0), events);
    }
  }

  private readPayload(chunk: Buffer, offset: number, events: FrameEvent[]): number {
    const available = chunk.length - offset;
    if (this.partial === undefined && available >= this.remaining) {
      const payload = chunk.subarray(offset, offset + this.remaining); // zero-copy: the frame lies in this chunk
      this.endFrame(payload, events);
      return offset + payload.length;
    }
    const take = Math.min(available, this.remaining);
    if (this.partial === undefined) this.onBuffer?.(this.current!);
    this.reserve(this.partialFill + take);
    chunk.copy(this.partial!, this.partialFill, offset, offset + take);
    this.partialFill += take;
    this.remaining -= take;
    if (this.remaining === 0) {
      const payload = this.partial!.subarray(0, this.partialFill);
      this.partial = undefined;
      this.partialFill = 0;
      this.endFrame(payload, events);
    }
    return offset + take;
  }

  /**
   * Room for `needed` payload bytes. Payloads up to EAGER_ALLOCATION_BYTES get their exact
   * size once (one copy); larger ones double as bytes arrive, so a peer that only claims a
   * large payload does not make us allocate it, and copying stays linear overall.
   */
  private reserve(needed: number): void {
    const length = this.current!.length;
    const capacity = this.partial?.length ?? 0;
    if (needed <= capacity) return;
    const grown =
      length <= EAGER_ALLOCATION_BYTES ? length : Math.min(length, Math.max(needed, capacity * 2, EAGER_ALLOCATION_BYTES));
    const next = Buffer.allocUnsafe(grown);
    if (this.partial) this.partial.copy(next, 0, 0, this.partialFill);
    this.partial = next;
  }

  private endFrame(payload: Buffer, events: FrameEvent[]): void {
    const header = this.current!;
    if (this.verifyChecksum && !header.extended) {
      const actual = payload.length === 0 ? EMPTY_PAYLOAD_CHECKSUM : sha256d(payload).subarray(0, CHECKSUM_SIZE);
      if (!actual.equals(header.checksum)) {
        const error = new FramingError(
          header.command,
          'bad-checksum',
          `header says ${header.checksum.toString('hex')}, payload hashes to ${actual.toString('hex')}`,
        );
        if (!this.dropBadChecksum) throw error;
        events.push({ type: 'dropped', header, error });
        this.finish();
        return;
      }
    }
    events.push({ type: 'frame', header, payload });
    this.finish();
  }

  private readStream(chunk: Buffer, offset: number, events: FrameEvent[]): number {
    const take = Math.min(chunk.length - offset, this.remaining);
    const view = chunk.subarray(offset, offset + take);
    this.hasher?.update(view);
    this.remaining -= take;
    events.push({ type: 'stream-data', header: this.current!, chunk: view });
    if (this.remaining === 0) this.endStream(events);
    return offset + take;
  }

  /** checksumOk is true when nothing was to be verified (extmsg, or verifyChecksum false). */
  private endStream(events: FrameEvent[]): void {
    const header = this.current!;
    const checksumOk = this.hasher ? this.hasher.digest().subarray(0, CHECKSUM_SIZE).equals(header.checksum) : true;
    events.push({ type: 'stream-end', header, checksumOk });
    this.finish();
  }

  private skipPayload(chunk: Buffer, offset: number, events: FrameEvent[]): number {
    const take = Math.min(chunk.length - offset, this.remaining);
    this.remaining -= take;
    if (this.remaining === 0) this.endSkip(events);
    return offset + take;
  }

  private endSkip(events: FrameEvent[]): void {
    events.push({ type: 'skipped', header: this.current! });
    this.finish();
  }

  private finish(): void {
    this.phase = 'header';
    this.current = undefined;
    this.hasher = undefined;
  }
}

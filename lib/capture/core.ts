// The sans-IO capture core: raw bytes of one direction in, as they pass the socket, with the time;
// record pieces out, in Core's -capturemessages layout (see format.ts). It finds frame boundaries
// itself from the frame headers, so it sits beside the connection's own decoder and needs nothing
// from it; payload bytes go out as views of the chunks as they stream, never gathered.
import {
  CHECKSUM_SIZE,
  COMMAND_SIZE,
  EXTENDED_HEADER_SIZE,
  EXTMSG_COMMAND,
  HEADER_SIZE,
  MAGIC_SIZE,
  describeCommandField,
  parseCommandField,
} from '../framing/header.js';
import { MAX_RECORD_PAYLOAD, encodeRecordHeader, encodeWireEntry, type CaptureStopReason } from './format.js';

export type CapturePiece =
  /** A frame header is complete: the 24-byte record header, and the .wire sidecar entry (checksum, flags). */
  | { readonly type: 'record'; readonly command: string; readonly length: number; readonly header: Buffer; readonly wire: Buffer }
  /** Payload bytes of the current record, a view of the chunk pushed. */
  | { readonly type: 'payload'; readonly bytes: Buffer }
  /**
   * Capture of this direction stopped: `bytes` are the header bytes that could not be recorded (at most
   * 44). Nothing more is emitted; the connection itself goes on or closes on its own rules.
   */
  | { readonly type: 'stopped'; readonly reason: CaptureStopReason; readonly detail: string; readonly bytes: Buffer };

/**
 * One direction of one connection. `push()` never throws on any input: bytes that do not parse as a
 * frame header (wrong magic, a command field that breaks the node's format rule) stop the capture with a
 * 'stopped' piece, since the frame boundaries after them are unknown. So does an extmsg frame whose
 * payload is over 4 GiB: a record's length is a u32 and cannot describe it (Core's format has no escape
 * for it), and writing part of it would mislead any reader.
 */
export class CaptureCore {
  private readonly magic: Buffer;
  private readonly headerBytes = Buffer.alloc(EXTENDED_HEADER_SIZE);
  private headerFill = 0;
  private headerNeed = HEADER_SIZE;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  private stoppedReason: CaptureStopReason | undefined;
  /** Bytes seen after the capture stopped (not recorded). */
  ignoredBytes = 0;

  constructor(magic: Buffer) {
    if (magic.length !== MAGIC_SIZE) throw new RangeError(`magic must be ${MAGIC_SIZE} bytes`);
    this.magic = Buffer.from(magic);
  }

  get stopped(): CaptureStopReason | undefined {
    return this.stoppedReason;
  }

  /** Stop from outside (the writer fell behind); later pushes emit nothing. */
  stop(reason: CaptureStopReason): void {
    this.stoppedReason ??= reason;
  }

  /** True between frames. */
  get idle(): boolean {
    return this.remaining === 0 && this.headerFill === 0;
  }

  push(chunk: Buffer, timeUs: bigint): CapturePiece[] {
    const out: CapturePiece[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.stoppedReason) {
        this.ignoredBytes += chunk.length - offset;
        break;
      }
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - offset);
        out.push({ type: 'payload', bytes: chunk.subarray(offset, offset + take) });
        this.remaining -= take;
        offset += take;
        continue;
      }
      const take = Math.min(this.headerNeed - this.headerFill, chunk.length - offset);
      chunk.copy(this.headerBytes, this.headerFill, offset, offset + take);
      this.headerFill += take;
      offset += take;
      if (this.headerFill === this.headerNeed) this.onHeader(timeUs, out);
    }
    return out;
  }

  private onHeader(timeUs: bigint, out: CapturePiece[]): void {
    const h = this.headerBytes;
    const legacyCommand = h.subarray(MAGIC_SIZE, MAGIC_SIZE + COMMAND_SIZE);
    if (this.headerNeed === HEADER_SIZE) {
      if (!h.subarray(0, MAGIC_SIZE).equals(this.magic)) {
        return this.halt('garbage', `magic ${h.toString('hex', 0, MAGIC_SIZE)} is not the network's ${this.magic.toString('hex')}`, out);
      }
      const command = parseCommandField(legacyCommand);
      if (command === undefined) return this.halt('garbage', `command field ${describeCommandField(legacyCommand)} is not printable ASCII with NUL padding`, out);
      if (command === EXTMSG_COMMAND) {
        this.headerNeed = EXTENDED_HEADER_SIZE; // 20 more bytes: the real command and u64 length
        return;
      }
      this.begin(timeUs, command, legacyCommand, h.readUInt32LE(16), false, out);
      return;
    }
    const extCommand = h.subarray(HEADER_SIZE, HEADER_SIZE + COMMAND_SIZE);
    const command = parseCommandField(extCommand);
    if (command === undefined || command === EXTMSG_COMMAND) {
      return this.halt('garbage', `extmsg command field ${describeCommandField(extCommand)} is not a command`, out);
    }
    const length = h.readBigUInt64LE(HEADER_SIZE + COMMAND_SIZE);
    if (length > BigInt(MAX_RECORD_PAYLOAD)) {
      return this.halt('too-large', `extmsg ${command} of ${length} bytes does not fit the record's u32 length`, out);
    }
    this.begin(timeUs, command, extCommand, Number(length), true, out);
  }

  private begin(timeUs: bigint, command: string, field: Buffer, length: number, extended: boolean, out: CapturePiece[]): void {
    out.push({
      type: 'record',
      command,
      length,
      header: encodeRecordHeader(timeUs, field, length),
      wire: encodeWireEntry(this.headerBytes.subarray(20, 20 + CHECKSUM_SIZE), extended),
    });
    this.headerFill = 0;
    this.headerNeed = HEADER_SIZE;
    this.remaining = length;
  }

  private halt(reason: CaptureStopReason, detail: string, out: CapturePiece[]): void {
    this.stoppedReason = reason;
    out.push({ type: 'stopped', reason, detail, bytes: Buffer.from(this.headerBytes.subarray(0, this.headerFill)) });
    this.headerFill = 0;
  }
}

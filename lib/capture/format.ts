// The on-disk layout of a capture: Bitcoin Core's -capturemessages format, plus bsv-wire's own
// sidecar files for what that format leaves out.
//
// Facts from Bitcoin Core's per-peer message capture (bitcoin/bitcoin PR #19509, "-capturemessages": src/net.cpp
// CaptureMessageToFile, contrib/message-capture/message-capture-docs.md and message-capture-parser.py,
// test/functional/p2p_message_capture.py), restated here, not copied:
// - one folder per peer under the capture directory, named after the peer's "address:port" with
//   every ':' replaced by '_' (Windows folder names cannot hold a colon): 127.0.0.1_18444, [__1]_18444;
// - in it msgs_recv.dat (received) and msgs_sent.dat (sent), opened for appending, so a later
//   connection to the same address and port continues the same files;
// - each record: time in microseconds since the epoch as u64 little-endian, the command as 12 bytes
//   NUL-padded on the right, the payload length as u32 little-endian, then the payload. No magic and no
//   checksum are kept. The parser tells the direction by "recv" in the file's stem and reads every *.dat.
import { COMMAND_SIZE } from '../framing/header.js';

export const TIME_SIZE = 8;
export const LENGTH_SIZE = 4;
/** time(8) + command(12) + length(4). */
export const RECORD_HEADER_SIZE = TIME_SIZE + COMMAND_SIZE + LENGTH_SIZE;
/** The largest payload a record can describe: its length field is a u32. */
export const MAX_RECORD_PAYLOAD = 0xffff_ffff;

export type CaptureDirection = 'recv' | 'sent';

/** msgs_recv.dat / msgs_sent.dat, or msgs_recv.3.dat for the third rotated file. */
export function recordFileName(direction: CaptureDirection, rotation?: number): string {
  return rotation === undefined ? `msgs_${direction}.dat` : `msgs_${direction}.${rotation}.dat`;
}

/**
 * bsv-wire's sidecar beside each .dat file (same stem, .wire): per record, the 4 checksum bytes as sent
 * and a flags byte (bit 0: the frame came with an extmsg header), padded to WIRE_ENTRY_SIZE. Core's
 * format drops the checksum, so without this a replay could not reproduce a peer's bad checksums.
 * Not a .dat file, so Core's parser never reads it.
 */
export function wireFileName(direction: CaptureDirection, rotation?: number): string {
  return rotation === undefined ? `msgs_${direction}.wire` : `msgs_${direction}.${rotation}.wire`;
}
export const WIRE_ENTRY_SIZE = 8;
export const WIRE_FLAG_EXTENDED = 0x01;

/** One JSON object per line: session open/close, capture stops, rotations (see CaptureNote). */
export const NOTES_FILE = 'bsv-wire.jsonl';

/** The peer's folder name, as Core names it: "address:port" ("[v6]:port"), ':' replaced by '_'. */
export function peerFolderName(address: string, port: number): string {
  const hostPort = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  return hostPort.replaceAll(':', '_');
}

/** The 24-byte record header. `commandField` is the 12 NUL-padded bytes (as on the wire). */
export function encodeRecordHeader(timeUs: bigint, commandField: Buffer, length: number): Buffer {
  if (commandField.length !== COMMAND_SIZE) throw new RangeError(`command field must be ${COMMAND_SIZE} bytes`);
  if (!Number.isInteger(length) || length < 0 || length > MAX_RECORD_PAYLOAD) throw new RangeError(`record length ${length} does not fit a u32`);
  const out = Buffer.alloc(RECORD_HEADER_SIZE);
  out.writeBigUInt64LE(timeUs, 0);
  commandField.copy(out, TIME_SIZE);
  out.writeUInt32LE(length, TIME_SIZE + COMMAND_SIZE);
  return out;
}

/** A command name as its 12-byte NUL-padded field. */
export function commandField(command: string): Buffer {
  const field = Buffer.alloc(COMMAND_SIZE);
  field.write(command, 'latin1');
  return field;
}

export function encodeWireEntry(checksum: Buffer, extended: boolean): Buffer {
  const out = Buffer.alloc(WIRE_ENTRY_SIZE);
  checksum.copy(out, 0, 0, 4);
  out[4] = extended ? WIRE_FLAG_EXTENDED : 0;
  return out;
}

/** What bsv-wire notes beside the records (one JSON line each in NOTES_FILE). Times are microseconds. */
export type CaptureNote =
  | {
      readonly note: 'open';
      readonly timeUs: number;
      readonly network: string;
      /** The network magic as hex: Core's format does not keep it. */
      readonly magic: string;
      readonly peer: string;
      readonly direction: 'inbound' | 'outbound';
      readonly type?: string;
    }
  | { readonly note: 'close'; readonly timeUs: number; readonly code: string; readonly message: string; readonly ban?: string }
  /** Capture of one direction stopped for the rest of the session (garbage, >4 GiB payload, disk too slow). */
  | { readonly note: 'stop'; readonly timeUs: number; readonly direction: CaptureDirection; readonly reason: CaptureStopReason; readonly detail: string; readonly bytes?: string }
  | { readonly note: 'rotate'; readonly timeUs: number; readonly direction: CaptureDirection; readonly file: string };

export type CaptureStopReason = 'garbage' | 'too-large' | 'overflow' | 'write-error';

/** One record read back from a .dat file: its header, then its payload as pieces (see RecordParser). */
export type RecordEvent =
  | { readonly type: 'record'; readonly timeUs: bigint; readonly commandField: Buffer; readonly command: string; readonly length: number }
  | { readonly type: 'payload'; readonly bytes: Buffer }
  | { readonly type: 'record-end' };

/**
 * Reads a .dat file back, chunk by chunk (sans-IO): record headers and payload slices as they come,
 * never a whole payload gathered. `truncated` after the last chunk says whether the file ended inside a
 * record (a capture cut short: the peer was dropped mid-frame, or the capture overflowed).
 */
export class RecordParser {
  private readonly header = Buffer.alloc(RECORD_HEADER_SIZE);
  private fill = 0;
  private remaining = 0;
  private inPayload = false;

  get truncated(): boolean {
    return this.fill > 0 || this.inPayload;
  }

  push(chunk: Buffer): RecordEvent[] {
    const out: RecordEvent[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.inPayload) {
        const take = Math.min(RECORD_HEADER_SIZE - this.fill, chunk.length - offset);
        chunk.copy(this.header, this.fill, offset, offset + take);
        this.fill += take;
        offset += take;
        if (this.fill < RECORD_HEADER_SIZE) break;
        this.fill = 0;
        const field = Buffer.from(this.header.subarray(TIME_SIZE, TIME_SIZE + COMMAND_SIZE));
        const nul = field.indexOf(0);
        const length = this.header.readUInt32LE(TIME_SIZE + COMMAND_SIZE);
        out.push({
          type: 'record',
          timeUs: this.header.readBigUInt64LE(0),
          commandField: field,
          command: field.toString('latin1', 0, nul === -1 ? COMMAND_SIZE : nul),
          length,
        });
        this.remaining = length;
        this.inPayload = length > 0;
        if (!this.inPayload) out.push({ type: 'record-end' });
      } else {
        const take = Math.min(this.remaining, chunk.length - offset);
        out.push({ type: 'payload', bytes: chunk.subarray(offset, offset + take) });
        offset += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          this.inPayload = false;
          out.push({ type: 'record-end' });
        }
      }
    }
    return out;
  }
}

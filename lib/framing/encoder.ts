// Frames out: the 24-byte header (or the 44-byte extmsg header) in front of a payload.
import { EncodeError, FramingError } from '../errors.js';
import { sha256d } from '../hash.js';
import { encodeMessage, type Message } from '../messages/index.js';
import { EXTENDED_PAYLOAD_VERSION } from '../networks.js';
import {
  CHECKSUM_SIZE,
  COMMAND_SIZE,
  EXTENDED_HEADER_SIZE,
  EXTMSG_COMMAND,
  HEADER_SIZE,
  MAGIC_SIZE,
  MAX_LEGACY_PAYLOAD_LENGTH,
  isValidCommand,
} from './header.js';

export interface FrameEncodeOptions {
  /**
   * The peer's announced protocol version. Payloads over 4 GiB - 1 need the extmsg
   * header, which only peers at EXTENDED_PAYLOAD_VERSION (70016) or above understand;
   * without a version the extmsg header is refused.
   */
  readonly peerVersion?: number;
  /** Use the extmsg header even for a small payload (tests, interop). Same version rule. */
  readonly forceExtended?: boolean;
}

/** The frame checksum: the first 4 bytes of sha256d(payload). */
export function payloadChecksum(payload: Buffer): Buffer {
  return sha256d(payload).subarray(0, CHECKSUM_SIZE);
}

function checkCommand(command: string): void {
  if (!isValidCommand(command)) {
    throw new FramingError(command, 'bad-command', 'a command is 1 to 12 printable ASCII characters');
  }
  if (command === EXTMSG_COMMAND) {
    throw new FramingError(command, 'bad-command', 'extmsg is reserved for the extended header');
  }
}

function checkMagic(magic: Buffer): void {
  if (magic.length !== MAGIC_SIZE) throw new RangeError(`magic must be ${MAGIC_SIZE} bytes, got ${magic.length}`);
}

function needsExtended(command: string, payloadLength: number, opts: FrameEncodeOptions): boolean {
  const extended = payloadLength > MAX_LEGACY_PAYLOAD_LENGTH || opts.forceExtended === true;
  if (extended && !(opts.peerVersion !== undefined && opts.peerVersion >= EXTENDED_PAYLOAD_VERSION)) {
    throw new FramingError(
      command,
      'extmsg-not-allowed',
      `a ${payloadLength}-byte payload needs the extmsg header, which peer version ${opts.peerVersion ?? 'unknown'} ` +
        `does not support (needs >= ${EXTENDED_PAYLOAD_VERSION})`,
    );
  }
  return extended;
}

/** Writes the header into `out` at 0 and returns its size. The checksum is ignored for extmsg. */
function writeHeader(
  out: Buffer,
  magic: Buffer,
  command: string,
  payloadLength: number,
  checksum: Buffer | undefined,
  extended: boolean,
): number {
  magic.copy(out, 0);
  const commandField = out.subarray(MAGIC_SIZE, MAGIC_SIZE + COMMAND_SIZE);
  commandField.fill(0);
  if (extended) {
    commandField.write(EXTMSG_COMMAND, 'latin1');
    out.writeUInt32LE(MAX_LEGACY_PAYLOAD_LENGTH, 16);
    out.writeUInt32LE(0, 20); // never verified by receivers
    out.fill(0, 24, 36);
    out.write(command, 24, 'latin1');
    out.writeBigUInt64LE(BigInt(payloadLength), 36);
    return EXTENDED_HEADER_SIZE;
  }
  if (checksum === undefined || checksum.length !== CHECKSUM_SIZE) {
    throw new EncodeError(command, 'checksum', 'a legacy header needs the 4-byte payload checksum');
  }
  commandField.write(command, 'latin1');
  out.writeUInt32LE(payloadLength, 16);
  checksum.copy(out, 20);
  return HEADER_SIZE;
}

/**
 * Only the header, for a payload that will be streamed after it (a payload over 4 GiB
 * cannot be held in one Buffer). A legacy header needs the payload's checksum; an extmsg
 * header (payloadLength > 0xFFFFFFFF, or forceExtended) ignores it.
 */
export function encodeFrameHeader(
  magic: Buffer,
  command: string,
  payloadLength: number,
  checksum: Buffer | undefined,
  opts: FrameEncodeOptions = {},
): Buffer {
  checkMagic(magic);
  checkCommand(command);
  if (!Number.isSafeInteger(payloadLength) || payloadLength < 0) {
    throw new EncodeError(command, 'length', `payload length must be a non-negative safe integer, got ${payloadLength}`);
  }
  const extended = needsExtended(command, payloadLength, opts);
  const out = Buffer.allocUnsafe(extended ? EXTENDED_HEADER_SIZE : HEADER_SIZE);
  writeHeader(out, magic, command, payloadLength, checksum, extended);
  return out;
}

/** A whole frame: header (with sha256d checksum, or extmsg when needed) and payload, in one Buffer. */
export function encodeFrame(magic: Buffer, command: string, payload: Buffer, opts: FrameEncodeOptions = {}): Buffer {
  checkMagic(magic);
  checkCommand(command);
  const extended = needsExtended(command, payload.length, opts);
  const headerSize = extended ? EXTENDED_HEADER_SIZE : HEADER_SIZE;
  const out = Buffer.allocUnsafe(headerSize + payload.length);
  writeHeader(out, magic, command, payload.length, extended ? undefined : payloadChecksum(payload), extended);
  payload.copy(out, headerSize);
  return out;
}

/** Encode a message with the registry and frame it. */
export function encodeMessageFrame(magic: Buffer, message: Message, opts: FrameEncodeOptions = {}): Buffer {
  const { command, payload } = encodeMessage(message);
  return encodeFrame(magic, command, payload, opts);
}

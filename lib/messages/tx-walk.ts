import { DecodeError } from '../errors.js';

/** Smallest possible serialised transaction: version 4 + two empty counts + lock time 4. */
export const MIN_TX_SIZE = 10;
/** Smallest input: outpoint 36 + empty script length 1 + sequence 4. */
export const MIN_INPUT_SIZE = 41;
/** Smallest output: value 8 + empty script length 1. */
export const MIN_OUTPUT_SIZE = 9;

/**
 * Find where a serialised transaction ends without building any objects.
 *
 * `buf[start, available)` holds the bytes that have arrived; `limit` is the furthest
 * the transaction may extend (the end of the payload). Returns the offset just past
 * the transaction, or, when `available` is reached first, `-neededEnd` where
 * `neededEnd` is the smallest offset that must be available before walking again
 * makes progress. That hint lets a streaming caller wait for a large script
 * instead of re-walking the transaction on every chunk.
 */
export function walkTx(buf: Buffer, start: number, available: number, limit: number, command = 'tx'): number {
  let p = start + 4; // version
  if (p + 1 > available) return -(p + 1);
  const nIn = readCompactSize(buf, p, available, command);
  if (nIn < 0) return nIn;
  p += compactSizeLength(buf[p]!);
  if (nIn > (limit - p) / MIN_INPUT_SIZE) fail(command, 'inputs', 'too-large', `${nIn} inputs cannot fit`);
  for (let i = 0; i < nIn; i++) {
    p += 36; // outpoint
    if (p + 1 > available) return -(p + 1);
    const len = readCompactSize(buf, p, available, command);
    if (len < 0) return len;
    p += compactSizeLength(buf[p]!) + len + 4; // script + sequence
    if (p > limit) fail(command, `inputs[${i}].script`, 'truncated', `runs past the payload end`);
  }
  if (p + 1 > available) return -(p + 1);
  const nOut = readCompactSize(buf, p, available, command);
  if (nOut < 0) return nOut;
  p += compactSizeLength(buf[p]!);
  if (nOut > (limit - p) / MIN_OUTPUT_SIZE) fail(command, 'outputs', 'too-large', `${nOut} outputs cannot fit`);
  for (let i = 0; i < nOut; i++) {
    p += 8; // value
    if (p + 1 > available) return -(p + 1);
    const len = readCompactSize(buf, p, available, command);
    if (len < 0) return len;
    p += compactSizeLength(buf[p]!) + len;
    if (p > limit) fail(command, `outputs[${i}].script`, 'truncated', `runs past the payload end`);
  }
  p += 4; // lock time
  if (p > limit) fail(command, 'lockTime', 'truncated');
  return p > available ? -p : p;
}

/** Bytes of a CompactSize, from its first byte. */
export function compactSizeLength(first: number): number {
  return first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
}

/**
 * Canonical CompactSize at `p` (its first byte must be available), or `-neededEnd` when its
 * other bytes have not all arrived. A 0xff prefix is too large for any count or length here.
 */
export function readCompactSize(buf: Buffer, p: number, available: number, command: string, field = 'varint'): number {
  const first = buf[p]!;
  if (first < 0xfd) return first;
  const size = compactSizeLength(first);
  if (p + size > available) return -(p + size);
  if (first === 0xfd) {
    const v = buf.readUInt16LE(p + 1);
    if (v < 0xfd) fail(command, field, 'non-canonical');
    return v;
  }
  if (first === 0xfe) {
    const v = buf.readUInt32LE(p + 1);
    if (v <= 0xffff) fail(command, field, 'non-canonical');
    return v;
  }
  return fail(command, field, 'too-large', 'CompactSize 0xff prefix: more than any payload can hold');
}

function fail(command: string, field: string, reason: DecodeError['reason'], detail?: string): never {
  throw new DecodeError(command, field, reason, detail);
}

import { DecodeError } from '../errors.js';

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
  const nIn = readCount(buf, p, available, command);
  if (nIn < 0) return nIn;
  p += varintSize(buf[p]!);
  if (nIn > (limit - p) / 41) fail(command, 'inputs', 'too-large', `${nIn} inputs cannot fit`);
  for (let i = 0; i < nIn; i++) {
    p += 36; // outpoint
    if (p + 1 > available) return -(p + 1);
    const len = readCount(buf, p, available, command);
    if (len < 0) return len;
    p += varintSize(buf[p]!) + len + 4; // script + sequence
    if (p > limit) fail(command, `inputs[${i}].script`, 'truncated', `runs past the payload end`);
  }
  if (p + 1 > available) return -(p + 1);
  const nOut = readCount(buf, p, available, command);
  if (nOut < 0) return nOut;
  p += varintSize(buf[p]!);
  if (nOut > (limit - p) / 9) fail(command, 'outputs', 'too-large', `${nOut} outputs cannot fit`);
  for (let i = 0; i < nOut; i++) {
    p += 8; // value
    if (p + 1 > available) return -(p + 1);
    const len = readCount(buf, p, available, command);
    if (len < 0) return len;
    p += varintSize(buf[p]!) + len;
    if (p > limit) fail(command, `outputs[${i}].script`, 'truncated', `runs past the payload end`);
  }
  p += 4; // lock time
  if (p > limit) fail(command, 'lockTime', 'truncated');
  return p > available ? -p : p;
}

function varintSize(first: number): number {
  return first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
}

/** CompactSize at `p`, or `-neededEnd` when its bytes have not all arrived. */
function readCount(buf: Buffer, p: number, available: number, command: string): number {
  const first = buf[p]!;
  if (first < 0xfd) return first;
  const size = varintSize(first);
  if (p + size > available) return -(p + size);
  if (first === 0xfd) {
    const v = buf.readUInt16LE(p + 1);
    if (v < 0xfd) fail(command, 'varint', 'non-canonical');
    return v;
  }
  if (first === 0xfe) {
    const v = buf.readUInt32LE(p + 1);
    if (v <= 0xffff) fail(command, 'varint', 'non-canonical');
    return v;
  }
  return fail(command, 'varint', 'too-large', 'CompactSize 0xff prefix inside a transaction');
}

function fail(command: string, field: string, reason: DecodeError['reason'], detail?: string): never {
  throw new DecodeError(command, field, reason, detail);
}

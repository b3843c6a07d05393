import { EncodeError } from '../errors.js';
import { MAX_COMPACT_SIZE, type PayloadReader } from '../encoding/reader.js';
import type { PayloadWriter } from '../encoding/writer.js';

/**
 * BIP152 differential indexes: on the wire each index is sent as the gap since the
 * previous one minus one (the first as itself). Messages expose absolute indexes.
 * `previous` starts at -1.
 */
export function readDifferentialIndex(r: PayloadReader, field: string, previous: number): number {
  const index = previous + r.varint(field) + 1;
  if (index > MAX_COMPACT_SIZE) r.fail(field, 'invalid-value', `absolute index ${index} exceeds 2^32-1`);
  return index;
}

/** Absolute indexes must be integers, strictly increasing, at most 2^32-1. */
export function writeDifferentialIndex(w: PayloadWriter, field: string, index: number, previous: number): void {
  if (!Number.isInteger(index) || index <= previous || index > MAX_COMPACT_SIZE) {
    throw new EncodeError(w.command, field, `index ${index} must be an integer above ${previous} and at most 2^32-1`);
  }
  w.varint(field, index - previous - 1);
}

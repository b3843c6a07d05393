import { sha256 } from '../hash.js';
import type { AddressTable } from './types.js';

/**
 * Bucket placement, after Bitcoin Core's addrman: positions are keyed hashes of netgroups under a
 * secret per-store key, so an outsider cannot aim addresses at chosen slots, and one source netgroup
 * reaches only `newBucketsPerSourceGroup` of the new buckets (one address netgroup only
 * `triedBucketsPerGroup` of the tried buckets).
 */
export interface BucketGeometry {
  readonly newBucketCount: number;
  readonly triedBucketCount: number;
  /** Slots per bucket, in both tables. */
  readonly bucketSize: number;
  /** How many new buckets the addresses relayed by one source netgroup can reach. */
  readonly newBucketsPerSourceGroup: number;
  /** How many tried buckets the addresses of one netgroup can reach. */
  readonly triedBucketsPerGroup: number;
}

/** Bitcoin Core's table sizes: 1024 new and 256 tried buckets of 64 slots. */
export const DEFAULT_GEOMETRY: BucketGeometry = {
  newBucketCount: 1024,
  triedBucketCount: 256,
  bucketSize: 64,
  newBucketsPerSourceGroup: 64,
  triedBucketsPerGroup: 8,
};

/** Validates a geometry once, at construction. */
export function checkGeometry(g: BucketGeometry): BucketGeometry {
  const fields: (keyof BucketGeometry)[] = [
    'newBucketCount',
    'triedBucketCount',
    'bucketSize',
    'newBucketsPerSourceGroup',
    'triedBucketsPerGroup',
  ];
  for (const f of fields) {
    const v = g[f];
    if (!Number.isSafeInteger(v) || v < 1 || v > 1 << 20) throw new RangeError(`PeerStore ${f} must be an integer in 1..${1 << 20}, got ${v}`);
  }
  return g;
}

/** sha256(key || length-prefixed parts), first 48 bits as a number. Length prefixes keep parts unambiguous. */
function keyedHash(key: Buffer, parts: readonly (string | number)[]): number {
  const chunks: Buffer[] = [key];
  for (const part of parts) {
    const bytes = Buffer.from(String(part), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    chunks.push(length, bytes);
  }
  return sha256(Buffer.concat(chunks)).readUIntBE(0, 6);
}

/** The new bucket for an address of `addressGroup` relayed by a source in `sourceGroup`. */
export function newBucketFor(key: Buffer, g: BucketGeometry, addressGroup: string, sourceGroup: string): number {
  const spread = keyedHash(key, ['new-spread', addressGroup, sourceGroup]) % g.newBucketsPerSourceGroup;
  return keyedHash(key, ['new-bucket', sourceGroup, spread]) % g.newBucketCount;
}

/** The tried bucket for an address (its key) in `addressGroup`. */
export function triedBucketFor(key: Buffer, g: BucketGeometry, addressKey: string, addressGroup: string): number {
  const spread = keyedHash(key, ['tried-spread', addressKey]) % g.triedBucketsPerGroup;
  return keyedHash(key, ['tried-bucket', addressGroup, spread]) % g.triedBucketCount;
}

/** The slot inside a bucket; a table-wide slot number is bucket * bucketSize + position. */
export function positionInBucket(key: Buffer, g: BucketGeometry, table: AddressTable, bucket: number, addressKey: string): number {
  return keyedHash(key, ['position', table, bucket, addressKey]) % g.bucketSize;
}

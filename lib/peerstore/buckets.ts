import { hash } from 'node:crypto';
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

/**
 * sha256 over the key and length-prefixed parts (the prefixes keep parts unambiguous whatever a
 * netgroup function returns), as hex. String in, hex out: no Buffers on this hot path, which
 * halves its cost.
 */
function keyedDigest(keyHex: string, parts: readonly (string | number)[]): string {
  let input = keyHex;
  for (const part of parts) {
    const text = String(part);
    input += `|${text.length}:${text}`;
  }
  return hash('sha256', input, 'hex');
}

/** 48 bits of a hex digest, from hex digit `from`. */
function bits48(digestHex: string, from: number): number {
  return parseInt(digestHex.slice(from, from + 12), 16);
}

function keyedHash(keyHex: string, parts: readonly (string | number)[]): number {
  return bits48(keyedDigest(keyHex, parts), 0);
}

/** The new bucket for an address of `addressGroup` relayed by a source in `sourceGroup`. */
export function newBucketFor(key: Buffer, g: BucketGeometry, addressGroup: string, sourceGroup: string): number {
  return newBucketOfGroups(key.toString('hex'), g, addressGroup, sourceGroup);
}

function newBucketOfGroups(keyHex: string, g: BucketGeometry, addressGroup: string, sourceGroup: string): number {
  const spread = keyedHash(keyHex, ['new-spread', addressGroup, sourceGroup]) % g.newBucketsPerSourceGroup;
  return keyedHash(keyHex, ['new-bucket', sourceGroup, spread]) % g.newBucketCount;
}

/** The tried bucket for an address (its key) in `addressGroup`. */
export function triedBucketFor(key: Buffer, g: BucketGeometry, addressKey: string, addressGroup: string): number {
  const keyHex = key.toString('hex');
  return triedBucketOfSpread(keyHex, g, addressGroup, addressHashes(keyHex, g, addressKey).triedSpread);
}

/** The slot inside its bucket for an address in `table`; a table-wide slot is bucket * bucketSize + position. */
export function positionInBucket(key: Buffer, g: BucketGeometry, table: AddressTable, addressKey: string): number {
  const h = addressHashes(key.toString('hex'), g, addressKey);
  return table === 'new' ? h.newPosition : h.triedPosition;
}

interface AddressHashes {
  readonly newPosition: number;
  readonly triedPosition: number;
  readonly triedSpread: number;
}

/** Everything that depends on the address itself comes from one digest: one hash per address. */
function addressHashes(keyHex: string, g: BucketGeometry, addressKey: string): AddressHashes {
  const d = keyedDigest(keyHex, ['address', addressKey]);
  return {
    newPosition: bits48(d, 0) % g.bucketSize,
    triedPosition: bits48(d, 12) % g.bucketSize,
    triedSpread: bits48(d, 24) % g.triedBucketsPerGroup,
  };
}

function triedBucketOfSpread(keyHex: string, g: BucketGeometry, addressGroup: string, spread: number): number {
  return keyedHash(keyHex, ['tried-bucket', addressGroup, spread]) % g.triedBucketCount;
}

const GROUP_CACHE_LIMIT = 4096; // small: a big map of unique keys costs more in GC than it saves

/**
 * Table-wide slot numbers for one key and geometry. Bucket choices depend only on netgroups, which
 * repeat across many addresses, so they are cached (bounded); each address then costs one hash.
 */
export class BucketPlacer {
  private readonly keyHex: string;
  private readonly newBuckets = new Map<string, number>();
  private readonly triedBuckets = new Map<string, number>();

  constructor(
    key: Buffer,
    private readonly g: BucketGeometry,
  ) {
    this.keyHex = key.toString('hex');
  }

  /** The slot of an address in the new table, given the netgroup of its source. */
  newSlot(addressKey: string, addressGroup: string, sourceGroup: string): number {
    const h = addressHashes(this.keyHex, this.g, addressKey);
    return this.newBucket(addressGroup, sourceGroup) * this.g.bucketSize + h.newPosition;
  }

  /** The slot of an address in the tried table. */
  triedSlot(addressKey: string, addressGroup: string): number {
    const h = addressHashes(this.keyHex, this.g, addressKey);
    return this.triedBucket(addressGroup, h.triedSpread) * this.g.bucketSize + h.triedPosition;
  }

  private newBucket(addressGroup: string, sourceGroup: string): number {
    const cacheKey = `${addressGroup.length}:${addressGroup}|${sourceGroup}`;
    let bucket = this.newBuckets.get(cacheKey);
    if (bucket === undefined) {
      bucket = newBucketOfGroups(this.keyHex, this.g, addressGroup, sourceGroup);
      if (this.newBuckets.size >= GROUP_CACHE_LIMIT) this.newBuckets.clear();
      this.newBuckets.set(cacheKey, bucket);
    }
    return bucket;
  }

  private triedBucket(addressGroup: string, spread: number): number {
    const cacheKey = `${spread}|${addressGroup}`;
    let bucket = this.triedBuckets.get(cacheKey);
    if (bucket === undefined) {
      bucket = triedBucketOfSpread(this.keyHex, this.g, addressGroup, spread);
      if (this.triedBuckets.size >= GROUP_CACHE_LIMIT) this.triedBuckets.clear();
      this.triedBuckets.set(cacheKey, bucket);
    }
    return bucket;
  }
}

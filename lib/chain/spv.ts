// SPV inclusion proofs, the pure parts: BIP37 partial merkle trees (decode with the node's checks, and
// build, for serving), a merkle branch computed while a block's txids stream by (O(log n) memory), a
// BIP37 bloom filter for one txid, and verification of a TSC proof against the header tree.
import { sha256d } from '../hash.js';
import type { BlockHeader } from '../messages/block-header.js';
import { merkleProofRoot, merkleProofTxid, PROOF_TARGET_MASK, PROOF_TARGET_BLOCK_HASH, type MerkleProof } from '../messages/merkle-proof.js';
import type { HeaderEntry } from './types.js';

export class SpvError extends Error {
  constructor(
    readonly code: 'bad-partial-tree' | 'not-in-block' | 'unknown-block' | 'not-best-chain' | 'root-mismatch' | 'bad-proof' | 'unsupported-target',
    message: string,
  ) {
    super(message);
    this.name = 'SpvError';
  }
}

/** A block can hold no more transactions than 1 GB... of 60-byte txs; the node bounds it by the block size. The partial tree's own limit. */
export const MAX_PARTIAL_TREE_TXS = 0x7fffffff;

function pair(left: Buffer, right: Buffer): Buffer {
  return sha256d(Buffer.concat([left, right], 64));
}

function treeWidth(total: number, height: number): number {
  return Math.floor((total + (1 << height) - 1) / 2 ** height);
}

function treeHeight(total: number): number {
  let h = 0;
  while (treeWidth(total, h) > 1) h++;
  return h;
}

export interface PartialTreeMatch {
  readonly txid: Buffer;
  readonly index: number;
  /** The sibling hashes from the leaf up (a merkle branch), ready for a TSC proof. */
  readonly branch: readonly Buffer[];
}

/**
 * Decode a merkleblock's partial merkle tree: its root and the matched txids with their branches.
 * Refuses what the node refuses: no txs, more hashes than txs, too few flag bits or hashes, unused
 * hashes or flag bytes, and identical left/right children (the CVE-2012-2459 duplicate trick).
 */
export function decodePartialMerkleTree(total: number, hashes: readonly Buffer[], flags: Buffer): { root: Buffer; matches: PartialTreeMatch[] } {
  if (!Number.isInteger(total) || total < 1 || total > MAX_PARTIAL_TREE_TXS) throw new SpvError('bad-partial-tree', `total ${total} transactions`);
  if (hashes.length > total) throw new SpvError('bad-partial-tree', `${hashes.length} hashes for ${total} transactions`);
  if (flags.length * 8 < hashes.length) throw new SpvError('bad-partial-tree', 'fewer flag bits than hashes');
  const height = treeHeight(total);
  let bitsUsed = 0;
  let hashesUsed = 0;
  // Hashes of the nodes visited, by level and position: the branch of a match reads its siblings here.
  const known = new Map<string, Buffer>();
  const leaves: { txid: Buffer; index: number }[] = [];
  const visit = (h: number, pos: number): Buffer => {
    if (bitsUsed >= flags.length * 8) throw new SpvError('bad-partial-tree', 'ran out of flag bits');
    const parentOfMatch = ((flags[bitsUsed >> 3]! >> (bitsUsed & 7)) & 1) === 1;
    bitsUsed++;
    let hash: Buffer;
    if (h === 0 || !parentOfMatch) {
      if (hashesUsed >= hashes.length) throw new SpvError('bad-partial-tree', 'ran out of hashes');
      hash = hashes[hashesUsed++]!;
      if (hash.length !== 32) throw new SpvError('bad-partial-tree', 'a hash is not 32 bytes');
      if (h === 0 && parentOfMatch) leaves.push({ txid: hash, index: pos });
    } else {
      const left = visit(h - 1, pos * 2);
      let right = left;
      if (pos * 2 + 1 < treeWidth(total, h - 1)) {
        right = visit(h - 1, pos * 2 + 1);
        if (right.equals(left)) throw new SpvError('bad-partial-tree', 'identical left and right children');
      }
      hash = pair(left, right);
    }
    known.set(`${h}:${pos}`, hash);
    return hash;
  };
  const root = visit(height, 0);
  if (hashesUsed !== hashes.length) throw new SpvError('bad-partial-tree', `${hashes.length - hashesUsed} hashes left unused`);
  if (Math.floor((bitsUsed + 7) / 8) !== flags.length) throw new SpvError('bad-partial-tree', 'flag bytes left unused');
  const matches = leaves.map(({ txid, index }) => {
    const branch: Buffer[] = [];
    for (let h = 0; h < height; h++) {
      const pos = Math.floor(index / 2 ** h);
      const sibling = pos ^ 1;
      const hash = sibling < treeWidth(total, h) ? known.get(`${h}:${sibling}`) : known.get(`${h}:${pos}`);
      if (!hash) throw new SpvError('bad-partial-tree', `no sibling at level ${h} for leaf ${index}`);
      branch.push(hash);
    }
    return { txid, index, branch };
  });
  return { root, matches };
}

/** Build a partial merkle tree (what a node puts in a merkleblock) for the txids whose `match` is true. */
export function buildPartialMerkleTree(txids: readonly Buffer[], match: (txid: Buffer, index: number) => boolean): { total: number; hashes: Buffer[]; flags: Buffer } {
  const total = txids.length;
  if (total < 1) throw new RangeError('a block has at least one transaction');
  const matched = txids.map((t, i) => match(t, i));
  const height = treeHeight(total);
  const hashAt = (h: number, pos: number): Buffer => {
    if (h === 0) return txids[pos]!;
    const left = hashAt(h - 1, pos * 2);
    const right = pos * 2 + 1 < treeWidth(total, h - 1) ? hashAt(h - 1, pos * 2 + 1) : left;
    return pair(left, right);
  };
  const bits: boolean[] = [];
  const hashes: Buffer[] = [];
  const walk = (h: number, pos: number): void => {
    let parentOfMatch = false;
    for (let p = pos << h; p < (pos + 1) << h && p < total; p++) parentOfMatch ||= matched[p]!;
    bits.push(parentOfMatch);
    if (h === 0 || !parentOfMatch) {
      hashes.push(hashAt(h, pos));
    } else {
      walk(h - 1, pos * 2);
      if (pos * 2 + 1 < treeWidth(total, h - 1)) walk(h - 1, pos * 2 + 1);
    }
  };
  walk(height, 0);
  const flags = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) flags[i >> 3]! |= 1 << (i & 7);
  });
  return { total, hashes, flags };
}

/**
 * The merkle branch of one txid, computed as the block's txids stream by: like MerkleRootBuilder, one
 * pending subtree per level, plus the siblings met on the target's path. Memory is O(log n).
 */
export class MerkleBranchBuilder {
  private readonly pending: (Buffer | undefined)[] = [];
  /** The level whose pending subtree holds the target, or -1 (not met yet, or carried in `carry`). */
  private targetLevel = -1;
  private readonly siblings: Buffer[] = [];
  private leaves = 0;
  private found = -1;

  constructor(private readonly target: Buffer) {}

  /** The target's position, or -1 if it has not streamed by. */
  get index(): number {
    return this.found;
  }

  get size(): number {
    return this.leaves;
  }

  add(txid: Buffer): void {
    let node: Buffer = Buffer.from(txid);
    let holdsTarget = false;
    if (this.found < 0 && txid.equals(this.target)) {
      this.found = this.leaves;
      holdsTarget = true;
    }
    let h = 0;
    for (let left = this.pending[h]; left !== undefined; left = this.pending[h]) {
      const leftHolds = this.targetLevel === h;
      if (leftHolds) this.siblings[h] = node;
      if (holdsTarget) this.siblings[h] = left;
      holdsTarget ||= leftHolds;
      if (leftHolds) this.targetLevel = -1;
      node = pair(left, node);
      this.pending[h] = undefined;
      h++;
    }
    this.pending[h] = node;
    if (holdsTarget) this.targetLevel = h;
    this.leaves++;
  }

  /** The root and the target's branch once every txid was added; undefined if the target never came. */
  finish(): { root: Buffer; index: number; branch: Buffer[] } | undefined {
    if (this.found < 0 || this.leaves === 0) return undefined;
    const siblings = [...this.siblings];
    const pending = this.pending;
    let top = pending.length - 1;
    while (top >= 0 && pending[top] === undefined) top--;
    let node: Buffer | undefined;
    let nodeHolds = false;
    let root: Buffer | undefined;
    for (let h = 0; h <= top; h++) {
      const left = pending[h];
      const leftHolds = this.targetLevel === h;
      if (node === undefined) {
        if (left === undefined) continue;
        if (h === top) {
          root = left;
          break;
        }
        if (leftHolds) siblings[h] = left;
        node = pair(left, left);
        nodeHolds = leftHolds;
      } else if (left === undefined) {
        if (nodeHolds) siblings[h] = node;
        node = pair(node, node);
      } else {
        if (leftHolds) siblings[h] = node;
        if (nodeHolds) siblings[h] = left;
        nodeHolds ||= leftHolds;
        node = pair(left, node);
      }
    }
    root ??= node!;
    const depth = treeHeight(this.leaves);
    const branch = siblings.slice(0, depth);
    if (branch.length !== depth || branch.some((b) => b === undefined)) return undefined;
    return { root, index: this.found, branch };
  }
}

/** A TSC proof of a txid in a block: txid form, target = the block hash, type-0 nodes. */
export function tscProof(txid: Buffer, index: number, blockHash: Buffer, branch: readonly Buffer[]): MerkleProof {
  return { flags: PROOF_TARGET_BLOCK_HASH, index, txOrId: Buffer.from(txid), target: Buffer.from(blockHash), nodes: branch.map((hash) => ({ type: 0, hash: Buffer.from(hash) })) };
}

/** What verification reads from a HeaderTree (or a HeaderStore's tree). */
export interface ProofHeaders {
  get(hash: Buffer): HeaderEntry | undefined;
  isBest(entry: HeaderEntry): boolean;
  header(hash: Buffer): BlockHeader | undefined;
}

/**
 * Check a TSC proof whose target is a block hash against the header tree: the block is known and on the
 * best chain, and the proof leads to its merkle root. Returns the block's entry; throws SpvError otherwise.
 */
export function verifyMerkleProof(proof: MerkleProof, headers: ProofHeaders): HeaderEntry {
  if ((proof.flags & PROOF_TARGET_MASK) !== PROOF_TARGET_BLOCK_HASH) throw new SpvError('unsupported-target', 'only block-hash targets can be checked against headers');
  const entry = headers.get(proof.target);
  const header = headers.header(proof.target);
  if (!entry || !header) throw new SpvError('unknown-block', 'the proof names a block the header tree does not hold');
  if (!headers.isBest(entry)) throw new SpvError('not-best-chain', `block at height ${entry.height} is not on the best chain`);
  let root: Buffer;
  try {
    root = merkleProofRoot(proof);
  } catch (err) {
    throw new SpvError('bad-proof', (err as Error).message);
  }
  // A branch shorter or longer than the tree is deep could still hash to the root only by a collision;
  // the index must fit the depth so a proof cannot pass an inner node off as a txid.
  if (proof.index >= 2 ** proof.nodes.length) throw new SpvError('bad-proof', `index ${proof.index} does not fit ${proof.nodes.length} levels`);
  if (!root.equals(header.merkleRoot)) throw new SpvError('root-mismatch', `the proof of ${merkleProofTxid(proof).toString('hex')} does not lead to the block's merkle root`);
  return entry;
}

// BIP37 bloom filter, enough to match one txid (what a prover needs).

function murmur3(seed: number, data: Buffer): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = data.length >> 2;
  for (let i = 0; i < blocks; i++) {
    let k = data.readUInt32LE(i * 4);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = blocks * 4;
  const rest = data.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= data[tail + 2]! << 16;
    if (rest >= 2) k ^= data[tail + 1]! << 8;
    k ^= data[tail]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface BloomFilter {
  readonly filter: Buffer;
  readonly hashFuncs: number;
  readonly tweak: number;
}

/** A BIP37 filter holding `items` (wire-order txids here); `bytes` and `hashFuncs` sized for few items. */
export function bloomFilterFor(items: readonly Buffer[], tweak: number, bytes = 32, hashFuncs = 10): BloomFilter {
  const filter = Buffer.alloc(bytes);
  for (const item of items) {
    for (let i = 0; i < hashFuncs; i++) {
      const bit = murmur3((Math.imul(i, 0xfba4c795) + tweak) >>> 0, item) % (bytes * 8);
      filter[bit >> 3]! |= 1 << (bit & 7);
    }
  }
  return { filter, hashFuncs, tweak: tweak >>> 0 };
}

/** Whether a BIP37 filter may hold `item`. */
export function bloomContains(bloom: BloomFilter, item: Buffer): boolean {
  const bits = bloom.filter.length * 8;
  if (bits === 0) return false;
  for (let i = 0; i < bloom.hashFuncs; i++) {
    const bit = murmur3((Math.imul(i, 0xfba4c795) + bloom.tweak) >>> 0, item) % bits;
    if (((bloom.filter[bit >> 3]! >> (bit & 7)) & 1) === 0) return false;
  }
  return true;
}

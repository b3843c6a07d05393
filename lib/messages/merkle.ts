import { sha256d } from '../hash.js';

/**
 * Incremental Bitcoin merkle root: feed txids in block order, ask for the root at the end.
 * Memory is O(log n): one pending left subtree hash per level. Odd levels duplicate
 * their last node, as the consensus rule does.
 */
export class MerkleRootBuilder {
  /** pending[h]: the root of a complete left subtree of 2^h leaves still waiting for its right sibling. */
  private readonly pending: (Buffer | undefined)[] = [];
  private readonly pair = Buffer.allocUnsafe(64);
  private leaves = 0;

  get size(): number {
    return this.leaves;
  }

  /** Add the next leaf (a txid in wire order). */
  add(leaf: Buffer): void {
    let node = leaf;
    let h = 0;
    for (let left = this.pending[h]; left !== undefined; left = this.pending[h]) {
      node = this.hashPair(left, node);
      this.pending[h] = undefined;
      h++;
    }
    this.pending[h] = node;
    this.leaves++;
  }

  /** The root in wire order; undefined for zero leaves. Does not change the builder. */
  root(): Buffer | undefined {
    const pending = this.pending;
    let top = pending.length - 1;
    while (top >= 0 && pending[top] === undefined) top--;
    let node: Buffer | undefined;
    for (let h = 0; h <= top; h++) {
      const left = pending[h];
      if (node === undefined) {
        if (left === undefined) continue;
        if (h === top) return left;
        node = this.hashPair(left, left);
      } else {
        node = left === undefined ? this.hashPair(node, node) : this.hashPair(left, node);
      }
    }
    return node;
  }

  private hashPair(left: Buffer, right: Buffer): Buffer {
    // One reused 64-byte scratch buffer instead of a Buffer.concat per pair.
    left.copy(this.pair, 0, 0, 32);
    right.copy(this.pair, 32, 0, 32);
    return sha256d(this.pair);
  }
}

/**
 * Bitcoin's merkle root of txids (wire order): pairs are hashed with sha256d and an
 * odd last entry at any level is paired with itself. An empty list gives 32 zero bytes,
 * as the node does.
 */
export function merkleRoot(txids: readonly Buffer[]): Buffer {
  const builder = new MerkleRootBuilder();
  for (const txid of txids) builder.add(txid);
  const root = builder.root();
  return root ? Buffer.from(root) : Buffer.alloc(32);
}

/**
 * The sibling hashes from leaf `index` up to the root (a merkle branch), with the
 * same duplicate-last rule as merkleRoot. Useful to build TSC proofs.
 */
export function merkleBranch(txids: readonly Buffer[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= txids.length) {
    throw new RangeError(`leaf index ${index} out of range for ${txids.length} txids`);
  }
  const branch: Buffer[] = [];
  let level: Buffer[] = [...txids];
  let i = index;
  while (level.length > 1) {
    branch.push(Buffer.from(level[i ^ 1] ?? level[i]!));
    const next: Buffer[] = [];
    for (let j = 0; j < level.length; j += 2) {
      next.push(sha256d(Buffer.concat([level[j]!, level[j + 1] ?? level[j]!], 64)));
    }
    level = next;
    i >>>= 1;
  }
  return branch;
}

/** The root a branch leads to: at each level the index's low bit says which side the leaf is on. */
export function rootFromBranch(txid: Buffer, index: number, branch: readonly Buffer[]): Buffer {
  let current = txid;
  let i = index;
  for (const sibling of branch) {
    current = sha256d(i % 2 === 1 ? Buffer.concat([sibling, current], 64) : Buffer.concat([current, sibling], 64));
    i = Math.floor(i / 2);
  }
  return Buffer.from(current);
}

import { hash } from 'node:crypto';

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
    return hash('sha256', hash('sha256', this.pair, 'buffer'), 'buffer');
  }
}

/** Merkle root of a whole list of txids (wire order); for tests and small blocks. */
export function merkleRoot(txids: readonly Buffer[]): Buffer | undefined {
  const builder = new MerkleRootBuilder();
  for (const txid of txids) builder.add(txid);
  return builder.root();
}

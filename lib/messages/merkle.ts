import { sha256d } from '../hash.js';

/**
 * Bitcoin's merkle root of txids (wire order): pairs are hashed with sha256d and an
 * odd last entry at any level is paired with itself. An empty list gives 32 zero bytes,
 * as the node does.
 */
export function merkleRoot(txids: readonly Buffer[]): Buffer {
  if (txids.length === 0) return Buffer.alloc(32);
  let level: Buffer[] = [...txids];
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!;
      const right = level[i + 1] ?? left;
      next.push(sha256d(Buffer.concat([left, right], 64)));
    }
    level = next;
  }
  return Buffer.from(level[0]!);
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

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

import t from 'tap';
import { MerkleRootBuilder, merkleRoot } from '../../lib/messages/merkle.js';
import { sha256, sha256d } from '../../lib/hash.js';

/** The textbook definition: hash pairs level by level, duplicating the last of an odd level. */
function naiveRoot(leaves: Buffer[]): Buffer {
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(sha256d(Buffer.concat([level[i]!, level[i + 1] ?? level[i]!])));
    }
    level = next;
  }
  return level[0]!;
}

t.test('incremental root equals the level-by-level definition', (t) => {
  const leaves = Array.from({ length: 70 }, (_, i) => sha256(Buffer.from([i])));
  let wrong = 0;
  for (let n = 1; n <= leaves.length; n++) {
    if (!merkleRoot(leaves.slice(0, n))!.equals(naiveRoot(leaves.slice(0, n)))) wrong++;
  }
  t.equal(wrong, 0, 'roots of 1..70 leaves match');
  t.ok(merkleRoot([]).equals(Buffer.alloc(32)), 'no leaves: 32 zero bytes, as the node does');
  t.end();
});

t.test('root() does not disturb the builder', (t) => {
  const leaves = Array.from({ length: 13 }, (_, i) => sha256(Buffer.from([i, 1])));
  const builder = new MerkleRootBuilder();
  for (const [i, leaf] of leaves.entries()) {
    builder.add(leaf);
    t.ok(builder.root()!.equals(naiveRoot(leaves.slice(0, i + 1))), `after ${i + 1} leaves`);
  }
  t.equal(builder.size, 13);
  t.end();
});

t.test('a single leaf is its own root (genesis)', (t) => {
  const txid = Buffer.from('4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b', 'hex').reverse();
  t.ok(merkleRoot([txid])!.equals(txid));
  t.end();
});

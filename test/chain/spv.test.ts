// SPV proof parts: the streaming branch builder and partial merkle trees agree with the whole-list
// merkleRoot/merkleBranch for every size and position; bad partial trees are refused; the bloom filter
// matches bcash's bfilter bit for bit; verification against a header tree accepts the true proof only.
import t from 'tap';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { merkleBranch, merkleRoot } from '../../lib/messages/merkle.js';
import { merkleProofRoot } from '../../lib/messages/merkle-proof.js';
import {
  bloomContains,
  bloomFilterFor,
  buildPartialMerkleTree,
  decodePartialMerkleTree,
  MerkleBranchBuilder,
  SpvError,
  tscProof,
  verifyMerkleProof,
} from '../../lib/chain/spv.js';
import { HeaderTree } from '../../lib/chain/header-tree.js';
import { sha256d } from '../../lib/hash.js';
import { encodeBlockHeader, type BlockHeader } from '../../lib/messages/block-header.js';

const txid = (n: number): Buffer => createHash('sha256').update(`leaf${n}`).digest();
const hexes = (l: readonly Buffer[]) => l.map((b) => b.toString('hex'));

t.test('MerkleBranchBuilder: root and branch equal merkleRoot/merkleBranch for 1..70 txs at every index', async (t) => {
  let checked = 0;
  for (let n = 1; n <= 70; n++) {
    const txids = Array.from({ length: n }, (_, i) => txid(i));
    const root = merkleRoot(txids);
    for (let i = 0; i < n; i++) {
      const b = new MerkleBranchBuilder(txids[i]!);
      for (const id of txids) b.add(id);
      const r = b.finish();
      if (!r || !r.root.equals(root) || r.index !== i || hexes(r.branch).join() !== hexes(merkleBranch(txids, i)).join()) {
        t.fail(`n=${n} i=${i}`);
        return;
      }
      checked++;
    }
  }
  t.equal(checked, (70 * 71) / 2, 'every (size, index) pair agreed');
  const absent = new MerkleBranchBuilder(Buffer.alloc(32, 0xee));
  absent.add(txid(1));
  t.equal(absent.finish(), undefined, 'a txid not in the block gives no proof');
});

t.test('partial merkle trees: build then decode gives the root and each match branch', async (t) => {
  for (const n of [1, 2, 3, 5, 8, 13, 31, 64, 100]) {
    const txids = Array.from({ length: n }, (_, i) => txid(1000 + i));
    const pick = new Set([0, n - 1, Math.floor(n / 2), 7].filter((i) => i < n));
    const pmt = buildPartialMerkleTree(txids, (_, i) => pick.has(i));
    const { root, matches } = decodePartialMerkleTree(pmt.total, pmt.hashes, pmt.flags);
    t.ok(root.equals(merkleRoot(txids)), `n=${n}: root`);
    t.same(matches.map((m) => m.index), [...pick].sort((a, b) => a - b), `n=${n}: matches`);
    for (const m of matches) t.same(hexes(m.branch), hexes(merkleBranch(txids, m.index)), `n=${n} i=${m.index}: branch`);
  }
});

t.test('bad partial trees are refused', async (t) => {
  const txids = Array.from({ length: 6 }, (_, i) => txid(i));
  const pmt = buildPartialMerkleTree(txids, (_, i) => i === 3);
  t.throws(() => decodePartialMerkleTree(pmt.total, [...pmt.hashes, txid(99)], pmt.flags), SpvError, 'an unused hash');
  t.throws(() => decodePartialMerkleTree(pmt.total, pmt.hashes.slice(1), pmt.flags), SpvError, 'a hash short');
  t.throws(() => decodePartialMerkleTree(pmt.total, pmt.hashes, Buffer.concat([pmt.flags, Buffer.from([0])])), SpvError, 'an unused flag byte');
  t.throws(() => decodePartialMerkleTree(0, [], Buffer.alloc(0)), SpvError, 'no txs');
  // CVE-2012-2459: a block whose last two txs repeat has the same root as one without them.
  const dup = [txid(1), txid(2), txid(3), txid(3)];
  const d = buildPartialMerkleTree(dup, (_, i) => i === 3);
  t.throws(() => decodePartialMerkleTree(d.total, d.hashes, d.flags), /identical/);
});

t.test('bloom filter: same bytes as bcash bfilter (murmur3 by mrmr), matches its item', async (t) => {
  const require = createRequire(import.meta.url);
  const { BloomFilter } = require('bfilter') as { BloomFilter: new (bits: number, n: number, tweak: number, update: number) => { add(b: Buffer): void; filter: Buffer } };
  for (const tweak of [0, 1, 0xfba4c795, 0xffffffff]) {
    const items = [txid(1), txid(2), Buffer.from('abc'), Buffer.alloc(0), Buffer.from('0102030405', 'hex')];
    const ours = bloomFilterFor(items, tweak, 64, 11);
    const theirs = new BloomFilter(64 * 8, 11, tweak, 0);
    for (const i of items) theirs.add(i);
    t.ok(ours.filter.equals(theirs.filter), `tweak ${tweak}`);
    t.ok(items.every((i) => bloomContains(ours, i)));
  }
});

t.test('verifyMerkleProof against a header tree: the true proof passes, tampered ones fail', async (t) => {
  const txids = Array.from({ length: 11 }, (_, i) => txid(500 + i));
  // A tiny chain of easy headers (regtest bits) whose second block commits to the txids.
  const easy = 0x207fffff;
  const mine = (prev: Buffer, root: Buffer, time: number): { header: BlockHeader; hash: Buffer } => {
    for (let nonce = 0; ; nonce++) {
      const header: BlockHeader = { version: 1, prevBlock: prev, merkleRoot: root, timestamp: time, bits: easy, nonce };
      const hash = sha256d(encodeBlockHeader(header));
      if (hash[31]! < 0x7f) return { header, hash };
    }
  };
  const genesis = mine(Buffer.alloc(32), Buffer.alloc(32, 1), 1_600_000_000);
  const tree = HeaderTree.fromGenesis(genesis.header);
  const b1 = mine(genesis.hash, merkleRoot(txids), 1_600_000_600);
  tree.insert(b1.header, b1.hash);
  const proof = tscProof(txids[6]!, 6, b1.hash, merkleBranch(txids, 6));
  t.ok(merkleProofRoot(proof).equals(b1.header.merkleRoot));
  t.equal(verifyMerkleProof(proof, tree).height, 1);
  const flipped = { ...proof, nodes: proof.nodes.map((n, i) => (i === 2 ? { type: 0, hash: Buffer.from(n.hash.map((x, j) => (j === 0 ? x ^ 1 : x))) } : n)) };
  t.throws(() => verifyMerkleProof(flipped, tree), { code: 'root-mismatch' });
  t.throws(() => verifyMerkleProof({ ...proof, index: 7 }, tree), { code: 'root-mismatch' });
  t.throws(() => verifyMerkleProof({ ...proof, txOrId: txid(1) }, tree), { code: 'root-mismatch' });
  t.throws(() => verifyMerkleProof({ ...proof, target: Buffer.alloc(32, 3) }, tree), { code: 'unknown-block' });
  // A heavier side branch takes the best chain: the block is no longer on it.
  const s1 = mine(genesis.hash, Buffer.alloc(32, 2), 1_600_000_601);
  tree.insert(s1.header, s1.hash);
  const s2 = mine(s1.hash, Buffer.alloc(32, 4), 1_600_001_200);
  tree.insert(s2.header, s2.hash);
  t.throws(() => verifyMerkleProof(proof, tree), { code: 'not-best-chain' });
});

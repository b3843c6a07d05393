import t from 'tap';
import { HeaderTree, HeaderTreeError, TREE_RECORD_SIZE, type TreeEntry } from '../../lib/chain/header-tree.js';
import { blockWork } from '../../lib/chain/work.js';
import { blockHash, type BlockHeader } from '../../lib/messages/block-header.js';
import { toDisplayHex } from '../../lib/hash.js';
import { regtestGenesis, regtestGenesisHash, syntheticChain, type SyntheticHeader } from '../helpers/synthetic-headers.js';

const hex = (b: Buffer): string => toDisplayHex(b);

function insertAll(tree: HeaderTree, headers: readonly SyntheticHeader[]): TreeEntry[] {
  return headers.map((h) => tree.insert(h.header, h.hash));
}

/** The chain below `tip` by walking prevHash, tip first. */
function ancestry(tree: HeaderTree, tip: TreeEntry): string[] {
  const out: string[] = [];
  for (let e: TreeEntry | undefined = tip; e; e = e.height === 0 ? undefined : tree.get(e.prevHash)) out.push(hex(e.hash));
  return out;
}

const from = (e: { hash: Buffer; time: number }): { hash: Buffer; time: number } => ({ hash: e.hash, time: e.time });

t.test('from genesis: one header, the best, height 0, the work of its bits', async (t) => {
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  t.equal(tree.size, 1);
  t.equal(hex(tree.best.hash), hex(regtestGenesisHash));
  t.equal(tree.best.height, 0);
  t.equal(tree.best.chainWork, 2n);
  t.equal(hex(tree.best.prevHash), '00'.repeat(32));
  t.same(tree.tips().map((e) => hex(e.hash)), [hex(regtestGenesisHash)]);
  t.same(tree.locator().map(hex), [hex(regtestGenesisHash)]);
  t.equal(tree.view().at(0)?.height, 0);
  t.equal(tree.view().at(1), undefined);
});

t.test('insert: heights, chain work, lookups, full headers; idempotent; unknown parent refused', async (t) => {
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const chain = syntheticChain(20, 1);
  const entries = insertAll(tree, chain);
  t.equal(tree.size, 21);
  t.same(entries.map((e) => e.height), Array.from({ length: 20 }, (_, i) => i + 1));
  t.equal(tree.best.height, 20);
  t.equal(tree.best.chainWork, 21n * blockWork(0x207fffff));
  for (const [i, h] of chain.entries()) {
    t.equal(hex(blockHash(h.header)), hex(h.hash), 'the generator makes real hashes');
    const got = tree.get(h.hash)!;
    t.equal(got.height, i + 1);
    t.equal(hex(got.prevHash), hex(h.header.prevBlock));
    t.equal(got.time, h.header.timestamp);
    t.equal(got.bits, h.header.bits);
    t.equal(got.version, h.header.version);
    t.equal(hex(tree.atHeight(i + 1)!.hash), hex(h.hash));
    t.same(tree.header(h.hash), h.header, 'the 80-byte header comes back whole');
  }
  t.same(tree.header(regtestGenesisHash), regtestGenesis);
  t.equal(tree.atHeight(21), undefined);
  t.equal(tree.atHeight(-1), undefined);
  t.equal(tree.atHeight(1.5), undefined);
  t.ok(tree.has(chain[5]!.hash));
  t.notOk(tree.has(Buffer.alloc(32, 7)));
  t.equal(tree.get(Buffer.alloc(32, 7)), undefined);
  t.equal(tree.get(Buffer.alloc(5)), undefined, 'a wrong-length hash is simply unknown');

  const again = tree.insert(chain[3]!.header, chain[3]!.hash);
  t.equal(again.height, 4, 'a known hash gives its entry back');
  t.equal(tree.size, 21, 'and adds nothing');

  const orphan = syntheticChain(2, 99)[1]!;
  const err = (() => {
    try {
      tree.insert(orphan.header, orphan.hash);
    } catch (e) {
      return e;
    }
  })();
  t.type(err, HeaderTreeError);
  t.match(err, { reason: 'unknown-parent' });
  t.equal(hex((err as HeaderTreeError).hash!), hex(orphan.hash));
  t.equal(tree.size, 21, 'the orphan is not kept');
  t.notOk(tree.has(orphan.hash));
});

t.test('forks: equal work keeps the first seen, more work switches the best chain', async (t) => {
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const main = insertAll(tree, syntheticChain(10, 1));
  const forkBase = main[4]!; // height 5
  const side = insertAll(tree, syntheticChain(5, 2, from(forkBase)));
  t.equal(side.at(-1)!.height, 10);
  t.equal(side.at(-1)!.chainWork, main.at(-1)!.chainWork, 'same work');
  t.equal(hex(tree.best.hash), hex(main.at(-1)!.hash), 'a tie keeps the tip seen first');
  t.same(
    tree.tips().map((e) => hex(e.hash)),
    [hex(main.at(-1)!.hash), hex(side.at(-1)!.hash)],
    'both tips, the best first',
  );
  t.ok(tree.isBest(main[7]!));
  t.notOk(tree.isBest(side[2]!));

  const longer = tree.insert(...(([h]) => [h!.header, h!.hash] as const)(syntheticChain(1, 3, from(side.at(-1)!))));
  t.equal(hex(tree.best.hash), hex(longer.hash), 'one more header of work moves the best tip');
  for (let h = 6; h <= 10; h++) t.equal(hex(tree.atHeight(h)!.hash), hex(side[h - 6]!.hash), `height ${h} is on the new branch`);
  t.equal(hex(tree.atHeight(5)!.hash), hex(forkBase.hash), 'below the fork nothing changes');
  t.equal(tree.atHeight(11)!.height, 11);
  t.notOk(tree.isBest(main[7]!));
  t.equal(tree.tips().length, 2);
  t.equal(tree.size, 17);
  // commonHeight: where a branch leaves the best chain (BlockSync asks a peer only for blocks up to it).
  t.equal(tree.commonHeight(main.at(-1)!.hash), 5, 'the old branch shares the best chain up to the fork');
  t.equal(tree.commonHeight(main[4]!.hash), 5, 'the fork block itself is on the best chain');
  t.equal(tree.commonHeight(longer.hash), 11, 'the best tip: its own height');
  t.equal(tree.commonHeight(Buffer.alloc(32, 9)), undefined, 'unknown hash');
});

t.test('a shorter branch with more work becomes the best chain; heights above its tip are gone', async (t) => {
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const main = insertAll(tree, syntheticChain(10, 60));
  const oldTip = tree.best;
  const harder = insertAll(tree, syntheticChain(2, 61, from(main[4]!), { bits: 0x2000ffff })); // ~256 hashes of work each
  t.ok(harder[1]!.chainWork > oldTip.chainWork);
  t.equal(hex(tree.best.hash), hex(harder[1]!.hash));
  t.equal(tree.best.height, 7);
  t.equal(tree.atHeight(8), undefined, 'the old chain above the new tip is no longer "best"');
  t.equal(hex(tree.atHeight(6)!.hash), hex(harder[0]!.hash));
  t.equal(hex(tree.atHeight(5)!.hash), hex(main[4]!.hash));
  const reorg = tree.path(oldTip, tree.best);
  t.same(reorg.disconnected.map((e) => e.height), [10, 9, 8, 7, 6]);
  t.same(reorg.connected.map((e) => e.height), [6, 7]);
  const oldView = tree.view(oldTip);
  t.equal(hex(oldView.at(9)!.hash), hex(main[8]!.hash), 'the old branch still answers by height through its view');
  t.equal(hex(oldView.at(3)!.hash), hex(main[2]!.hash));
});

t.test('a reorg 150 deep: path, heights after it, and back again', async (t) => {
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const main = insertAll(tree, syntheticChain(200, 10));
  const oldTip = tree.best;
  const fork = main[49]!; // height 50
  const side = insertAll(tree, syntheticChain(151, 11, from(fork)));
  const newTip = tree.best;
  t.equal(hex(newTip.hash), hex(side.at(-1)!.hash));
  t.equal(newTip.height, 201);

  const reorg = tree.path(oldTip, newTip);
  t.equal(hex(reorg.fork.hash), hex(fork.hash), 'the fork is the last common header');
  t.equal(reorg.disconnected.length, 150);
  t.same(reorg.disconnected.map((e) => e.height), Array.from({ length: 150 }, (_, i) => 200 - i), 'disconnected: tip first');
  t.same(reorg.disconnected.map((e) => hex(e.hash)), main.slice(50).reverse().map((e) => hex(e.hash)));
  t.equal(reorg.connected.length, 151);
  t.same(reorg.connected.map((e) => hex(e.hash)), side.map((e) => hex(e.hash)), 'connected: fork + 1 first');

  for (let h = 0; h <= 201; h++) {
    const expected = h <= 50 ? (h === 0 ? regtestGenesisHash : main[h - 1]!.hash) : side[h - 51]!.hash;
    if (hex(tree.atHeight(h)!.hash) !== hex(expected)) t.fail(`atHeight(${h}) after the reorg`);
  }
  t.equal(tree.atHeight(202), undefined);

  const view = tree.view(oldTip);
  t.same(
    Array.from({ length: 201 }, (_, h) => hex(view.at(200 - h)!.hash)),
    ancestry(tree, oldTip),
    "a view of the old tip still answers with the old tip's ancestors",
  );
  t.equal(view.at(201), undefined);

  const extension = tree.path(main[10]!, oldTip);
  t.equal(hex(extension.fork.hash), hex(main[10]!.hash));
  t.same(extension.disconnected, [], 'a plain extension disconnects nothing');
  t.equal(extension.connected.length, 189);
  const back = tree.path(newTip, oldTip);
  t.equal(back.disconnected.length, 151);
  t.equal(back.connected.length, 150);

  // The old branch grows past the new one: the best chain goes back, at once, without any resync.
  insertAll(tree, syntheticChain(2, 12, from(oldTip)));
  t.equal(tree.best.height, 202);
  t.equal(hex(tree.atHeight(150)!.hash), hex(main[149]!.hash));
  t.equal(hex(tree.atHeight(51)!.hash), hex(main[50]!.hash));
  t.equal(tree.atHeight(203), undefined);
  t.same(tree.tips().map((e) => e.height), [202, 201]);
});

t.test('views: the tip and every ancestor, on the best chain and on forks, across best-chain changes', async (t) => {
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const main = insertAll(tree, syntheticChain(30, 20));
  const side = insertAll(tree, syntheticChain(10, 21, from(main[9]!))); // heights 11..20 off height 10
  const sideTip = side.at(-1)!;
  const view = tree.view(sideTip);
  t.equal(hex(view.tip.hash), hex(sideTip.hash));
  const walk = ancestry(tree, sideTip);
  t.same(Array.from({ length: 21 }, (_, i) => hex(view.at(20 - i)!.hash)), walk);
  t.equal(view.at(21), undefined);
  t.equal(view.at(-1), undefined);
  // The side branch becomes the best chain (and then stops being it): the same view keeps its answers.
  insertAll(tree, syntheticChain(25, 22, from(sideTip)));
  t.same(Array.from({ length: 21 }, (_, i) => hex(view.at(20 - i)!.hash)), walk);
  insertAll(tree, syntheticChain(20, 23, from(main.at(-1)!)));
  t.equal(tree.best.height, 50);
  t.same(Array.from({ length: 21 }, (_, i) => hex(view.at(20 - i)!.hash)), walk);
  const bestView = tree.view();
  t.equal(bestView.tip.height, 50);
  t.equal(hex(bestView.at(30)!.hash), hex(main.at(-1)!.hash));
});

t.test('locator: ten dense hashes, then doubling steps, genesis last; 1,000,000 headers give 29', async (t) => {
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const chain = insertAll(tree, syntheticChain(1000, 30));
  const heights = tree.locator().map((h) => tree.get(h)!.height);
  t.same(heights.slice(0, 10), [1000, 999, 998, 997, 996, 995, 994, 993, 992, 991]);
  const steps = heights.slice(9).map((h, i, all) => (i === 0 ? 0 : all[i - 1]! - h)).slice(1);
  t.same(steps.slice(0, -1), steps.slice(0, -1).map((_, i) => 2 ** (i + 1)), 'steps double after the dense part');
  t.equal(heights.at(-1), 0, 'genesis last');
  t.equal(heights.length, 10 + 8 + 1);
  const fromFork = tree.locator(chain[499]!);
  t.equal(tree.get(fromFork[0]!)!.height, 500, 'from any header');
  t.equal(tree.locator(undefined, { dense: 200 }).length, 101, 'never more than the node accepts (101)');
  // Counted, not built: the same rule applied to a tip at height 1,000,000.
  let count = 0;
  for (let h = 1_000_000, step = 1; h > 0 && count < 100; h -= step) if (++count >= 10) step *= 2;
  t.equal(count + 1, 29);
});

t.test('tips: every leaf, most work first, ties by first seen', async (t) => {
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const main = insertAll(tree, syntheticChain(8, 40));
  const a = insertAll(tree, syntheticChain(2, 41, from(main[2]!)));
  const b = insertAll(tree, syntheticChain(6, 42, from(main[0]!)));
  const c = insertAll(tree, syntheticChain(1, 43, from(main[6]!))); // height 8, as much work as the best: after it
  t.same(
    tree.tips().map((e) => hex(e.hash)),
    [main.at(-1)!, c.at(-1)!, b.at(-1)!, a.at(-1)!].map((e) => hex(e.hash)),
  );
  t.equal(tree.size, 1 + 8 + 2 + 6 + 1);
});

t.test('entries print as plain data', async (t) => {
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const e = tree.best;
  t.same(Object.keys(e).sort(), ['bits', 'chainWork', 'hash', 'height', 'index', 'prevHash', 'time', 'version']);
  const copy: BlockHeader | undefined = tree.header(e.hash);
  t.ok(copy);
});

t.test('fromRecords: a tree over stored records, in place; the first record that breaks the structure ends it', async (t) => {
  const source = HeaderTree.fromGenesis(regtestGenesis);
  const synth = syntheticChain(20, 50);
  const chain = insertAll(source, synth);
  insertAll(source, syntheticChain(3, 51, from(chain[9]!)));
  const { records, headers } = source.recordsFrom(0);
  const copy = (): Buffer => {
    const b = Buffer.alloc(records.length + 10 * TREE_RECORD_SIZE);
    records.copy(b);
    return b;
  };
  const headerOf = (i: number): Buffer => headers.subarray(i * 80, i * 80 + 80);

  const whole = HeaderTree.fromRecords(copy(), source.size, regtestGenesis.prevBlock, headerOf);
  t.equal(whole.validCount, 24);
  t.equal(whole.problem, undefined);
  t.same(whole.tree.tips().map((e) => hex(e.hash)), source.tips().map((e) => hex(e.hash)));
  t.same(whole.tree.header(chain[4]!.hash), synth[4]!.header, 'headers come from the source given');
  t.equal(hex(whole.tree.best.hash), hex(source.best.hash));
  const more = syntheticChain(15, 52, from(chain.at(-1)!));
  insertAll(whole.tree, more); // past the spare room: the arrays grow
  t.equal(whole.tree.size, 39);
  t.equal(whole.tree.best.height, 35);
  t.same(whole.tree.header(more[14]!.hash), more[14]!.header);

  const repeated = copy();
  records.copy(repeated, 12 * TREE_RECORD_SIZE, 5 * TREE_RECORD_SIZE, 5 * TREE_RECORD_SIZE + 32); // record 12 takes record 5's hash
  const r1 = HeaderTree.fromRecords(repeated, source.size, regtestGenesis.prevBlock, headerOf);
  t.equal(r1.validCount, 12);
  t.match(r1.problem, /record 12: repeats the hash/);
  t.equal(r1.tree.best.height, 11);
  t.equal(r1.tree.tips().length, 1);

  const badParent = copy();
  badParent.writeUInt32LE(17, 15 * TREE_RECORD_SIZE + 32); // record 15's parent after it
  const r2 = HeaderTree.fromRecords(badParent, source.size, regtestGenesis.prevBlock, headerOf);
  t.equal(r2.validCount, 15);
  t.match(r2.problem, /record 15: parent 17/);

  const lessWork = copy();
  lessWork.writeUInt32LE(0, 8 * TREE_RECORD_SIZE + 48); // record 8's chain work below its parent's
  const r3 = HeaderTree.fromRecords(lessWork, source.size, regtestGenesis.prevBlock, headerOf);
  t.equal(r3.validCount, 8);
  t.match(r3.problem, /less chain work/);
  t.ok(r3.tree.has(chain[6]!.hash));
  t.notOk(r3.tree.has(chain[7]!.hash), 'nothing at or after the bad record is indexed');
});

// BlockSync under fake time against simulated peers: one test per download and stall rule.
import t, { type Test } from 'tap';
import { BlockSim, SimChain } from './block-sync-sim.js';

const hex = (h: Buffer): string => h.toString('hex');

function assertInOrder(t: Test, sim: BlockSim, top: number): void {
  const expected = Array.from({ length: top }, (_, i) => i + 1);
  t.same(sim.delivered, expected, `every block 1..${top} delivered once, in order`);
}

/** Seconds from the first getdata of each of `from`'s blocks to its first getdata to another peer. */
function rerequestDelays(sim: BlockSim, from: string): number[] {
  const delays: number[] = [];
  for (const [key, t0] of sim.asked) {
    const [h, peer] = key.split(':');
    if (peer !== from) continue;
    let first: number | undefined;
    for (const [k2, t1] of sim.asked) {
      const [h2, p2] = k2.split(':');
      if (h2 === h && p2 !== from && t1 >= t0 && (first === undefined || t1 < first)) first = t1;
    }
    if (first !== undefined) delays.push((first - t0) / 1000);
  }
  return delays;
}

t.test('three honest peers: 300 blocks in order, at most 16 in flight per peer, spread over all', (t) => {
  const chain = new SimChain(300);
  const sim = new BlockSim(chain, () => 2_000, { cursorHeight: 0 });
  for (const id of ['a', 'b', 'c']) sim.addPeer(id, { kind: 'honest', bytesPerSecond: 200_000 });
  let maxQueue = 0;
  const origServe = sim.run.bind(sim);
  for (let i = 0; i < 600 && sim.delivered.length < 300; i++) {
    origServe(100, () => false);
    for (const p of sim.peers.values()) maxQueue = Math.max(maxQueue, p.queue.length);
  }
  assertInOrder(t, sim, 300);
  t.ok(maxQueue <= 16 && maxQueue > 1, `largest queue a peer held: ${maxQueue}`);
  const perPeer = ['a', 'b', 'c'].map((id) => sim.outputs('getdata').filter((o) => o.output.peer === id).reduce((n, o) => n + o.output.hashes.length, 0));
  t.ok(perPeer.every((n) => n >= 50), `getdata hashes per peer: ${perPeer.join(', ')}`);
  t.equal(sim.outputs('disconnect').length, 0, 'nobody dropped');
  t.end();
});

t.test('silent peer: each of its blocks is asked of another peer within 10 s, and it is dropped', (t) => {
  const chain = new SimChain(40);
  const sim = new BlockSim(chain, () => 5_000, { cursorHeight: 0 });
  sim.addPeer('silent', { kind: 'silent' });
  sim.addPeer('good', { kind: 'honest', bytesPerSecond: 1_000_000 });
  sim.run(120_000);
  assertInOrder(t, sim, 40);
  const delays = rerequestDelays(sim, 'silent');
  t.ok(delays.length >= 1, `${delays.length} blocks of the silent peer re-requested`);
  t.ok(Math.max(...delays) <= 10, `re-request delays (s): max ${Math.max(...delays)}`);
  t.ok(sim.outputs('disconnect').some((o) => o.output.peer === 'silent' && o.output.reason === 'block-stall'), 'silent peer dropped for block-stall');
  t.end();
});

t.test('1 KB/s drip peer: below the floor, its blocks move within 10 s and it is dropped', (t) => {
  const chain = new SimChain(30);
  const sim = new BlockSim(chain, () => 200_000, { cursorHeight: 0 });
  sim.addPeer('drip', { kind: 'drip', bytesPerSecond: 1_000 });
  sim.addPeer('good', { kind: 'honest', bytesPerSecond: 5_000_000 });
  sim.run(120_000);
  assertInOrder(t, sim, 30);
  const delays = rerequestDelays(sim, 'drip');
  t.ok(delays.length >= 1 && Math.max(...delays) <= 10, `drip blocks re-requested after (s): ${delays.join(', ')}`);
  t.ok(sim.outputs('disconnect').some((o) => o.output.peer === 'drip'), 'drip peer dropped');
  t.ok(sim.peers.get('good')!.closed === false, 'the good peer stays');
  t.end();
});

t.test('wrong-block peer: scored, dropped, its blocks fetched elsewhere', (t) => {
  const chain = new SimChain(30);
  const sim = new BlockSim(chain, () => 3_000, { cursorHeight: 0 });
  sim.addPeer('liar', { kind: 'wrong-block', bytesPerSecond: 1_000_000 });
  sim.addPeer('good', { kind: 'honest', bytesPerSecond: 1_000_000 });
  sim.run(60_000);
  assertInOrder(t, sim, 30);
  const mis = sim.outputs('misbehavior').filter((o) => o.output.peer === 'liar');
  t.equal(mis.length, 1, 'scored once');
  t.equal(mis[0]?.output.reason, 'unrequested-block');
  t.ok(sim.outputs('rerequest').some((o) => o.output.from === 'liar' && o.output.to === 'good'), 're-requested from the good peer');
  t.end();
});

t.test('bad merkle root: refused, banned (100 points), fetched elsewhere; the bad copy is not kept', (t) => {
  const chain = new SimChain(20);
  const sim = new BlockSim(chain, () => 3_000, { cursorHeight: 0 });
  sim.addPeer('bad', { kind: 'bad-merkle', bytesPerSecond: 1_000_000 });
  sim.addPeer('good', { kind: 'honest', bytesPerSecond: 1_000_000 });
  sim.run(60_000);
  assertInOrder(t, sim, 20);
  const d = sim.outputs('disconnect').find((o) => o.output.peer === 'bad');
  t.same(d && { reason: d.output.reason, ban: d.output.ban }, { reason: 'bad-merkle-root', ban: true });
  t.end();
});

t.test('a peer that disconnects mid-block: its blocks are asked of another peer at once', (t) => {
  const chain = new SimChain(20);
  const sim = new BlockSim(chain, () => 100_000, { cursorHeight: 0 });
  sim.addPeer('quitter', { kind: 'disconnect-mid-block', bytesPerSecond: 1_000_000, afterBytes: 50_000 });
  sim.addPeer('good', { kind: 'honest', bytesPerSecond: 1_000_000 });
  sim.run(60_000);
  assertInOrder(t, sim, 20);
  const delays = rerequestDelays(sim, 'quitter');
  // The block it was sending moves at once; the rest as soon as the good peer has room (16 per peer).
  t.ok(delays.length >= 1 && Math.min(...delays) <= 0.1 && Math.max(...delays) <= 1, `re-requested after (s): ${delays.join(', ')}`);
  t.end();
});

t.test('slow block: fetched in parallel from a second peer after 30 s; the first peer is above the floor and stays', (t) => {
  const chain = new SimChain(3);
  const sim = new BlockSim(chain, (h) => (h === 1 ? 8_000_000 : 1_000), { cursorHeight: 0 });
  sim.addPeer('steady', { kind: 'honest', bytesPerSecond: 150_000 });
  sim.addPeer('fast', { kind: 'honest', bytesPerSecond: 2_000_000 }, 0);
  // 'fast' shows only height 0 at first, so every block goes to 'steady'; once it shows the tip, only the
  // slow-block rule adds it for the big block.
  sim.run(1_000, () => false);
  sim.announce('fast', chain.best.hash);
  sim.run(119_000);
  assertInOrder(t, sim, 3);
  const big = chain.atHeight(1)!.hash;
  const slow = sim.outputs('rerequest').filter((o) => o.output.reason === 'slow-block' && o.output.hash.equals(big));
  t.equal(slow.length, 1, 'one parallel request for the big block');
  t.equal(slow[0]?.output.to, 'fast');
  t.ok(slow[0]!.t >= 30_000 && slow[0]!.t <= 31_000, `added at ${slow[0]!.t / 1000} s`);
  t.equal(sim.outputs('disconnect').length, 0, 'nobody dropped: 150 kB/s is above the floor');
  t.end();
});

t.test('a fast peer on a huge block is never dropped, however long the block takes', (t) => {
  const chain = new SimChain(2);
  const sim = new BlockSim(chain, (h) => (h === 1 ? 200_000_000 : 1_000), { cursorHeight: 0, maxSources: 1 });
  sim.addPeer('a', { kind: 'honest', bytesPerSecond: 2_000_000 });
  sim.addPeer('b', { kind: 'honest', bytesPerSecond: 2_000_000 });
  sim.run(200_000);
  assertInOrder(t, sim, 2);
  t.equal(sim.outputs('disconnect').length, 0, '100 s blocks at 2 MB/s: nobody dropped');
  t.end();
});

t.test('a slow consumer holds the spool at its budget and no peer is blamed for it', (t) => {
  const chain = new SimChain(100);
  const sim = new BlockSim(chain, () => 100_000, { cursorHeight: 0, spoolBudget: 1_000_000, initialBlockEstimate: 100_000 }, 2_000);
  sim.addPeer('a', { kind: 'honest', bytesPerSecond: 1_000_000 });
  sim.addPeer('b', { kind: 'honest', bytesPerSecond: 1_000_000 });
  let maxSpool = 0;
  for (let i = 0; i < 2_500 && sim.delivered.length < 100; i++) {
    sim.run(100, () => false);
    maxSpool = Math.max(maxSpool, sim.sync.spoolUsed);
  }
  assertInOrder(t, sim, 100);
  t.ok(maxSpool <= 1_100_000, `spool peak ${maxSpool} bytes for a 1,000,000-byte budget`);
  t.equal(sim.outputs('disconnect').length, 0, 'idle peers (waiting on us) are not dropped');
  t.end();
});

t.test('the stall rule never switches off: a lone silent peer is kept, then its block moves as soon as a second peer comes', (t) => {
  const chain = new SimChain(5);
  const sim = new BlockSim(chain, () => 1_000, { cursorHeight: 0 });
  sim.addPeer('silent', { kind: 'silent' });
  sim.run(60_000);
  t.same(sim.delivered, [], 'nothing delivered from a silent lone peer');
  t.equal(sim.outputs('disconnect').length, 0, 'the only peer is kept');
  sim.addPeer('good', { kind: 'honest', bytesPerSecond: 1_000_000 });
  const joined = sim.now;
  sim.run(60_000);
  assertInOrder(t, sim, 5);
  const moved = sim.outputs('disconnect').find((o) => o.output.peer === 'silent');
  t.ok(moved && moved.t - joined <= 1_000, `silent peer dropped ${moved ? moved.t - joined : '?'} ms after the second peer came`);
  t.end();
});

t.test('reorg above the cursor: blocks of the old branch are discarded and the new branch fetched', (t) => {
  const chain = new SimChain(40);
  const sim = new BlockSim(chain, () => 1_000, { cursorHeight: 0 }, 1_000);
  sim.addPeer('a', { kind: 'honest', bytesPerSecond: 100_000 });
  sim.run(10_000, () => false);
  const before = sim.delivered.length;
  t.ok(before > 0 && before < 30, `${before} delivered before the reorg`);
  chain.fork(30, 15, 'b');
  sim.apply(sim.sync.chainChanged(sim.now));
  sim.announce('a', chain.best.hash); // the peer that brought the new branch's headers
  t.ok(sim.outputs('discard').length > 0, `${sim.outputs('discard').length} spooled blocks of the old branch discarded`);
  sim.run(120_000);
  assertInOrder(t, sim, 45);
  const newBranch = new Set(chain.entries.slice(31).map((e) => hex(e.hash)));
  const asked = new Set([...sim.asked.keys()].map((k) => k.split(':')[0]));
  t.ok([...newBranch].every((h) => asked.has(h)), 'every block of the new branch asked for');
  t.end();
});

t.test('bytes in flight: big blocks are limited by the peer byte allowance, not only by the 16-block cap', (t) => {
  const run = (bytesPerSecond: number): { maxQueue: number; delivered: number } => {
    const chain = new SimChain(40);
    const sim = new BlockSim(chain, () => 4_000_000, { cursorHeight: 0, initialBlockEstimate: 1_000_000 });
    sim.addPeer('a', { kind: 'honest', bytesPerSecond });
    let maxQueue = 0;
    for (let i = 0; i < 2_000 && sim.delivered.length < 40; i++) {
      sim.run(100, () => false);
      // After the first requests (sized by the 1 MB initial estimate) have drained.
      if (sim.delivered.length >= 10) maxQueue = Math.max(maxQueue, sim.peers.get('a')!.queue.length);
    }
    return { maxQueue, delivered: sim.delivered.length };
  };
  const slow = run(1_000_000);
  const fast = run(20_000_000);
  // 4 MB blocks: 1 MB/s allows max(8 MB, 10 s x 1 MB/s) = 10 MB, two blocks; 20 MB/s allows 200 MB, capped at 16 blocks.
  t.equal(slow.maxQueue, 2, `1 MB/s peer: at most ${slow.maxQueue} blocks of 4 MB in flight`);
  t.equal(fast.maxQueue, 16, `20 MB/s peer: ${fast.maxQueue} blocks in flight (the block cap)`);
  t.equal(fast.delivered, 40);
  t.end();
});

t.test('a block from a peer that owes us none is not held against it (another getdata on the same connection)', (t) => {
  const chain = new SimChain(3);
  const sim = new BlockSim(chain, () => 1_000, { cursorHeight: 0 });
  sim.addPeer('a', { kind: 'honest', bytesPerSecond: 1_000_000 });
  sim.run(10_000);
  t.same(sim.delivered, [1, 2, 3]);
  t.same(sim.sync.blockStarted('a', chain.atHeight(2)!.hash, sim.now), [], 'no score, no disconnect');
  t.end();
});

// Peers on different branches (issue 13): a block of the best chain is asked only of a peer whose best known
// header is that block or a descendant of it, as Bitcoin Core does. Peers here hold only their own branch and
// ignore getdata for any other block, as the BSV node does: asking the wrong peer would wait out the stall rule.

/** Heights of the blocks of `branch` (hex hashes) asked of `peer`, at or after `since`. */
function askedOf(sim: BlockSim, peer: string, branch: Set<string>, since = 0): number[] {
  const heights: number[] = [];
  for (const [key, at] of sim.asked) {
    const [h, p] = key.split(':');
    if (p === peer && at >= since && branch.has(h!)) heights.push(sim.chain.get(Buffer.from(h!, 'hex'))!.height);
  }
  return heights.sort((a, b) => a - b);
}

t.test('reorg mid-sync onto another peer\'s branch: its blocks are asked only of that peer, and nothing waits for a stall', (t) => {
  const chain = new SimChain(45); // A's branch: 0..45
  const sim = new BlockSim(chain, () => 1_000, { cursorHeight: 0 });
  sim.addPeer('a', { kind: 'honest', bytesPerSecond: 20_000 }, 45, { holds: chain.best.hash, missing: 'ignore' });
  sim.run(60_000, () => sim.delivered.length >= 15);
  t.ok(sim.delivered.length >= 15, `${sim.delivered.length} blocks of A's branch delivered first`);
  // B's longer branch from height 5 becomes best; the follower rewinds its cursor to the fork (blockDisconnected).
  chain.fork(5, 50, 'b');
  const forkAt = sim.now;
  sim.apply(sim.sync.chainChanged(sim.now));
  sim.apply(sim.sync.setCursor(5, sim.now));
  const deliveredBefore = sim.delivered.length;
  sim.addPeer('b', { kind: 'honest', bytesPerSecond: 1_000_000 }, 55, { holds: chain.best.hash, missing: 'ignore' });
  sim.run(60_000);
  const branchB = new Set(chain.entries.slice(6).map((e) => hex(e.hash)));
  t.same(askedOf(sim, 'a', branchB), [], "no block of B's branch asked of A (its best header is on its own branch; it claims height 45)");
  t.equal(askedOf(sim, 'b', branchB).length, 50, "all 50 blocks of B's branch asked of B");
  t.same(sim.delivered.slice(deliveredBefore), Array.from({ length: 50 }, (_, i) => 6 + i), "then B's branch 6..55 in order");
  t.same([...sim.outputs('rerequest'), ...sim.outputs('disconnect')].filter((o) => o.t >= forkAt).map((o) => o.output), [], 'no stall, no re-request, nobody dropped');
  t.ok(sim.now - forkAt < 2_000, `B's branch delivered ${sim.now - forkAt} ms after the reorg (the stall rule is 9 s)`);
  t.end();
});

t.test("a peer whose best header moves onto our branch becomes eligible for that branch's blocks", (t) => {
  const chain = new SimChain(45);
  const tipA = chain.best.hash;
  chain.fork(5, 50, 'b');
  const tipB = chain.best.hash;
  const branchB = new Set(chain.entries.slice(6).map((e) => hex(e.hash)));
  const sim = new BlockSim(chain, () => 1_000, { cursorHeight: 0 });
  // B is slow, so blocks wait for a peer: A, fast, is on the other branch.
  sim.addPeer('b', { kind: 'honest', bytesPerSecond: 5_000 }, 55, { holds: tipB, missing: 'ignore' });
  sim.addPeer('a', { kind: 'honest', bytesPerSecond: 1_000_000 }, 45, { holds: tipA, missing: 'ignore' });
  sim.run(2_000, () => false);
  t.same(askedOf(sim, 'a', branchB), [], 'while its best header is on its own branch, A is asked for none of B\'s blocks');
  const movedAt = sim.now;
  sim.announce('a', tipB); // A got B's branch and announced its tip
  sim.run(60_000);
  const afterMove = askedOf(sim, 'a', branchB, movedAt);
  t.ok(afterMove.length >= 10, `after it showed B's tip, A was asked for ${afterMove.length} of B's blocks`);
  t.ok((sim.asked.get(`${hex(chain.atHeight(afterMove[0] ?? 0)!.hash)}:a`) ?? Infinity) - movedAt <= 100, 'at once');
  assertInOrder(t, sim, 55);
  t.same([...sim.outputs('rerequest'), ...sim.outputs('disconnect')].map((o) => o.output), [], 'no stall, no re-request, nobody dropped');
  t.end();
});

t.test('a claim above our tip is not taken as our branch: the peer is asked nothing until its headers show which blocks it has', (t) => {
  const chain = new SimChain(45);
  const sim = new BlockSim(chain, () => 1_000, { cursorHeight: 0 }, 1_000);
  sim.addPeer('a', { kind: 'honest', bytesPerSecond: 5_000 }, 45, { holds: chain.best.hash, missing: 'ignore' });
  // B is on a fork from height 5 and claims 55 in version; its headers have not come yet.
  sim.addPeer('b', { kind: 'honest', bytesPerSecond: 1_000_000 }, 55, { announce: false, holds: chain.atHeight(5)!.hash, missing: 'ignore' });
  sim.run(2_000, () => false);
  const askedOfB = [...sim.asked.keys()].filter((k) => k.endsWith(':b'));
  t.same(askedOfB, [], 'B is asked for nothing on its version claim, though A is slow');
  t.ok(sim.delivered.length <= 5, `the cursor (${sim.delivered.length}) is still below the fork`);
  chain.fork(5, 50, 'b');
  const forkAt = sim.now;
  sim.apply(sim.sync.chainChanged(sim.now));
  sim.announce('b', chain.best.hash); // its headers arrive
  sim.run(120_000);
  const branchB = new Set(chain.entries.slice(6).map((e) => hex(e.hash)));
  t.same(askedOf(sim, 'a', branchB), [], "A is asked for none of B's blocks");
  t.same([...sim.outputs('rerequest'), ...sim.outputs('disconnect')].filter((o) => o.t >= forkAt).map((o) => o.output), [], 'no stall, no re-request, nobody dropped');
  assertInOrder(t, sim, 55);
  t.end();
});

t.test('notfound: the block moves to a peer that has it at once, and the peer is not asked for the rest of that branch', (t) => {
  const chain = new SimChain(45);
  const tipA = chain.best.hash;
  chain.fork(5, 50, 'b');
  const branchB = new Set(chain.entries.slice(6).map((e) => hex(e.hash)));
  const sim = new BlockSim(chain, () => 1_000, { cursorHeight: 0 });
  // Neither showed a header (say their headers came before the follower started): their claims stand in.
  // B holds our branch; C claims 40 but is on A's branch, and answers notfound (as bcash does).
  sim.addPeer('b', { kind: 'honest', bytesPerSecond: 20_000 }, 55, { announce: false });
  sim.addPeer('c', { kind: 'honest', bytesPerSecond: 1_000_000 }, 40, { announce: false, holds: tipA, missing: 'notfound' });
  sim.run(60_000);
  assertInOrder(t, sim, 55);
  t.ok(sim.notFounds.length >= 1, `C answered notfound for ${sim.notFounds.length} blocks`);
  // After each notfound (height h), C is never asked again for a block of B's branch at h or above.
  const askedAgain: string[] = [];
  for (const n of sim.notFounds) {
    const h = chain.get(n.hash)!.height;
    for (const o of sim.log.slice(n.logIndex)) {
      if (o.output.type !== 'getdata' || o.output.peer !== 'c') continue;
      for (const x of o.output.hashes) if (branchB.has(hex(x)) && chain.get(x)!.height >= h) askedAgain.push(`${chain.get(x)!.height} after notfound ${h}`);
    }
  }
  t.same(askedAgain, [], "after a notfound, C is asked for no block of B's branch at or above its height");
  const delays = sim.notFounds.map((n) => (sim.asked.get(`${hex(n.hash)}:b`) ?? Infinity) - n.t);
  // B, slow, has at most 16 in flight: each block waits only for room there, not for the 9 s stall rule.
  t.ok(Math.max(...delays) <= 1_000, `each asked of B ${Math.max(...delays)} ms after C's notfound at most`);
  t.same(sim.outputs('disconnect').map((o) => o.output), [], 'nobody dropped: notfound is no fault');
  t.end();
});

t.test('a peer that answers getheaders with nothing newer is on our chain up to its claim, no longer a last resort', (t) => {
  const chain = new SimChain(40);
  const sim = new BlockSim(chain, () => 1_000, { cursorHeight: 0 });
  sim.addPeer('a', { kind: 'honest', bytesPerSecond: 2_000 }, 40);
  sim.addPeer('b', { kind: 'honest', bytesPerSecond: 1_000_000 }, 40, { announce: false });
  sim.run(2_000, () => false);
  t.same([...sim.asked.keys()].filter((k) => k.endsWith(':b')), [], 'known only by its claim, B is asked nothing while A, whose branch is known, holds every block');
  const answeredAt = sim.now;
  sim.apply(sim.sync.peerNothingNewer('b', sim.now));
  const asked = [...sim.asked].filter(([k]) => k.endsWith(':b'));
  t.ok(asked.length > 0 && asked.every(([, at]) => at === answeredAt), `then B is asked for ${asked.length} blocks at once`);
  sim.run(60_000);
  assertInOrder(t, sim, 40);
  t.end();
});

t.test('our own pause of a peer (the spool disk behind) is not its slowness: not dropped while held, measured afresh after', (t) => {
  const run = (tellCore: boolean): BlockSim => {
    const chain = new SimChain(40);
    const sim = new BlockSim(chain, () => 500_000, { cursorHeight: 0 });
    sim.addPeer('a', { kind: 'honest', bytesPerSecond: 2_000_000 });
    sim.addPeer('b', { kind: 'honest', bytesPerSecond: 2_000_000 });
    sim.run(1_000, () => false);
    const a = sim.peers.get('a')!;
    a.paused = true;
    if (tellCore) sim.sync.peerHeld('a');
    sim.run(25_000, () => false);
    a.paused = false;
    if (tellCore) sim.sync.peerReleased('a', sim.now);
    sim.run(120_000);
    return sim;
  };
  const told = run(true);
  assertInOrder(t, told, 40);
  t.equal(told.outputs('disconnect').length, 0, 'held for 25 s past the 9 s stall window, and not dropped');
  t.ok(told.peers.get('a')!.closed === false, 'it stays and serves again');
  // Control: the same pause, not told to the core, gets the peer dropped as a staller.
  const untold = run(false);
  t.ok(untold.outputs('disconnect').some((o) => o.output.peer === 'a' && o.output.reason === 'block-stall'), 'without peerHeld the pause reads as a stall');
  t.end();
});

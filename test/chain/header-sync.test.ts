// HeaderSync under fake time, against simulated peers (test/chain/header-sync-sim.ts).
import t from 'tap';
import { toDisplayHex } from '../../lib/hash.js';
import { MAX_UNCONNECTING_HEADERS } from '../../lib/chain/header-sync.js';
import { syntheticChain, type SyntheticHeader } from '../helpers/synthetic-headers.js';
import { SimNet, SimPeer, SIM_START_MS } from './header-sync-sim.js';
import { seededRandom } from '../helpers/prng.js';

const hex = (b: Buffer): string => toDisplayHex(b);
const onTop = (h: SyntheticHeader): { hash: Buffer; time: number } => ({ hash: h.hash, time: h.header.timestamp });

// One long chain shared by the tests (heights 1..4500), and branches off it.
const MAIN = syntheticChain(4500, 1);

t.test('many peers with latency: headers-first from one sync peer, then sendheaders to all; best chain by work', async (t) => {
  const net = new SimNet();
  const full = [0, 1, 2].map((i) => new SimPeer({ id: `full${i}`, chain: MAIN, latencyMs: 50 + i * 70 }));
  const short = [0, 1, 2, 3, 4].map((i) => new SimPeer({ id: `short${i}`, chain: MAIN.slice(0, 3000), latencyMs: 5 + i * 40 }));
  for (const [i, p] of [...full, ...short].entries()) net.connect(p, i * 3);
  net.run(120_000, () => net.tree.best.height === 4500 && net.sync.synced && [...net.peers.values()].every((p) => p.requests > 0));
  t.equal(net.tree.best.height, 4500, 'reached the longest chain');
  t.equal(hex(net.tree.best.hash), hex(MAIN[4499]!.hash));
  t.ok(net.sync.synced, 'synced');
  // Everything asked before the first sendheaders went out belongs to the initial download.
  const firstSendheaders = net.log.findIndex((l) => l.output.type === 'sendheaders');
  t.ok(firstSendheaders > 0);
  const beforeSynced = net.log.slice(0, firstSendheaders).filter((l) => l.output.type === 'getheaders');
  t.equal(new Set(beforeSynced.map((l) => l.output.peer)).size, 1, 'one sync peer during the initial download');
  t.ok(beforeSynced[0]!.output.peer.startsWith('full'), 'the sync peer is one that claims the highest height');
  t.equal(beforeSynced.length, 3, '2000 + 2000 + 500: three requests');
  t.ok([...net.peers.values()].every((p) => p.gotSendheaders), 'every peer got sendheaders once synced');
  const headers = net.events.filter((e) => e.type === 'header');
  t.same(headers.map((e) => (e.type === 'header' ? e.entry.height : -1)), Array.from({ length: 4500 }, (_, i) => i + 1), 'one header event per height, in order');
  t.equal(net.events.filter((e) => e.type === 'reorg').length, 0, 'no reorg');
  t.equal(net.outputs('misbehavior').length + net.outputs('disconnect').length, 0, 'no honest peer scored or dropped');
  const lastSeen = net.events.filter((e) => e.type === 'tip').at(-1)!;
  t.equal(lastSeen.type === 'tip' && lastSeen.entry.height, 4500, 'the last tip event is the tip');

  // Following: a peer mines on; its sendheaders announcement extends the chain.
  const next = syntheticChain(2, 2, onTop(MAIN[4499]!));
  full[1]!.chain.push(...next);
  net.sendHeaders(full[1]!, [next[0]!.header]);
  net.sendHeaders(full[1]!, [next[1]!.header], 5);
  net.run(10_000, () => net.tree.best.height === 4502);
  t.equal(net.tree.best.height, 4502, 'announcements followed');
  t.equal(net.outputs('disconnect').length, 0);
});

t.test('a silent sync peer is replaced within 31 s of fake time (the README bound: 30 s deadline + the 1 s tick), every time (the rule never switches off)', async (t) => {
  const net = new SimNet();
  // Three silent peers claim more than the honest one, so each is picked first in turn.
  const silent = [0, 1, 2].map((i) => net.connect(new SimPeer({ id: `silent${i}`, chain: MAIN.slice(0, 100), startHeight: 5000 - i, behaviour: 'silent' })));
  const honest = net.connect(new SimPeer({ id: 'honest', chain: MAIN.slice(0, 2500), latencyMs: 20 }), 10);
  net.run(200_000, () => net.tree.best.height === 2500 && net.sync.synced);
  const replacements: number[] = [];
  for (const peer of silent) {
    const asked = net.outputs('getheaders', peer.id)[0]!.at;
    t.ok(peer.droppedAt !== undefined, `${peer.id} dropped`);
    t.match(peer.dropReason, /no headers reply within 30000 ms/);
    // The next getheaders to anyone else after the drop is the replacement.
    const replaced = net.outputs('getheaders').find((l) => l.at >= peer.droppedAt! && l.output.peer !== peer.id)!;
    replacements.push(replaced.at - asked);
  }
  t.ok(replacements.every((ms) => ms <= 31_000), `replaced after ${replacements.join(', ')} ms`);
  t.ok(replacements.every((ms) => ms >= 30_000), 'not before the 30 s deadline');
  t.equal(net.tree.best.height, 2500, 'synced from the honest peer');
  t.equal(net.outputs('misbehavior').length, 0, 'silence is not scored, only rotated');
  t.equal(honest.droppedAt, undefined);
  t.comment(`silent sync peer replacement times (fake ms): ${replacements.join(', ')}`);
});

t.test('a sync peer that stalls after its first batch is replaced within 31 s and the sync completes', async (t) => {
  const net = new SimNet();
  const staller = net.connect(new SimPeer({ id: 'staller', chain: MAIN, behaviour: 'stall-after-first', latencyMs: 30 }));
  const honest = net.connect(new SimPeer({ id: 'honest', chain: MAIN.slice(0, 4000), latencyMs: 30 }), 5);
  net.run(200_000, () => net.tree.best.height >= 4000 && net.sync.synced);
  const stalledRequest = net.outputs('getheaders', 'staller')[1]!.at;
  const replacement = net.outputs('getheaders', 'honest')[0]!.at;
  t.equal(net.tree.best.height, 4000, 'the rest came from the other peer');
  t.ok(staller.droppedAt !== undefined, 'the staller was dropped');
  t.ok(replacement - stalledRequest <= 31_000, `replaced ${replacement - stalledRequest} ms after the unanswered request`);
  t.equal(honest.droppedAt, undefined);
});

t.test('a reorg deeper than 100 blocks, from simulated peers: one event, before the new branch, no resync', async (t) => {
  const net = new SimNet();
  const old = MAIN.slice(0, 300);
  const a = net.connect(new SimPeer({ id: 'a', chain: old, latencyMs: 15 }));
  net.run(60_000, () => net.tree.best.height === 300 && net.sync.synced);
  t.equal(net.tree.best.height, 300);
  const branch = syntheticChain(400, 7, onTop(MAIN[49]!));
  const b = net.connect(new SimPeer({ id: 'b', chain: [...MAIN.slice(0, 50), ...branch], latencyMs: 40 }));
  const mark = net.events.length;
  net.run(60_000, () => net.tree.best.height === 450);
  const after = net.events.slice(mark);
  const reorgs = after.filter((e) => e.type === 'reorg');
  t.equal(reorgs.length, 1, 'exactly one reorg');
  const reorg = reorgs[0]!.type === 'reorg' ? reorgs[0]!.reorg : undefined;
  t.equal(reorg!.fork.height, 50, 'fork at height 50');
  t.equal(hex(reorg!.fork.hash), hex(MAIN[49]!.hash));
  t.same(reorg!.disconnected.map((e) => hex(e.hash)), old.slice(50).reverse().map((h) => hex(h.hash)), '250 disconnected, tip first');
  t.same(reorg!.connected.map((e) => hex(e.hash)), branch.map((h) => hex(h.hash)), '400 connected, fork + 1 first');
  t.equal(after[0]!.type, 'reorg', 'the reorg comes before any header or tip event of the new branch');
  t.same(after.slice(1).map((e) => e.type), [...Array(400).fill('header'), 'tip'], 'then the new branch header by header, then the tip');
  // No resync: b was asked once, from the locator, and a was not asked again for the old chain.
  t.equal(net.outputs('getheaders', 'b').length, 1, 'one request to the new peer');
  t.ok(net.outputs('getheaders', 'b')[0]!.output.locator.length <= 101, 'with an exponential locator');
  t.equal(a.droppedAt, undefined);
  t.equal(b.droppedAt, undefined);
});

t.test('an unconnecting-headers spammer is scored on every 10th announcement and dropped', async (t) => {
  const net = new SimNet();
  net.connect(new SimPeer({ id: 'honest', chain: MAIN.slice(0, 20) }));
  const spammer = net.connect(new SimPeer({ id: 'spammer', chain: MAIN.slice(0, 20) }), 1);
  net.run(10_000, () => net.sync.synced && net.tree.best.height === 20);
  // Headers on a branch nobody has: each parent is unknown.
  const orphans = syntheticChain(2 * MAX_UNCONNECTING_HEADERS, 9, { hash: Buffer.alloc(32, 0xab), time: 1_300_000_000 });
  for (let i = 0; i < MAX_UNCONNECTING_HEADERS; i++) net.sendHeaders(spammer, [orphans[2 * i + 1]!.header], 100 + i * 100);
  net.run(5_000, () => spammer.droppedAt !== undefined);
  const points = net.outputs('misbehavior', 'spammer');
  t.equal(points.length, 1, 'scored once, on the 10th');
  t.equal(points[0]!.output.points, 20);
  t.match(points[0]!.output.reason, /unconnecting/);
  t.ok(spammer.droppedAt !== undefined, 'dropped');
  t.ok(net.outputs('getheaders', 'spammer').length >= 2, 'the first announcements were answered with getheaders, as the node does');
  t.equal(net.tree.best.height, 20, 'nothing of the spam entered the chain');

  // Non-continuous headers: 20 points and dropped at once.
  const jumbled = net.connect(new SimPeer({ id: 'jumbled', chain: MAIN.slice(0, 20) }));
  net.run(5_000, () => net.outputs('getheaders', 'jumbled').length > 0 && net.now > SIM_START_MS + 20_000);
  net.sendHeaders(jumbled, [MAIN[20]!.header, MAIN[22]!.header]);
  net.run(1_000, () => jumbled.droppedAt !== undefined);
  t.equal(net.outputs('misbehavior', 'jumbled')[0]?.output.points, 20);
  t.match(net.outputs('misbehavior', 'jumbled')[0]?.output.reason, /non-continuous/);
  t.ok(jumbled.droppedAt !== undefined);
});

t.test('a low-difficulty fork is refused, its peer scored and dropped, the best chain kept', async (t) => {
  const net = new SimNet();
  net.connect(new SimPeer({ id: 'honest', chain: MAIN.slice(0, 300) }));
  net.run(30_000, () => net.sync.synced && net.tree.best.height === 300);
  // bits 0x2100ffff: an easier target than regtest's limit. 1000 of them would outweigh 300 regtest headers if accepted.
  const cheap = syntheticChain(1000, 11, onTop(MAIN[49]!), { bits: 0x2100ffff });
  const forger = net.connect(new SimPeer({ id: 'forger', chain: [...MAIN.slice(0, 50), ...cheap] }));
  net.run(10_000, () => forger.droppedAt !== undefined);
  const scored = net.outputs('misbehavior', 'forger');
  t.equal(scored.length, 1);
  t.equal(scored[0]!.output.points, 50, 'high-hash: 50 points, as the node gives');
  t.match(scored[0]!.output.reason, /high-hash/);
  t.ok(forger.droppedAt !== undefined, 'dropped');
  t.equal(net.tree.best.height, 300, 'the best chain is unchanged');
  t.equal(net.tree.has(cheap[0]!.hash), false, 'not one forged header stored');
  t.equal(net.events.filter((e) => e.type === 'reorg').length, 0);

  // Harder-than-required bits on regtest (no retargeting): bad-diffbits, 100 points, a ban.
  const hard = syntheticChain(5, 12, onTop(MAIN[299]!), { bits: 0x1f7fffff });
  const wrongBits = net.connect(new SimPeer({ id: 'wrongbits', chain: [...MAIN.slice(0, 300), ...hard] }));
  net.run(10_000, () => wrongBits.droppedAt !== undefined);
  t.equal(net.outputs('misbehavior', 'wrongbits')[0]?.output.points, 100);
  t.equal(net.outputs('disconnect', 'wrongbits')[0]?.output.ban, true, 'reaching 100 asks for a ban');
  t.equal(net.tree.best.height, 300);
});

t.test('a peer announcing a height or block it never serves is scored and rotated', async (t) => {
  const net = new SimNet();
  // Claims 10,000 in its version message, serves 300: picked as sync peer, caught out by its short reply.
  const liar = net.connect(new SimPeer({ id: 'liar', chain: MAIN.slice(0, 300), startHeight: 10_000 }));
  const honest = net.connect(new SimPeer({ id: 'honest', chain: MAIN.slice(0, 300) }), 1);
  net.run(30_000, () => net.sync.synced);
  t.ok(liar.droppedAt !== undefined, 'the liar was dropped');
  t.match(liar.dropReason, /claimed height 10000/);
  t.equal(net.outputs('misbehavior', 'liar')[0]?.output.points, 20);
  t.equal(net.tree.best.height, 300, 'the headers it did serve are kept');
  t.ok(net.sync.synced, 'synced with the honest peer');
  t.equal(honest.droppedAt, undefined);

  // After sync: an inv for a block whose header the peer then does not serve.
  const invLiar = net.connect(new SimPeer({ id: 'invliar', chain: MAIN.slice(0, 300) }));
  net.run(5_000, () => net.outputs('getheaders', 'invliar').length > 0 && net.now > SIM_START_MS + 40_000);
  net.sendInv(invLiar, [Buffer.alloc(32, 0xcd)]);
  net.run(5_000, () => invLiar.droppedAt !== undefined);
  t.ok(invLiar.droppedAt !== undefined, 'dropped after its reply lacked the announced block');
  t.match(invLiar.dropReason, /announced a block/);

  // An honest inv is served and followed.
  const next = syntheticChain(1, 13, onTop(MAIN[299]!));
  honest.chain.push(...next);
  net.sendInv(honest, [next[0]!.hash]);
  net.run(5_000, () => net.tree.best.height === 301);
  t.equal(net.tree.best.height, 301, 'an announced block is placed by asking for its header');
  t.equal(honest.droppedAt, undefined);
});

t.test('a silent peer in following mode is dropped once its 30 s are up', async (t) => {
  const net = new SimNet();
  const p = net.connect(new SimPeer({ id: 'p', chain: MAIN.slice(0, 10) }));
  net.run(5_000, () => net.sync.synced);
  p.behaviour = 'silent';
  const next = syntheticChain(1, 14, onTop(MAIN[9]!));
  net.sendInv(p, [next[0]!.hash]);
  const sent = net.now;
  net.run(40_000, () => p.droppedAt !== undefined);
  t.ok(p.droppedAt !== undefined);
  t.ok(p.droppedAt! - sent <= 31_000 && p.droppedAt! - sent >= 30_000, `dropped ${p.droppedAt! - sent} ms after the request`);
});

t.test('a throwing event listener never escapes the core', async (t) => {
  const net = new SimNet();
  const errors: unknown[] = [];
  net.sync.on('listenerError', (e) => errors.push(e));
  net.sync.on('tip', () => {
    throw new Error('app bug');
  });
  net.connect(new SimPeer({ id: 'p', chain: MAIN.slice(0, 30) }));
  net.run(5_000, () => net.tree.best.height === 30);
  t.equal(net.tree.best.height, 30);
  t.ok(errors.length >= 1, 'reported as listenerError');
});

t.test('two branches racing across six peers with random latency: replaying the events always gives the best chain', async (t) => {
  const random = seededRandom(42);
  const net = new SimNet();
  const base = MAIN.slice(0, 60);
  const peers = Array.from({ length: 6 }, (_, i) => new SimPeer({ id: `p${i}`, chain: base, latencyMs: 5 + Math.floor(random() * 300) }));
  for (const p of peers) net.connect(p, Math.floor(random() * 50));
  net.run(30_000, () => net.sync.synced && net.tree.best.height === 60);
  // Replay: header events extend the list, a reorg first unwinds exactly its disconnected entries down to its fork.
  const replay: string[] = net.events.filter((e) => e.type === 'header').map((e) => (e.type === 'header' ? hex(e.entry.hash) : ''));
  let broken = '';
  net.sync.on('reorg', (r) => {
    for (const gone of r.disconnected) {
      if (replay.at(-1) !== hex(gone.hash)) broken ||= `reorg disconnects ${hex(gone.hash)} but the replayed tip is ${replay.at(-1)}`;
      replay.pop();
    }
    if (replay.length !== r.fork.height) broken ||= `fork at ${r.fork.height} but the replay has ${replay.length} headers`;
  });
  net.sync.on('header', (e) => {
    const tip = replay.length === 0 ? undefined : replay.at(-1);
    if (e.height !== replay.length + 1 || (tip !== undefined && hex(e.prevHash) !== tip)) broken ||= `header ${e.height} does not extend the replay`;
    replay.push(hex(e.hash));
  });
  // Two branches off height 60, each mined by three peers, growing in random steps; each step is announced by
  // its miner and, after a while, by the others on its side.
  const branches = [syntheticChain(80, 101, onTop(base[59]!)), syntheticChain(80, 202, onTop(base[59]!))];
  const grown = [0, 0];
  let reorgs = 0;
  net.sync.on('reorg', () => reorgs++);
  for (let step = 0; step < 60; step++) {
    const side = random() < 0.5 ? 0 : 1;
    const n = 1 + Math.floor(random() * 3);
    const from = grown[side]!;
    const to = Math.min(80, from + n);
    if (to === from) continue;
    grown[side] = to;
    const added = branches[side]!.slice(from, to);
    for (const [k, p] of peers.entries()) {
      if (k % 2 !== side) continue;
      p.chain = [...base, ...branches[side]!.slice(0, to)];
      net.sendHeaders(p, added.map((h) => h.header), p.latencyMs);
    }
    net.run(200 + Math.floor(random() * 800));
  }
  net.run(10_000);
  const bestSide = grown[0]! > grown[1]! ? 0 : grown[1]! > grown[0]! ? 1 : -1;
  t.equal(broken, '', 'every event was consistent with the replayed chain');
  t.equal(net.tree.best.height, 60 + Math.max(grown[0]!, grown[1]!), 'the best height is the longer branch');
  if (bestSide >= 0) t.equal(hex(net.tree.best.hash), hex(branches[bestSide]![grown[bestSide]! - 1]!.hash), 'the tip of the branch with more work');
  t.same(replay, bestChainHashes(net), 'the replayed chain is the tree best chain');
  t.ok(reorgs >= 1, `the lead changed hands (${reorgs} reorgs)`);
  t.equal(net.outputs('disconnect').length, 0, 'no honest peer dropped');
  t.comment(`branches grew to ${grown.join(' and ')}; ${reorgs} reorgs`);
});

function bestChainHashes(net: SimNet): string[] {
  const out: string[] = [];
  const view = net.tree.view();
  for (let h = 1; h <= net.tree.best.height; h++) out.push(hex(view.at(h)!.hash));
  return out;
}

// README "HeaderSync", scoring: "a longer message that does not connect 10" (and a drop), beside the
// unconnecting-announcement and non-continuous cases in header-sync.test.ts.
import t from 'tap';
import { MAX_BLOCKS_TO_ANNOUNCE } from '../../lib/chain/header-sync.js';
import { syntheticChain } from '../helpers/synthetic-headers.js';
import { SimNet, SimPeer, SIM_START_MS } from './header-sync-sim.js';

const MAIN = syntheticChain(40, 1);

t.test('a message of 8 or more headers whose first parent is unknown: 10 points and a drop; nothing enters the tree', async (t) => {
  const net = new SimNet();
  net.connect(new SimPeer({ id: 'honest', chain: MAIN.slice(0, 20) }));
  const liar = net.connect(new SimPeer({ id: 'liar', chain: MAIN.slice(0, 20) }), 1);
  net.run(10_000, () => net.sync.synced && net.tree.best.height === 20 && net.now > SIM_START_MS + 5_000);
  const sizeBefore = net.tree.size;
  const orphans = syntheticChain(MAX_BLOCKS_TO_ANNOUNCE, 9, { hash: Buffer.alloc(32, 0xcd), time: 1_300_000_000 });
  net.sendHeaders(liar, orphans.map((h) => h.header));
  net.run(2_000, () => liar.droppedAt !== undefined);
  const points = net.outputs('misbehavior', 'liar');
  t.equal(points.length, 1);
  t.equal(points[0]?.output.points, 10, '10 points, as the node gives');
  t.ok(liar.droppedAt !== undefined, 'dropped');
  t.equal(net.tree.size, sizeBefore, 'nothing of it entered the tree');
});

t.test('the same headers one short of 8 count as an announcement: no points, answered with getheaders', async (t) => {
  const net = new SimNet();
  net.connect(new SimPeer({ id: 'honest', chain: MAIN.slice(0, 20) }));
  const ahead = net.connect(new SimPeer({ id: 'ahead', chain: MAIN.slice(0, 20) }), 1);
  net.run(10_000, () => net.sync.synced && net.tree.best.height === 20 && net.now > SIM_START_MS + 5_000);
  const asked = net.outputs('getheaders', 'ahead').length;
  const orphans = syntheticChain(MAX_BLOCKS_TO_ANNOUNCE - 1, 9, { hash: Buffer.alloc(32, 0xcd), time: 1_300_000_000 });
  net.sendHeaders(ahead, orphans.map((h) => h.header));
  net.run(1_000, () => net.outputs('getheaders', 'ahead').length > asked);
  t.equal(net.outputs('misbehavior', 'ahead').length, 0, 'no points');
  t.ok(net.outputs('getheaders', 'ahead').length > asked, 'asked for the headers between');
  t.equal(ahead.droppedAt, undefined, 'kept');
});

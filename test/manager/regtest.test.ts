import t from 'tap';
import { Manager, type ManagedPeer } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { PeerStore } from '../../lib/peerstore/index.js';
import type { MessageOf } from '../../lib/messages/index.js';
import { startRegtestNode } from '../helpers/regtest.js';
import { octetNetgroup, startTestPeer, waitUntil } from './fixtures/peers.js';

t.test('the real regtest node as one of the Manager outbound peers', async (t) => {
  const node = await startRegtestNode();
  const ours = await startTestPeer(regtest, '127.0.0.2', 0);
  const netgroup = octetNetgroup(10);
  const store = new PeerStore({ netgroup });
  store.add([{ host: '127.0.0.1', port: node.p2pPort }], '127.0.0.1');
  store.add([{ host: '127.0.0.2', port: ours.port }], '127.0.0.2');
  const manager = new Manager({
    network: regtest,
    store,
    outbound: 2,
    discover: false,
    netgroup,
    feelerIntervalMs: 0,
    // bcash says /bcash:1.1.1/, which the default BSV policy refuses.
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
  });
  t.teardown(async () => {
    await manager.stop();
    await ours.close();
    await node.stop();
  });
  const ready: ManagedPeer[] = [];
  manager.on('peer:ready', (p) => ready.push(p));
  await manager.start();
  await waitUntil(() => ready.length === 2, 20_000, 'both peers ready');
  const bcash = ready.find((p) => p.remotePort === node.p2pPort)!;
  t.ok(bcash, 'the regtest node is connected');
  const row = manager.stats().peers.find((p) => p.id === bcash.id)!;
  t.match(row.userAgent, /^\/bcash:/);
  t.equal(row.type, 'outbound');
  t.equal(row.state, 'ready');
  t.equal(row.services, 1n);
  t.ok(row.version! >= 70015);

  const inv = new Promise<[MessageOf<'inv'>, ManagedPeer]>((resolve) =>
    manager.on('inv', (m, peer) => {
      if (m.inventory.some((i) => i.type === 2)) resolve([m, peer]);
    }),
  );
  const [hash] = await node.mine(1);
  const [m, from] = await Promise.race([inv, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no inv within 10 s')), 10_000))]);
  t.equal(from, bcash, "the forwarded 'inv' carries the bcash peer");
  t.ok(m.inventory.some((i) => Buffer.from(i.hash).reverse().toString('hex') === hash), 'announces the mined block');
  const rtt = await bcash.ping(5000);
  t.ok(rtt >= 0);
  t.ok(manager.stats().peers.find((p) => p.id === bcash.id)!.rtt.samples >= 1, 'RTT in stats');
  t.equal(store.get(`127.0.0.1:${node.p2pPort}`)?.table, 'tried', 'marked good');
});

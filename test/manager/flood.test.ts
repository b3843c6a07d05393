import t from 'tap';
import net from 'node:net';
import { Manager } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { PeerStore } from '../../lib/peerstore/index.js';
import { closedPort } from '../helpers/ports.js';
import { startTestPeer, waitUntil, type TestPeerServer } from './fixtures/peers.js';

const network = defineNetwork({ name: 'manager-flood', magic: 'd1d2d3d4', defaultPort: 18997 });

t.test('Manager under 1,000 concurrent inbound attempts and churning outbound dials stays within 8 out / 16 in', async (t) => {
  const live: TestPeerServer[] = [];
  for (let i = 0; i < 10; i++) live.push(await startTestPeer(network, `127.0.1.${i + 1}`, 0));
  const dead = await closedPort('127.0.0.1');
  // Every host its own netgroup, so only the slot limit bounds outbound.
  const netgroup = (host: string): string => host;
  const store = new PeerStore({ netgroup });
  for (const s of live) store.add([{ host: s.host, port: s.port }], s.host);
  for (let i = 0; i < 30; i++) store.add([{ host: `127.0.2.${i + 1}`, port: dead }], `127.0.2.${i + 1}`);
  const manager = new Manager({
    network,
    store,
    outbound: 8,
    inbound: 16,
    listen: { host: '127.0.0.1', port: 0 },
    discover: false,
    netgroup,
    feelerIntervalMs: 0,
    retryDelayMs: 0,
    maintainIntervalMs: 5,
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
  });
  t.teardown(async () => {
    await manager.stop();
    await Promise.all(live.map((s) => s.close()));
  });

  let samples = 0;
  let violations = 0;
  let maxOut = 0;
  let maxIn = 0;
  const sample = (): void => {
    samples++;
    const c = manager.slotCounts();
    maxOut = Math.max(maxOut, c.outbound);
    maxIn = Math.max(maxIn, c.inbound);
    if (c.outbound > 8 || c.inbound > 16) violations++;
  };
  manager.on('state', sample);
  manager.on('peer:close', sample);
  manager.on('peer:evict', sample);
  const sampler = setInterval(sample, 1);
  let evictions = 0;
  manager.on('peer:evict', () => evictions++);

  await manager.start();
  const port = manager.listenAddress!.port;
  let opened = 0;
  const attempt = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: `127.0.3.${(i % 250) + 1}` });
      // Held open a while after connecting (never a version), so the inbound slots fill and churn.
      let timer: NodeJS.Timeout | undefined = setTimeout(() => socket.destroy(), 5000);
      socket.on('connect', () => {
        opened++;
        sample();
        clearTimeout(timer);
        timer = setTimeout(() => socket.destroy(), 100 + (i % 100));
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  // 1,000 attempts, 250 in flight at a time.
  for (let batch = 0; batch < 4; batch++) await Promise.all(Array.from({ length: 250 }, (_, i) => attempt(batch * 250 + i)));
  await waitUntil(() => manager.peers.filter((p) => p.type === 'outbound' && p.state === 'ready').length === 8, 15_000, '8 live outbound peers among the failing addresses');
  clearInterval(sampler);
  sample();

  t.equal(violations, 0, `no sample above the limits (${samples} samples; max out ${maxOut}, max in ${maxIn})`);
  t.equal(maxIn, 16, 'inbound reached its limit');
  t.ok(opened > 500, `${opened} of 1000 TCP connections opened`);
  t.ok(evictions > 0, `evictions happened (${evictions})`);
  await manager.stop();
  t.same(manager.slotCounts(), { outbound: 0, inbound: 0, manual: 0, feeler: 0, 'addr-fetch': 0 }, 'every slot released after stop()');
});

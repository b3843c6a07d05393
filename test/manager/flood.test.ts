import t from 'tap';
import net from 'node:net';
import { Manager, INBOUND_REJECTING_ALLOWANCE } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { PeerStore } from '../../lib/peerstore/index.js';
import { closedPort } from '../helpers/ports.js';
import { acceptedOpenSockets, kernelSocketsUnavailable, startKernelSampler } from '../helpers/os-sockets.js';
import { startTestPeer, waitUntil, type TestPeerServer } from './fixtures/peers.js';

const network = defineNetwork({ name: 'manager-flood', magic: 'd1d2d3d4', defaultPort: 18997 });

t.test('Manager under 1,000 concurrent inbound attempts and churning outbound dials holds at most 8 outbound and 16 + allowance inbound sockets (kernel view)', { skip: kernelSocketsUnavailable }, async (t) => {
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

  // What the OS sees, not slot counters: accepted sockets still open on the listener (its backlog and
  // sockets already closed have no inode), and open sockets towards the store's outbound targets.
  // A worker thread reads the kernel's table, so the sampling never stalls the Manager's event loop.
  const inboundCap = 16 + INBOUND_REJECTING_ALLOWANCE;
  const targets = [...live.map((s) => `${s.host}:${s.port}`), ...Array.from({ length: 30 }, (_, i) => `127.0.2.${i + 1}:${dead}`)];
  let maxPeers = 0;
  let limitReachedAt = 0;
  const samplePeers = (): void => {
    // The Manager's own list, rejecting (slot-less) peers included.
    maxPeers = Math.max(maxPeers, manager.peers.filter((p) => p.type === 'inbound').length);
    if (maxPeers >= 16 && limitReachedAt === 0) limitReachedAt = Date.now();
  };
  manager.on('peer:evict', samplePeers);
  const sampler = setInterval(samplePeers, 1);
  t.teardown(() => clearInterval(sampler));
  let evictions = 0;
  manager.on('peer:evict', () => evictions++);

  await manager.start();
  const port = manager.listenAddress!.port;
  const kernel = startKernelSampler(`127.0.0.1:${port}`, targets);
  t.teardown(() => kernel.stop());
  let opened = 0;
  const attempt = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: `127.0.3.${(i % 250) + 1}` });
      // Held open a while after connecting (never a version), so the inbound slots fill and churn.
      let timer: NodeJS.Timeout | undefined = setTimeout(() => socket.destroy(), 5000);
      socket.on('connect', () => {
        opened++;
        samplePeers();
        clearTimeout(timer);
        // On a starved machine the Manager may accept late: hold on until it has filled its inbound slots
        // (at most 5 s), and in the first batch a second longer, so the kernel sampler sees the full listener.
        const connectedAt = Date.now();
        const hangUp = (): void => {
          const filled = limitReachedAt > 0 && (i >= 250 || Date.now() - limitReachedAt >= 1000);
          if (filled || Date.now() - connectedAt > 5000) socket.destroy();
          else timer = setTimeout(hangUp, 50);
        };
        timer = setTimeout(hangUp, 300 + (i % 200));
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
  const { samples, accepted: maxIn, outbound: maxOut } = await kernel.stop();

  t.ok(maxOut <= 8, `at most 8 outbound sockets open at once (max ${maxOut}, ${samples} samples of the kernel's table)`);
  t.ok(maxIn <= inboundCap, `at most 16 + ${INBOUND_REJECTING_ALLOWANCE} accepted sockets open at once (max ${maxIn})`);
  t.ok(maxPeers <= inboundCap, `at most ${inboundCap} inbound peers in the Manager's list, rejecting ones included (max ${maxPeers})`);
  // The kernel table is slow to read under load, so the sampler may miss the very peak; it must at least
  // have seen the listener busy, and the Manager's list must have reached the limit.
  t.ok(maxIn >= 8, `the sampler saw the listener busy, so a violation could be seen (max ${maxIn})`);
  t.ok(maxPeers >= 16, `the Manager's inbound list reached the limit (max ${maxPeers})`);
  t.equal(maxOut, 8, 'outbound reached its target');
  t.ok(opened > 500, `${opened} of 1000 TCP connections opened`);
  t.ok(evictions > 0, `evictions happened (${evictions})`);
  await manager.stop();
  t.equal(acceptedOpenSockets('127.0.0.1', port), 0, 'no accepted socket left open after stop()');
  t.same(manager.slotCounts(), { outbound: 0, inbound: 0, manual: 0, feeler: 0, 'addr-fetch': 0 }, 'every slot released after stop()');
});

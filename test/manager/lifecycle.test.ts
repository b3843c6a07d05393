import t from 'tap';
import { Manager, type DialFailedEvent, type ManagedPeer } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { PeerStore } from '../../lib/peerstore/index.js';
import type { CloseReason } from '../../lib/peer/reasons.js';
import { octetNetgroup, startTestPeer, startTestPeersOnOnePort, waitUntil } from './fixtures/peers.js';
import { recordingLogger } from '../helpers/recording-logger.js';

const network = defineNetwork({ name: 'manager-lifecycle', magic: 'c1c2c3c4', defaultPort: 18998 });
const common = { network, discover: false, feelerIntervalMs: 0, peerOptions: { userAgentPolicy: ACCEPT_ANY_UA } } as const;

t.test('a manual peer that is down is retried with backoff, and redialed when it drops us', async (t) => {
  const server = await startTestPeer(network, '127.0.0.3', 0);
  server.refuse = true;
  const manager = new Manager({ ...common, outbound: 0, peers: [`127.0.0.3:${server.port}`], manualBackoff: { minMs: 50, maxMs: 200 } });
  t.teardown(async () => {
    await manager.stop();
    await server.close();
  });
  const ready: ManagedPeer[] = [];
  const failures: DialFailedEvent[] = [];
  manager.on('peer:ready', (p) => ready.push(p));
  manager.on('dial:failed', (e) => failures.push(e));
  await manager.start();
  await new Promise((r) => setTimeout(r, 400));
  t.equal(ready.length, 0, 'not connected while the peer refuses');
  t.ok(failures.length >= 2, `each failed attempt is reported (${failures.length})`);
  t.same(
    failures.map((f) => [f.host, f.port, f.type, f.transient]),
    failures.map(() => ['127.0.0.3', server.port, 'manual', true]),
    'as a transient manual dial failure',
  );
  server.refuse = false;
  await waitUntil(() => ready.length === 1, 5000, 'manual peer connected once up');
  t.equal(ready[0]!.type, 'manual');
  // The peer drops us: the Manager dials again.
  await server.peers.at(-1)!.close();
  await waitUntil(() => ready.length === 2, 5000, 'redialed');
  t.equal(manager.stats().slots.manual, 1, 'one manual slot held');
  t.equal(server.peers.filter((p) => !p.closeReason).length, 1, 'one live connection');
});

t.test('feeler: a new address is tried, moved to tried, and hung up', async (t) => {
  const { servers } = await startTestPeersOnOnePort(() => network, ['127.0.0.4', '127.0.0.5']);
  const netgroup = octetNetgroup(10);
  const store = new PeerStore({ netgroup });
  const [a, b] = servers;
  const manager = new Manager({ ...common, store, outbound: 1, netgroup, feelerIntervalMs: 100 });
  t.teardown(async () => {
    await manager.stop();
    await Promise.all(servers.map((s) => s.close()));
  });
  store.add([{ host: a!.host, port: a!.port }], 'x');
  const closes: [ManagedPeer, CloseReason][] = [];
  manager.on('peer:close', (p, r) => closes.push([p, r]));
  await manager.start();
  await waitUntil(() => manager.stats().peers.some((p) => p.type === 'outbound' && p.state === 'ready'), 5000, 'outbound full');
  store.add([{ host: b!.host, port: b!.port }], 'x');
  t.equal(store.get(`${b!.host}:${b!.port}`)?.table, 'new');
  await waitUntil(() => closes.some(([p]) => p.type === 'feeler'), 5000, 'feeler done');
  const [feeler, reason] = closes.find(([p]) => p.type === 'feeler')!;
  t.equal(feeler.remoteAddress, b!.host);
  t.equal(reason.message, 'feeler done');
  t.equal(store.get(`${b!.host}:${b!.port}`)?.table, 'tried', 'moved to tried');
  t.equal(manager.stats().slots.feeler, 0, 'feeler slot released');
});

t.test('privacy rotation replaces an outbound peer', async (t) => {
  const { servers } = await startTestPeersOnOnePort(() => network, ['127.0.0.6', '127.0.0.7', '127.0.0.8']);
  const netgroup = octetNetgroup(10);
  const store = new PeerStore({ netgroup });
  for (const s of servers) store.add([{ host: s.host, port: s.port }], 'x');
  const manager = new Manager({ ...common, store, outbound: 1, netgroup, rotateIntervalMs: 300, retryDelayMs: 0 });
  t.teardown(async () => {
    await manager.stop();
    await Promise.all(servers.map((s) => s.close()));
  });
  const ready: ManagedPeer[] = [];
  manager.on('peer:ready', (p) => ready.push(p));
  const rotated: string[] = [];
  manager.on('peer:close', (p, r) => {
    if (r.message === 'privacy rotation') rotated.push(p.remoteAddress);
  });
  await manager.start();
  await waitUntil(() => ready.length >= 3, 5000, 'two rotations');
  t.ok(rotated.length >= 2, `rotated ${rotated.join(', ')}`);
  t.not(ready[1]!.remoteAddress, ready[0]!.remoteAddress, 'the replacement is another peer');
  t.ok(manager.stats().peers.filter((p) => p.type === 'outbound').length <= 1, 'never above the target');
});

t.test('options are checked; stop() before start() and twice is harmless', async (t) => {
  t.throws(() => new Manager({ ...common, peers: ['bad host:1'] }), RangeError);
  const m = new Manager({ ...common, outbound: 0 });
  await m.stop();
  await m.start();
  t.throws(() => m.addManualPeer('has space'), RangeError);
  await Promise.all([m.stop(), m.stop()]);
  t.equal(m.peers.length, 0);
});

t.test('start() rejects when the listen address is taken, and can be retried', async (t) => {
  const first = new Manager({ ...common, outbound: 0, listen: { host: '127.0.0.1', port: 0 } });
  await first.start();
  t.teardown(() => first.stop());
  const port = first.listenAddress!.port;
  const second = new Manager({ ...common, outbound: 0, listen: { host: '127.0.0.1', port } });
  await t.rejects(second.start(), { code: 'address-in-use' });
  await first.stop();
  await second.start();
  t.equal(second.listenAddress!.port, port, 'started once the port was free');
  await second.stop();
});

t.test('a banned address in the store is never dialed', async (t) => {
  const { servers } = await startTestPeersOnOnePort(() => network, ['127.0.0.9', '127.0.0.10']);
  const netgroup = octetNetgroup(100);
  const store = new PeerStore({ netgroup });
  for (const s of servers) store.add([{ host: s.host, port: s.port }], 'x');
  store.ban('127.0.0.9', { reason: 'test' });
  const manager = new Manager({ ...common, store, outbound: 2, netgroup, retryDelayMs: 0, maintainIntervalMs: 20 });
  t.teardown(async () => {
    await manager.stop();
    await Promise.all(servers.map((s) => s.close()));
  });
  await manager.start();
  await waitUntil(() => manager.peers.some((p) => p.state === 'ready'), 5000, 'the unbanned peer');
  await new Promise((r) => setTimeout(r, 300));
  t.same(manager.peers.map((p) => p.remoteAddress), ['127.0.0.10']);
  t.equal(servers[0]!.peers.length, 0, 'the banned server never saw a connection');
  // Banning a connected peer closes it.
  manager.ban('127.0.0.10/32', { reason: 'by hand' });
  await waitUntil(() => manager.peers.length === 0, 5000, 'banned peer closed');
  t.ok(store.isBanned('127.0.0.10'));
});

t.test('failing DNS seeds are reported and the Manager carries on', async (t) => {
  const { TestDnsServer } = await import('../helpers/dns-server.js');
  const dns = await TestDnsServer.start({ zone: { 'seed.fail.test': { mode: 'servfail' } } });
  const net2 = defineNetwork({ name: 'manager-dnsfail', magic: 'c5c6c7c8', defaultPort: 18996, dnsSeeds: ['seed.fail.test'] });
  const logger = recordingLogger();
  const manager = new Manager({ network: net2, dnsServers: [dns.address], dnsRetries: 0, dnsTimeoutMs: 2000, feelerIntervalMs: 0, logger });
  t.teardown(async () => {
    await manager.stop();
    await dns.close();
  });
  const events: { found: number; failures: readonly string[] }[] = [];
  manager.on('discovery', (e) => events.push(e));
  await manager.start();
  await waitUntil(() => events.length === 1, 10_000, 'discovery event');
  t.equal(events[0]!.found, 0);
  t.match(events[0]!.failures[0], /SERVFAIL|seed\.fail\.test/);
  t.equal(manager.stats().slots.outbound, 0, 'nothing to dial');
  // Every seed failed: discoverSeeds threw, and that is a warning.
  t.match(logger.find('discovery failed'), [{ level: 'warn', fields: { method: 'dns', err: /SERVFAIL|seed\.fail\.test/ } }], 'the discovery record, with the failure');
  t.equal(logger.find('discovery failed').length, 1);
});

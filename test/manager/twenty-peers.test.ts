import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Manager, type DiscoveryEvent } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { octetNetgroup, startTestPeersOnOnePort, waitUntil } from './fixtures/peers.js';

const SEED = 'seed.manager.test';
const hosts = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 2}`);

t.test('20 local peers from a loopback DNS seed: 8 outbound, one per netgroup', async (t) => {
  const { network, servers } = await startTestPeersOnOnePort(
    (port) => defineNetwork({ name: 'manager-test', magic: 'f1e2d3c4', defaultPort: port, dnsSeeds: [SEED] }),
    hosts,
  );
  const dns = await TestDnsServer.start({ zone: { [SEED]: { a: hosts } } });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bsv-wire-manager-'));
  // 10 simulated netgroups of two peers each: 127.0.0.2 and .12 share g2, and so on.
  const netgroup = octetNetgroup(10);
  const manager = new Manager({
    network,
    dataDir,
    dnsServers: [dns.address],
    dnsTimeoutMs: 5000,
    netgroup,
    feelerIntervalMs: 0,
    // Just-closed peers may be dialed again at once (the default waits 10 min), so refilling needs no spare addresses.
    retryDelayMs: 0,
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
  });
  t.teardown(async () => {
    await manager.stop();
    await Promise.all(servers.map((s) => s.close()));
    await dns.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const discoveries: DiscoveryEvent[] = [];
  manager.on('discovery', (e) => discoveries.push(e));
  const readyAt: number[] = [];
  manager.on('peer:ready', () => readyAt.push(performance.now()));
  const versions: string[] = [];
  manager.on('ready', (version, peer) => versions.push(`${peer.remoteAddress} ${version.userAgent}`));

  const started = performance.now();
  await manager.start();
  await waitUntil(() => readyAt.length >= 8, 30_000, '8 outbound peers');
  const elapsed = readyAt[7]! - started;
  t.comment(`time to reach 8 outbound peers: ${elapsed.toFixed(0)} ms`);

  t.equal(discoveries.length, 1);
  t.equal(discoveries[0]!.method, 'dns');
  t.equal(discoveries[0]!.found, 20, 'all 20 seed addresses');
  t.ok(dns.udpQueries().length > 0, 'DNS was asked over UDP');

  // Give any extra dial a moment to show itself, then check the steady state.
  await new Promise((r) => setTimeout(r, 300));
  const stats = manager.stats();
  const outbound = stats.peers.filter((p) => p.type === 'outbound' && p.state === 'ready');
  t.equal(outbound.length, 8, 'exactly 8 outbound');
  t.equal(stats.slots.outbound, 8);
  const groups = outbound.map((p) => p.netgroup);
  t.equal(new Set(groups).size, 8, `one per netgroup: ${groups.join(',')}`);
  for (const p of outbound) {
    t.equal(p.netgroup, netgroup(p.address), 'netgroup from the test function');
    t.match(p.userAgent, /^\/test-peer:127\.0\.0\.\d+\/$/);
    t.equal(p.direction, 'outbound');
    t.ok(p.sentPerCommand.version && p.receivedPerCommand.verack, 'bytes per command');
  }
  t.equal(versions.length, 8, "the forwarded 'ready' event carries the peer");
  const tried = manager.store.list({ table: 'tried' });
  t.equal(tried.length, 8, 'the 8 moved to tried');
  // A seed's addresses share one source group, so two may land on one bucket slot (then one is dropped).
  t.equal(manager.store.size, discoveries[0]!.added, 'the store holds what discovery added');
  t.ok(discoveries[0]!.added >= 16, `most seed addresses stored (${discoveries[0]!.added})`);
  // Each server saw at most one connection from us.
  t.equal(servers.reduce((n, s) => n + s.peers.length, 0), 8, 'no extra dials');
  t.ok(servers.filter((s) => s.getaddrs > 0).length === 8, 'we asked each outbound peer for addresses');

  // Runtime change: a lower target closes the newest, a higher one fills again.
  manager.setTargets({ outbound: 5 });
  await waitUntil(() => manager.stats().peers.filter((p) => p.type === 'outbound').length === 5, 10_000, 'trim to 5');
  t.pass('outbound target lowered to 5 at runtime');
  manager.setTargets({ outbound: 9 });
  await waitUntil(() => manager.stats().peers.filter((p) => p.type === 'outbound' && p.state === 'ready').length === 9, 15_000, 'fill to 9');
  const after = manager.stats().peers.filter((p) => p.type === 'outbound');
  t.equal(new Set(after.map((p) => p.netgroup)).size, 9, 'still one per netgroup at 9');

  await manager.stop();
  t.equal(manager.peers.length, 0, 'stop closed every peer');
  await waitUntil(() => servers.every((s) => s.peers.every((p) => p.closeReason !== undefined)), 5000, 'servers see the closes');
  t.pass('every server saw its peer close');
});

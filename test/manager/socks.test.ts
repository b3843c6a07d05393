import t from 'tap';
import net from 'node:net';
import { Manager, type DiscoveryEvent, type ManagedPeer } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { startMicrosocks } from '../helpers/socks.js';
import { octetNetgroup, startTestPeersOnOnePort, waitUntil } from './fixtures/peers.js';

/** A TCP relay in front of the proxy that counts connections, so the test sees every dial went through it. */
async function countingRelay(target: { host: string; port: number }): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    count++;
    const upstream = net.connect(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

t.test('through a SOCKS5 proxy: no local DNS, address fetch from the seed name, peers reached through the proxy', async (t) => {
  // The seed name is "localhost", which microsocks resolves from /etc/hosts: no DNS server anywhere is asked.
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];
  const { port, network, servers } = await startTestPeersOnOnePort(
    (p) => defineNetwork({ name: 'manager-socks', magic: 'b1b2b3b4', defaultPort: p, dnsSeeds: ['localhost'] }),
    hosts,
  );
  const [seed, ...peers] = servers;
  seed!.addresses = peers.map((s) => ({ host: s.host, port }));
  const dns = await TestDnsServer.start({ zone: { localhost: { a: ['127.0.0.1'] } } });
  const socks = await startMicrosocks();
  const relay = await countingRelay({ host: socks.host, port: socks.port });
  const manager = new Manager({
    network,
    outbound: 4,
    proxy: { proxyHost: '127.0.0.1', proxyPort: relay.port },
    // Given on purpose: with a proxy, the Manager must not use them.
    dnsServers: [dns.address],
    netgroup: octetNetgroup(10),
    feelerIntervalMs: 0,
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
  });
  t.teardown(async () => {
    await manager.stop();
    await Promise.all(servers.map((s) => s.close()));
    await relay.close();
    await socks.stop();
    await dns.close();
  });
  const discoveries: DiscoveryEvent[] = [];
  manager.on('discovery', (e) => discoveries.push(e));
  const ready: ManagedPeer[] = [];
  manager.on('peer:ready', (p) => ready.push(p));

  await manager.start();
  await waitUntil(() => ready.length >= 4, 20_000, '4 outbound peers through the proxy');
  t.equal(discoveries.length, 1);
  t.same({ ...discoveries[0] }, { method: 'address-fetch', seed: 'localhost', found: 6, added: 6, failures: [] }, 'address fetch through the proxy');
  t.equal(seed!.getaddrs, 1, 'the seed was asked for addresses');
  await waitUntil(() => seed!.peers.every((p) => p.closeReason !== undefined), 5000, 'address-fetch connection closed');
  t.pass('the address-fetch connection was closed after the addr reply');
  for (const p of ready) {
    t.equal(p.type, 'outbound');
    t.ok(peers.some((s) => s.host === p.remoteAddress), `${p.remoteAddress} came from the seed's addr`);
  }
  t.equal(new Set(ready.map((p) => p.netgroup)).size, 4, 'one per netgroup');
  t.ok(relay.connections() >= 5, `every connection went through the proxy (${relay.connections()} proxied)`);
  t.equal(relay.connections(), 1 + peers.reduce((n, s) => n + s.peers.length, 0), 'proxied connections = address fetch + peer connections');
  t.equal(dns.queries.length, 0, 'the DNS server saw no query at all');
  t.equal(dns.udpQueries().length, 0, 'no UDP DNS query');
});

import t, { type Test } from 'tap';
import net from 'node:net';
import { Manager, type DiscoveryEvent, type ManagedPeer } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { microsocksSkip, startMicrosocks, startSocks5Server, type Socks5TestServer, type SocksServer } from '../helpers/socks.js';
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

interface Scenario {
  /** The seed name; only the proxy can resolve it. */
  readonly seedName: string;
  /** Start the proxy; it must resolve `seedName` to 127.0.0.1 itself. */
  readonly startProxy: () => Promise<SocksServer>;
  /** Extra checks on the proxy once the peers are up. */
  readonly check?: (t: Test, proxy: SocksServer) => void;
}

/** The Manager discovers and reaches its peers only through the proxy; the DNS server it was given sees nothing. */
async function throughProxy(t: Test, { seedName, startProxy, check }: Scenario): Promise<void> {
  // Every handle is declared and its teardown registered before anything starts, so a failure
  // at any step (a proxy that will not start, say) still closes whatever did start.
  let peerServers: Awaited<ReturnType<typeof startTestPeersOnOnePort>> | undefined;
  let dns: TestDnsServer | undefined;
  let socks: SocksServer | undefined;
  let relay: Awaited<ReturnType<typeof countingRelay>> | undefined;
  let manager: Manager | undefined;
  t.teardown(async () => {
    await manager?.stop();
    await Promise.all((peerServers?.servers ?? []).map((s) => s.close()));
    await relay?.close();
    await socks?.stop();
    await dns?.close();
  });

  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];
  peerServers = await startTestPeersOnOnePort(
    (p) => defineNetwork({ name: 'manager-socks', magic: 'b1b2b3b4', defaultPort: p, dnsSeeds: [seedName] }),
    hosts,
  );
  const { port, network, servers } = peerServers;
  const [seed, ...peers] = servers;
  seed!.addresses = peers.map((s) => ({ host: s.host, port }));
  // The DNS server knows the seed too: a Manager that asked it would get an answer, and be counted.
  dns = await TestDnsServer.start({ zone: { [seedName]: { a: ['127.0.0.1'] } } });
  socks = await startProxy();
  relay = await countingRelay({ host: socks.host, port: socks.port });
  manager = new Manager({
    network,
    outbound: 4,
    proxy: { proxyHost: '127.0.0.1', proxyPort: relay.port },
    // Given on purpose: with a proxy, the Manager must not use them.
    dnsServers: [dns.address],
    netgroup: octetNetgroup(10),
    feelerIntervalMs: 0,
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
  });
  const discoveries: DiscoveryEvent[] = [];
  manager.on('discovery', (e) => discoveries.push(e));
  const ready: ManagedPeer[] = [];
  manager.on('peer:ready', (p) => ready.push(p));

  await manager.start();
  await waitUntil(() => ready.length >= 4, 20_000, '4 outbound peers through the proxy');
  t.equal(discoveries.length, 1);
  t.same({ ...discoveries[0] }, { method: 'address-fetch', seed: seedName, found: 6, added: 6, failures: [] }, 'address fetch through the proxy');
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
  check?.(t, socks);
}

t.test('through the npm SOCKS5 server: no local DNS, address fetch from the seed name, peers reached through the proxy', async (t) => {
  // ".invalid" never resolves outside the proxy (RFC 6761); the proxy maps it to the seed's address.
  const seedName = 'seed.manager-socks.invalid';
  await throughProxy(t, {
    seedName,
    startProxy: () => startSocks5Server({ names: { [seedName]: '127.0.0.1' } }),
    check: (t, proxy) => {
      const { requests } = proxy as Socks5TestServer;
      t.match(requests[0], { host: seedName, dialed: '127.0.0.1' }, 'the seed went to the proxy as a name, and the proxy resolved it');
      t.ok(requests.slice(1).every((r) => r.host === r.dialed && /^127\.0\.0\.[2-7]$/.test(r.host)), 'peers from the addr reply were dialed by address');
    },
  });
});

t.test('cross-check: the same through microsocks', { skip: microsocksSkip() }, async (t) => {
  // microsocks resolves "localhost" from /etc/hosts: still no DNS server anywhere is asked.
  await throughProxy(t, { seedName: 'localhost', startProxy: () => startMicrosocks() });
});

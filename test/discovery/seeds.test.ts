import t, { type Test } from 'tap';
import { defineNetwork, mainnet, regtest } from '../../lib/networks.js';
import { discoverSeeds, seedAddressFetchTargets, serviceFilteredName, DiscoveryError, type DiscoverOptions } from '../../lib/discovery/index.js';
import { TestDnsServer } from '../helpers/dns-server.js';

const seedNetwork = (seeds: string[]) => defineNetwork({ name: 'seedtest', magic: 'deadbeef', defaultPort: 18444, dnsSeeds: seeds });

async function startDns(t: Test, zone: Parameters<typeof TestDnsServer.start>[0]): Promise<{ dns: TestDnsServer; opts: DiscoverOptions }> {
  const dns = await TestDnsServer.start(zone);
  t.teardown(() => dns.close());
  return { dns, opts: { servers: [dns.address], timeoutMs: 600, retries: 1, backoff: { minMs: 10, maxMs: 20 } } };
}

t.test('several seeds in parallel: one fails, the others give deduplicated peers on the network port', async (t) => {
  const { dns, opts } = await startDns(t, {
    zone: {
      'one.seed.test': { a: ['127.0.0.21', '127.0.0.22'], ttl: 600 },
      'two.seed.test': { a: ['127.0.0.22', '127.0.0.23'], aaaa: ['::1'], ttl: 120 },
      'dead.seed.test': { a: ['127.0.0.24'], mode: 'silent' },
      'gone.seed.test': { mode: 'nxdomain' },
    },
  });
  const network = seedNetwork(['one.seed.test', 'dead.seed.test', 'two.seed.test', 'gone.seed.test']);
  const result = await discoverSeeds(network, opts);
  t.same(
    result.peers.map((p) => [p.address, p.port, p.ttl, p.source, p.family]),
    [
      ['127.0.0.21', 18444, 600, 'one.seed.test', 4],
      ['127.0.0.22', 18444, 600, 'one.seed.test', 4],
      ['127.0.0.23', 18444, 120, 'two.seed.test', 4],
      ['::1', 18444, 120, 'two.seed.test', 6],
    ],
    '127.0.0.22 appears once, credited to the first seed',
  );
  t.same(result.failures.map((f) => [f.seed, f.error.code]), [['dead.seed.test', 'timeout']]);
  t.same(
    result.resolutions.map((r) => [r.seed, r.resolution.rcode]),
    [
      ['one.seed.test', 'NOERROR'],
      ['two.seed.test', 'NOERROR'],
      ['gone.seed.test', 'NXDOMAIN'],
    ],
    'NXDOMAIN is an answered seed, not a failure',
  );
  t.equal(dns.queriesFor('dead.seed.test', 'A').length, 2, 'the failing seed was retried');
});

t.test('every seed failing throws all-seeds-failed with each cause', async (t) => {
  const { opts } = await startDns(t, { zone: { 'a.seed.test': { mode: 'silent' }, 'b.seed.test': { mode: 'servfail' } } });
  const error = (await discoverSeeds(seedNetwork(['a.seed.test', 'b.seed.test']), { ...opts, retries: 0 }).catch((e: unknown) => e)) as DiscoveryError;
  t.type(error, DiscoveryError);
  t.equal(error.code, 'all-seeds-failed');
  t.same(error.causes.map((c) => (c as DiscoveryError).code), ['timeout', 'servfail']);
});

t.test('service-filtered names: x<hex services>.<seed> is queried', async (t) => {
  t.equal(serviceFilteredName('seed.test', 1), 'x1.seed.test');
  t.equal(serviceFilteredName('seed.test', 0x409n), 'x409.seed.test');
  t.throws(() => serviceFilteredName('seed.test', 0), RangeError);

  const { dns, opts } = await startDns(t, {
    zone: {
      'x1.filtered.test': { a: ['127.0.0.31'], ttl: 90 },
      'filtered.test': { a: ['127.0.0.32'] },
    },
  });
  const result = await discoverSeeds(seedNetwork(['filtered.test']), { ...opts, services: 1n });
  t.same(result.peers.map((p) => [p.address, p.source, p.queriedName, p.ttl]), [['127.0.0.31', 'filtered.test', 'x1.filtered.test', 90]]);
  t.same(dns.queries.map((q) => q.name).sort(), ['x1.filtered.test', 'x1.filtered.test']);
  t.equal(dns.queriesFor('filtered.test').length, 0, 'the plain name was not needed');
});

t.test('a seed without filtering support falls back to the plain name, unless told not to', async (t) => {
  const { dns, opts } = await startDns(t, { zone: { 'plain.test': { a: ['127.0.0.33'] } } });
  const network = seedNetwork(['plain.test']);
  const result = await discoverSeeds(network, { ...opts, services: 0x25 });
  t.same(result.peers.map((p) => [p.address, p.queriedName]), [['127.0.0.33', 'plain.test']]);
  t.equal(dns.queriesFor('x25.plain.test').length, 2, 'filtered name asked first (A and AAAA)');

  const strict = await discoverSeeds(network, { ...opts, services: 0x25, fallbackToUnfiltered: false });
  t.same(strict.peers, []);
  t.equal(strict.resolutions[0].resolution.rcode, 'NXDOMAIN');
});

t.test('a network without seeds asks nothing', async (t) => {
  const { dns, opts } = await startDns(t, {});
  const result = await discoverSeeds(regtest, opts);
  t.same(result, { peers: [], failures: [], resolutions: [] });
  t.equal(dns.queries.length, 0);
});

t.test('seedAddressFetchTargets: seed host names on the default port, for a proxy to resolve', async (t) => {
  t.same(
    seedAddressFetchTargets(mainnet),
    mainnet.dnsSeeds.map((host) => ({ host, port: 8333 })),
  );
  t.same(seedAddressFetchTargets(regtest), []);
  const { dns } = await startDns(t, {});
  t.equal(dns.queries.length, 0, 'listing the targets does no DNS');
});

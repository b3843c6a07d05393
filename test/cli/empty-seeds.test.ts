// Seeds that answer without any address (NXDOMAIN, or NOERROR with no records), as on an offline
// laptop or a captive network: `connect` and `seeds` print one line on stderr and exit 1, never exit
// 0 in silence. Mainnet parameters, but every DNS query goes to a loopback DNS server (--dns-server).
import t, { type Test } from 'tap';
import { TestDnsServer, type TestZoneEntry } from '../helpers/dns-server.js';
import { closedPort } from '../helpers/ports.js';
import { mainnet } from '../../lib/networks.js';
import { PeerStore } from '../../lib/peerstore/index.js';
import { jsonEvents, runCli, startCli, tempDir } from './fixtures/run-cli.js';

const ONE_LINE = /^[^\n]+\n$/;
const NO_STACK = /\bat .*\.js:\d+/;
const LIMIT_MS = 30_000;
const [FIRST_SEED] = mainnet.dnsSeeds;

/** NXDOMAIN for every name (an empty zone), or NOERROR with no records for each mainnet seed. */
const ZONES: Record<'NXDOMAIN' | 'empty NOERROR', Record<string, TestZoneEntry>> = {
  NXDOMAIN: {},
  'empty NOERROR': Object.fromEntries(mainnet.dnsSeeds.map((s) => [s, {}])),
};
const WHY: Record<keyof typeof ZONES, string> = { NXDOMAIN: 'NXDOMAIN', 'empty NOERROR': 'NOERROR with no records' };

/** A loopback DNS server closed at the end of the test (teardown registered before it starts). */
async function dnsServer(t: Test, zone: Record<string, TestZoneEntry>): Promise<TestDnsServer> {
  let dns: TestDnsServer | undefined;
  t.teardown(() => dns?.close());
  dns = await TestDnsServer.start({ zone });
  return dns;
}

function seedsAsked(dns: TestDnsServer): string[] {
  return [...new Set(dns.queries.map((q) => q.name))].sort();
}

for (const mode of Object.keys(ZONES) as (keyof typeof ZONES)[]) {
  const reason = `DNS seeds returned no addresses (${FIRST_SEED}: ${WHY[mode]}, and ${mainnet.dnsSeeds.length - 1} more)`;

  t.test(`connect, every seed ${mode}, no peer known, no --peer: one line, exit 1`, async (t) => {
    const dns = await dnsServer(t, ZONES[mode]);
    const started = Date.now();
    const r = await runCli(['connect', '--dns-server', `127.0.0.1:${dns.port}`, '--datadir', tempDir(t)], { killAfterMs: LIMIT_MS });
    const elapsed = Date.now() - started;
    t.equal(r.signal, null, 'exited by itself');
    t.equal(r.code, 1);
    t.equal(r.stderr, `bsv-wire connect: ${reason}; no peers known; try --peer or --proxy\n`);
    t.notMatch(r.stderr, NO_STACK, 'no stack trace');
    t.ok(elapsed < LIMIT_MS, `done in ${elapsed} ms`);
    t.same(seedsAsked(dns), [...mainnet.dnsSeeds].sort(), 'every seed was asked of the loopback server');
    t.match(r.stdout, / stop \(error\) after /, 'stdout still ends with the stop line');
  });

  t.test(`seeds, every seed ${mode}: the listing, then one line on stderr, exit 1`, async (t) => {
    const dns = await dnsServer(t, ZONES[mode]);
    const started = Date.now();
    const r = await runCli(['seeds', '--dns-server', `127.0.0.1:${dns.port}`], { killAfterMs: LIMIT_MS });
    t.equal(r.signal, null, 'exited by itself');
    t.equal(r.code, 1);
    t.equal(r.stderr, `bsv-wire seeds: ${reason}\n`);
    t.ok(Date.now() - started < LIMIT_MS);
    t.match(r.stdout, /^0 distinct addresses from 3 of 3 seeds$/m, 'the summary is still printed');
    t.same(seedsAsked(dns), [...mainnet.dnsSeeds].sort());
  });
}

t.test('connect --json, every seed NXDOMAIN: the discovery event lists each empty answer', async (t) => {
  const dns = await dnsServer(t, ZONES.NXDOMAIN);
  const r = await runCli(['connect', '--json', '--dns-server', `127.0.0.1:${dns.port}`, '--datadir', tempDir(t)], { killAfterMs: LIMIT_MS });
  t.equal(r.code, 1);
  t.match(r.stderr, ONE_LINE);
  const discovery = jsonEvents(r.stdout).find((e) => e.event === 'discovery');
  t.same(discovery?.empty, mainnet.dnsSeeds.map((seed) => ({ seed, rcode: 'NXDOMAIN' })));
  t.match(jsonEvents(r.stdout).at(-1), { event: 'stop', cause: 'error' });
});

t.test('headers, every seed NXDOMAIN: the same one line at once, not after the peer wait', async (t) => {
  const dns = await dnsServer(t, ZONES.NXDOMAIN);
  const r = await runCli(['headers', '--to', 'tip', '--dns-server', `127.0.0.1:${dns.port}`, '--datadir', tempDir(t)], { killAfterMs: LIMIT_MS });
  t.equal(r.code, 1);
  t.equal(r.stderr, `bsv-wire headers: DNS seeds returned no addresses (${FIRST_SEED}: NXDOMAIN, and 2 more); no peers known; try --peer or --proxy\n`);
});

t.test('a known but unreachable peer: connect stays alive while it retries, then gives one line when the seeds are empty too', async (t) => {
  // Nothing of the Manager's keeps the event loop alive (its timers are unref'd): connect must hold
  // its own handle while it waits, or it would exit 0 here within a second of its failed dial.
  const dns = await dnsServer(t, ZONES.NXDOMAIN);
  const dataDir = tempDir(t);
  const port = await closedPort();
  const store = await PeerStore.open({ dataDir });
  t.equal(store.add([{ host: '127.0.0.1', port, lastSeen: Date.now() }], 'test').added, 1);
  await store.stop();
  const run = startCli(['connect', '--dns-server', `127.0.0.1:${dns.port}`, '--datadir', dataDir], { killAfterMs: LIMIT_MS });
  t.teardown(() => void run.child.kill('SIGKILL'));
  await new Promise((resolve) => setTimeout(resolve, 3000));
  t.equal(run.child.exitCode, null, 'still running 3 s after start, with nothing to do but retry');
  t.same(dns.queries, [], 'with a peer known, the seeds were not asked yet');
  const r = await run.done;
  t.equal(r.signal, null, `exited by itself within ${LIMIT_MS / 1000} s`);
  t.equal(r.code, 1);
  t.equal(r.stderr, `bsv-wire connect: DNS seeds returned no addresses (${FIRST_SEED}: NXDOMAIN, and 2 more); none of the 1 known peers answered; try --peer or --proxy\n`);
  t.same(seedsAsked(dns), [...mainnet.dnsSeeds].sort(), 'the seeds were asked once the known peer did not answer');
});

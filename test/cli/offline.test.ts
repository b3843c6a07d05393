// Offline behaviour: with no reachable seed the commands print one clear line and exit non-zero.
// Mainnet parameters are used, but every DNS query goes to a loopback resolver given with
// --dns-server (a closed port, or the test DNS server refusing): no real network is contacted.
import t from 'tap';
import { closedPort } from '../helpers/ports.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { mainnet } from '../../lib/networks.js';
import { PeerStore } from '../../lib/peerstore/index.js';
import { jsonEvents, runCli, tempDir } from './fixtures/run-cli.js';

const ONE_LINE = /^[^\n]+\n$/;

t.test('connect with the DNS server port closed: one line, exit 1, no stack trace', async (t) => {
  const port = await closedPort();
  const r = await runCli(['connect', '--network', 'mainnet', '--dns-server', `127.0.0.1:${port}`, '--datadir', tempDir(t)], { killAfterMs: 60_000 });
  t.equal(r.code, 1);
  t.match(r.stderr, ONE_LINE, `exactly one line: ${r.stderr}`);
  t.match(r.stderr, /^bsv-wire connect: DNS seed lookup failed: .*ECONNREFUSED.*; no peers known; try --peer or --proxy\n$/);
  t.notMatch(r.stderr, /\bat .*\.js:\d+/, 'no stack trace');
});

t.test('every seed query goes to --dns-server; a refusing resolver gives the same one line', async (t) => {
  const dns = await TestDnsServer.start({ zone: Object.fromEntries(mainnet.dnsSeeds.map((s) => [s, { mode: 'refused' as const }])) });
  t.teardown(() => dns.close());
  const r = await runCli(['connect', '--json', '--dns-server', `127.0.0.1:${dns.port}`, '--datadir', tempDir(t)], { killAfterMs: 60_000 });
  t.equal(r.code, 1);
  t.match(r.stderr, ONE_LINE);
  t.match(r.stderr, /DNS seed lookup failed: .*REFUSED.*; no peers known; try --peer or --proxy/);
  t.same([...new Set(dns.queries.map((q) => q.name))].sort(), [...mainnet.dnsSeeds].sort(), 'all three mainnet seeds asked of our server');
  // stdout stays valid JSON lines even on failure.
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.match(events.find((e) => e.event === 'discovery'), { method: 'dns', found: 0 });
  t.match(events.at(-1), { event: 'stop', cause: 'error' });
});

t.test('through an unreachable proxy: address fetch of every seed fails, one line, exit 1', async (t) => {
  const port = await closedPort();
  const r = await runCli(['connect', '--proxy', `socks5://127.0.0.1:${port}`, '--datadir', tempDir(t)]);
  t.equal(r.code, 1);
  t.match(r.stderr, ONE_LINE);
  t.match(r.stderr, /^bsv-wire connect: address fetch through the proxy failed: .*proxy unreachable.*; no peers known; try --peer\n$/);
  const fetches = r.stdout.split('\n').filter((l) => / discovery address-fetch /.test(l));
  t.equal(fetches.length, mainnet.dnsSeeds.length, 'each seed name was handed to the proxy, none resolved locally');
});

t.test('headers and block fail the same way', async (t) => {
  const port = await closedPort();
  const dir = tempDir(t);
  const headers = await runCli(['headers', '--to', 'tip', '--dns-server', `127.0.0.1:${port}`, '--datadir', dir]);
  t.equal(headers.code, 1);
  t.match(headers.stderr, /^bsv-wire headers: DNS seed lookup failed: .*; no peers known; try --peer or --proxy\n$/);
  const block = await runCli(['block', mainnet.genesisHash, '--dns-server', `127.0.0.1:${port}`, '--datadir', dir]);
  t.equal(block.code, 1);
  t.match(block.stderr, /^bsv-wire block: DNS seed lookup failed: .*; no peers known; try --peer or --proxy\n$/);
});

t.test('regtest without peers, bad options and unknown commands: one line each', async (t) => {
  const dir = tempDir(t);
  const noSeeds = await runCli(['connect', '--network', 'regtest', '--datadir', dir]);
  t.equal(noSeeds.code, 1);
  t.equal(noSeeds.stderr, 'bsv-wire connect: regtest has no DNS seeds; no peers known; try --peer or --seed\n');
  const badOption = await runCli(['connect', '--bogus']);
  t.equal(badOption.code, 2);
  t.match(badOption.stderr, ONE_LINE);
  t.match(badOption.stderr, /bogus/);
  const badProxy = await runCli(['connect', '--proxy', 'http://127.0.0.1:8080', '--datadir', dir]);
  t.equal(badProxy.code, 2);
  t.equal(badProxy.stderr, 'bsv-wire connect: --proxy: only socks5:// proxies are supported, got http:\n');
  const badPeer = await runCli(['connect', '--peer', 'not a host', '--datadir', dir]);
  t.equal(badPeer.code, 2);
  t.match(badPeer.stderr, /^bsv-wire connect: --peer: expected host:port/);
  const badHash = await runCli(['block', 'xyz']);
  t.equal(badHash.code, 2);
  t.equal(badHash.stderr, 'bsv-wire block: expected one block hash (64 hex digits, explorer order)\n');
  const noTo = await runCli(['headers']);
  t.equal(noTo.code, 2);
  t.equal(noTo.stderr, 'bsv-wire headers: --to HEIGHT|tip is required\n');
  const unknown = await runCli(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /^bsv-wire: unknown command "frobnicate"/);
  const help = await runCli(['connect', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--dns-server HOST:PORT/);
});

t.test('a --peer that refuses connections is reported on every failed dial; --duration without a handshake ends with one line, exit 1', async (t) => {
  // A --peer run is never the "no peers known" path (no discovery): what ends it is the duration.
  const port = await closedPort();
  const started = Date.now();
  const r = await runCli(['connect', '--network', 'regtest', '--peer', `127.0.0.1:${port}`, '--duration', '3', '--json', '--datadir', tempDir(t)], {
    killAfterMs: 30_000,
  });
  t.equal(r.signal, null, 'exited by itself');
  t.equal(r.code, 1);
  t.match(r.stderr, ONE_LINE, `exactly one line: ${r.stderr}`);
  t.match(r.stderr, new RegExp(`^bsv-wire connect: no peer completed a handshake in 3 s \\(\\d+ failed dials?, last: 127\\.0\\.0\\.1:${port}: .*refused.*\\)\\n$`, 'i'));
  t.notMatch(r.stderr, /\bat .*\.js:\d+/, 'no stack trace');
  t.ok(Date.now() - started >= 3000, 'ran for the whole duration');
  const events = jsonEvents(r.stdout);
  const failed = events.filter((e) => e.event === 'dial-failed');
  t.ok(failed.length >= 1, `${failed.length} dial-failed events`);
  t.match(failed[0], { peer: `127.0.0.1:${port}`, message: /refused/i });
  t.match(r.stderr, new RegExp(`\\(${failed.length} failed dials?,`), 'the count matches the dial-failed events');
  t.match(events.at(-1), { event: 'stop', cause: 'duration' });
});

t.test('peers --unban while another process holds the peer store: one line naming it, exit 1; listing still works', async (t) => {
  const dataDir = tempDir(t);
  const holder = await PeerStore.open({ dataDir });
  holder.ban('10.7.7.7', { reason: 'test ban' });
  await holder.flush();
  const unban = await runCli(['peers', '--network', 'regtest', '--datadir', dataDir, '--unban', '10.7.7.7']);
  t.equal(unban.code, 1);
  t.equal(unban.stderr, `bsv-wire peers: the peer store in ${dataDir} is in use by process ${process.pid} (bsv-wire connect?)\n`);
  t.equal(unban.stdout, '');
  const listed = await runCli(['peers', '--network', 'regtest', '--datadir', dataDir]);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, /^banned 10\.7\.7\.7\/32\s+test ban/m);
  await holder.stop();
  const after = await runCli(['peers', '--network', 'regtest', '--datadir', dataDir, '--unban', '10.7.7.7']);
  t.equal(after.code, 0, after.stderr);
  t.equal(after.stdout, 'unbanned 10.7.7.7\n');
});

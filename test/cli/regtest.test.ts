// End-to-end runs of the built bsv-wire command against a real bcash regtest node, five bsv-wire
// listeners and a loopback DNS server. Only loopback is touched.
import t from 'tap';
import { existsSync } from 'node:fs';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Manager } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import { PeerStore } from '../../lib/peerstore/index.js';
import { startRegtestNode, type RegtestNode } from '../helpers/regtest.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { startRecordingSocks } from '../helpers/socks.js';
import { jsonEvents, runCli, startCli, tempDir } from './fixtures/run-cli.js';
import { sendSpend } from './fixtures/regtest-tx.js';

let node: RegtestNode;
let height = 0;

t.before(async () => {
  node = await startRegtestNode();
  // Over 100 blocks, so the first coinbases can be spent into a block with several transactions.
  await node.mine(105);
  height = (await node.rpc('getblockcount')) as number;
});
t.teardown(() => node?.stop());

t.test('connect --json: handshakes with the node and five bsv-wire listeners, a mined block announced, Ctrl-C stops gracefully', async (t) => {
  const listeners: Manager[] = [];
  for (let i = 0; i < 5; i++) {
    const m = new Manager({ network: regtest, outbound: 0, inbound: 4, listen: { host: '127.0.0.1', port: 0 }, discover: false, feelerIntervalMs: 0 });
    await m.start();
    listeners.push(m);
  }
  t.teardown(() => Promise.all(listeners.map((m) => m.stop())));
  const dataDir = tempDir(t);
  const peers = [`127.0.0.1:${node.p2pPort}`, ...listeners.map((m) => `127.0.0.1:${m.listenAddress!.port}`)];
  const run = startCli(['connect', '--network', 'regtest', '--json', '--datadir', dataDir, ...peers.flatMap((p) => ['--peer', p])]);
  for (const p of peers) await run.waitForLine((l) => l.includes('"event":"handshake"') && l.includes(`"peer":"${p}"`), 20_000, `handshake with ${p}`);

  const [mined] = await node.mine(1);
  const blockLine = await run.waitForLine((l) => l.includes('"event":"block"') && l.includes(mined!), 15_000, 'the mined block announced');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, `graceful exit; stderr: ${result.stderr}`);
  t.equal(result.stderr, '', 'nothing on stderr');

  const events = jsonEvents(result.stdout);
  t.ok(events.every((e) => typeof e.time === 'string' && typeof e.event === 'string'), 'every line is a JSON event with a time');
  const handshakes = events.filter((e) => e.event === 'handshake');
  t.equal(handshakes.length, 6, 'six handshakes');
  const bcash = handshakes.find((e) => e.peer === peers[0])!;
  t.match(bcash, { direction: 'outbound', type: 'manual', userAgent: '/bcash:1.1.1/', services: '1', height });
  t.equal(handshakes.filter((e) => e.userAgent === '/bsv-wire:0.1.0/').length, 5, 'the five bsv-wire listeners');
  t.match(JSON.parse(blockLine), { event: 'block', hash: mined, peer: peers[0], height: height + 1 });
  const stop = events.at(-1)!;
  t.match(stop, { event: 'stop', cause: 'interrupt' });
  t.ok((stop.bytesIn as number) > 0 && (stop.bytesOut as number) > 0, 'byte totals');
  t.equal(events.filter((e) => e.event === 'close').length, 6, 'every peer closed on the way out');
  t.ok(existsSync(join(dataDir, 'peers.json')), 'the store was flushed');
  const store = await PeerStore.open({ dataDir, readOnly: true });
  t.equal(store.get(peers[0]!)?.table, 'tried', 'the node is a tried address in the saved store');
});

t.test('connect finds the node through a DNS seed on the loopback DNS server', async (t) => {
  const dns = await TestDnsServer.start({ zone: { 'seed.regtest.bsv-wire.test': { a: ['127.0.0.1'] } } });
  t.teardown(() => dns.close());
  const dataDir = tempDir(t);
  const run = startCli([
    'connect',
    '--network', 'regtest',
    '--seed', 'seed.regtest.bsv-wire.test',
    '--dns-server', `127.0.0.1:${dns.port}`,
    '--port', String(node.p2pPort),
    '--outbound', '2',
    '--json',
    '--duration', '20',
    '--datadir', dataDir,
  ]);
  const handshake = await run.waitForLine((l) => l.includes('"event":"handshake"'), 20_000, 'handshake with the seeded node');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  t.match(JSON.parse(handshake), { peer: `127.0.0.1:${node.p2pPort}`, type: 'outbound', userAgent: '/bcash:1.1.1/' });
  const discovery = jsonEvents(result.stdout).find((e) => e.event === 'discovery');
  t.match(discovery, { method: 'dns', found: 1, added: 1, failures: [] });
  t.ok(dns.queries.some((q) => q.name === 'seed.regtest.bsv-wire.test' && q.type === 'A'), 'the seed name was asked of our DNS server');
});

t.test('connect --proxy sends peer names to the SOCKS5 proxy (no local DNS) with credentials; --listen accepts inbound peers', async (t) => {
  const proxy = await startRecordingSocks({ target: { host: '127.0.0.1', port: node.p2pPort }, requireAuth: true });
  t.teardown(() => proxy.stop());
  const dataDir = tempDir(t);
  const run = startCli([
    'connect',
    '--network', 'regtest',
    '--proxy', `socks5://alice:s%40cret@127.0.0.1:${proxy.port}`,
    '--peer', 'node.regtest.invalid:18444',
    '--listen', '127.0.0.1:0',
    '--inbound', '3',
    '--json',
    '--duration', '30',
    '--datadir', dataDir,
  ]);
  const listening = JSON.parse(await run.waitForLine((l) => l.includes('"event":"listening"'), 15_000, 'the listening event')) as { address: string };
  const handshake = JSON.parse(await run.waitForLine((l) => l.includes('"event":"handshake"') && l.includes('node.regtest.invalid'), 20_000, 'the proxied handshake'));
  t.match(handshake, { peer: 'node.regtest.invalid:18444', direction: 'outbound', userAgent: '/bcash:1.1.1/' });
  t.match(proxy.requests[0], { addressType: 'domain', host: 'node.regtest.invalid', port: 18444, username: 'alice', password: 's@cret' });

  const port = Number(listening.address.split(':').at(-1));
  t.ok(port > 0, `listening on ${listening.address}`);
  const visitor = new Manager({ network: regtest, outbound: 0, peers: [`127.0.0.1:${port}`], discover: false, feelerIntervalMs: 0 });
  await visitor.start();
  t.teardown(() => visitor.stop());
  const inbound = JSON.parse(await run.waitForLine((l) => l.includes('"event":"handshake"') && l.includes('"direction":"inbound"'), 20_000, 'the inbound handshake'));
  t.match(inbound, { type: 'inbound', userAgent: '/bsv-wire:0.1.0/' });
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  t.equal(proxy.requests.length, 1, 'only the peer was dialed, through the proxy');
});

t.test('plain log lines when stdout is not a terminal', async (t) => {
  const result = await runCli(['connect', '--network', 'regtest', '--peer', `127.0.0.1:${node.p2pPort}`, '--duration', '2', '--datadir', tempDir(t)]);
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.match(lines[0], /^\d{4}-\d\d-\d\dT\S+ start regtest /);
  t.ok(lines.some((l) => / handshake 127\.0\.0\.1:\d+ outbound \/bcash:1\.1\.1\/ v70015 services=0x1 height=\d+$/.test(l)), result.stdout);
  t.match(lines.at(-1), / stop \(duration\) after 2s: \d+ bytes in, \d+ bytes out/);
  t.notMatch(result.stdout, /\x1b\[/, 'no terminal escapes');
});

t.test('block HASH lists the same txids as the node, then a summary', async (t) => {
  const dir = tempDir(t);
  const spends = [await sendSpend(node, 1), await sendSpend(node, 2), await sendSpend(node, 3)];
  const [hash] = (await node.mine(1)) as [string];
  const rpcBlock = (await node.rpc('getblock', [hash, true])) as { tx: string[]; size: number };
  t.equal(rpcBlock.tx.length, 4, 'coinbase and three spends');
  t.same(rpcBlock.tx.slice(1).sort(), [...spends].sort());
  const plain = await runCli(['block', hash, '--network', 'regtest', '--peer', `127.0.0.1:${node.p2pPort}`, '--datadir', dir]);
  t.equal(plain.code, 0, plain.stderr);
  const lines = plain.stdout.trim().split('\n');
  t.same(lines.slice(0, -1), rpcBlock.tx, 'txids in block order');
  t.match(lines.at(-1), new RegExp(`^block ${hash}: ${rpcBlock.tx.length} transactions, .* merkle root ok`));

  const json = await runCli(['block', hash, '--network', 'regtest', '--peer', `127.0.0.1:${node.p2pPort}`, '--datadir', dir, '--json']);
  t.equal(json.code, 0, json.stderr);
  const events = jsonEvents(json.stdout);
  t.same(events.filter((e) => e.event === 'tx').map((e) => e.txid), rpcBlock.tx);
  t.match(events.at(-1), { event: 'block', hash, txCount: rpcBlock.tx.length, checksumOk: true, merkleRootOk: true });
  if (typeof rpcBlock.size === 'number') t.equal(events.at(-1)!.bytes, rpcBlock.size, 'block size as the node reports it');

  const unknown = await runCli(['block', '11'.repeat(32), '--network', 'regtest', '--peer', `127.0.0.1:${node.p2pPort}`, '--datadir', dir, '--timeout', '20']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /does not have block 1111/);
  t.equal(unknown.stderr.trim().split('\n').length, 1, 'one line');
});

t.test('seeds prints each answer with its seed and resolver; peers lists and unbans', async (t) => {
  const dns = await TestDnsServer.start({
    zone: {
      'a.seed.test': { a: ['10.0.0.1', '10.0.0.2'], aaaa: ['2001:db8::1'], ttl: 77 },
      'b.seed.test': { mode: 'nxdomain' },
    },
  });
  t.teardown(() => dns.close());
  const seeds = await runCli(['seeds', '--network', 'regtest', '--seed', 'a.seed.test', '--seed', 'b.seed.test', '--dns-server', `127.0.0.1:${dns.port}`]);
  t.equal(seeds.code, 0, seeds.stderr);
  const server = `127.0.0.1:${dns.port}`;
  t.match(seeds.stdout, `a.seed.test\t10.0.0.1:18444\tA\tttl=77\tvia ${server}/udp`);
  t.match(seeds.stdout, `a.seed.test\t10.0.0.2:18444\tA\tttl=77\tvia ${server}/udp`);
  t.match(seeds.stdout, `a.seed.test\t[2001:db8::1]:18444\tAAAA\tttl=77\tvia ${server}/udp`);
  t.match(seeds.stdout, 'b.seed.test\t(no addresses: NXDOMAIN)');
  t.match(seeds.stdout, '3 distinct addresses from 2 of 2 seeds');

  const dataDir = tempDir(t);
  const store = new PeerStore({ dataDir });
  store.add([{ host: '10.0.0.1', port: 18444 }], 'dns-seed');
  store.markGood({ host: '10.0.0.1', port: 18444 });
  store.add([{ host: '10.9.0.2', port: 18444 }], 'dns-seed');
  store.ban('10.7.7.7', { reason: 'test ban' });
  await store.stop();
  const listed = await runCli(['peers', '--network', 'regtest', '--datadir', dataDir]);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, /^tried\s+10\.0\.0\.1:18444 .*last success \d+s ago/m);
  t.match(listed.stdout, /^new\s+10\.9\.0\.2:18444 .*last success never .*from dns-seed/m);
  t.match(listed.stdout, /^banned 10\.7\.7\.7\/32\s+test ban/m);
  t.match(listed.stdout, /1 tried, 1 new, 1 banned/);
  const unban = await runCli(['peers', '--network', 'regtest', '--datadir', dataDir, '--unban', '10.7.7.7']);
  t.equal(unban.code, 0, unban.stderr);
  t.equal(unban.stdout, 'unbanned 10.7.7.7\n');
  const after = await runCli(['peers', '--network', 'regtest', '--datadir', dataDir, '--json']);
  t.match(jsonEvents(after.stdout).at(-1), { event: 'summary', tried: 1, new: 1, bans: 0 });
  const again = await runCli(['peers', '--network', 'regtest', '--datadir', dataDir, '--unban', '10.7.7.7']);
  t.equal(again.code, 1);
  t.equal(again.stderr, 'bsv-wire peers: 10.7.7.7 is not banned\n');
});

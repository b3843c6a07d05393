// The built bsv-wire command's header chain commands against a real bcash regtest node: headers into the
// data directory's HeaderStore (resume, --to, --out, --follow --json with a reorg), chain (tip, forks, files,
// health), and connect placing an inv-announced block by its header. Only loopback is touched.
import t from 'tap';
import { statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { startRegtestNode, type RegtestNode } from '../helpers/regtest.js';
import { jsonEvents, runCli, startCli, tempDir } from './fixtures/run-cli.js';
import { syntheticChain, regtestGenesisHash } from '../helpers/synthetic-headers.js';
import { regtest } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import type { Listener } from '../../lib/transport/index.js';
import { acceptPeers } from '../../lib/connect/index.js';
import { toDisplayHex } from '../../lib/hash.js';
import type { Message } from '../../lib/messages/index.js';

let node: RegtestNode;
let peer = '';

t.before(async () => {
  node = await startRegtestNode();
  await node.mine(105);
  peer = `127.0.0.1:${node.p2pPort}`;
});
t.teardown(() => node?.stop());

const blockCount = async (): Promise<number> => (await node.rpc('getblockcount')) as number;
const hashAt = async (h: number): Promise<string> => (await node.rpc('getblockhash', [h])) as string;

t.test('headers: --to, resume from the store, --out, --to past the tip, plain output; chain shows tip, files and health', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'headers.bin');
  const tip0 = await blockCount();
  const first = await runCli(['headers', '--network', 'regtest', '--peer', peer, '--to', String(tip0 - 5), '--out', file, '--datadir', dir, '--json']);
  t.equal(first.code, 0, first.stderr);
  const done1 = jsonEvents(first.stdout).at(-1)!;
  t.match(done1, { event: 'done', height: tip0 - 5, hash: await hashAt(tip0 - 5) });
  t.ok((done1.stored as number) >= tip0 - 5, 'the store holds at least --to');
  t.equal(statSync(file).size, (tip0 - 5) * 80, '--out: raw 80-byte headers from height 1 to --to');

  await node.mine(5);
  const tip1 = await blockCount();
  const second = await runCli(['headers', '--network', 'regtest', '--peer', peer, '--to', 'tip', '--out', file, '--datadir', dir, '--json']);
  t.equal(second.code, 0, second.stderr);
  const events = jsonEvents(second.stdout);
  t.match(events[0], { event: 'resume', height: done1.stored, hash: await hashAt(done1.stored as number) });
  t.match(events.at(-1), { event: 'done', height: tip1, hash: await hashAt(tip1), synced: tip1 - (done1.stored as number) });
  t.ok(events.some((e) => e.event === 'progress' && typeof e.headersPerSecond === 'number'), 'progress with headers/s');
  t.equal(statSync(file).size, tip1 * 80);

  const fresh = tempDir(t);
  const plain = await runCli(['headers', '--network', 'regtest', '--peer', peer, '--to', 'tip', '--datadir', fresh]);
  t.equal(plain.code, 0, plain.stderr);
  t.match(plain.stdout, new RegExp(`synced ${tip1} headers to height ${tip1} \\(${await hashAt(tip1)}\\) in \\S+, \\d+ headers/s, consensus rules checked`));
  t.notMatch(plain.stdout, /\x1b\[/, 'no terminal escapes when piped');

  const tooFar = await runCli(['headers', '--network', 'regtest', '--peer', peer, '--to', String(tip1 + 50), '--datadir', dir]);
  t.equal(tooFar.code, 1);
  t.match(tooFar.stderr, new RegExp(`has no headers past height ${tip1} \\(asked for --to ${tip1 + 50}\\)`));

  const chain = await runCli(['chain', '--network', 'regtest', '--datadir', dir, '--json']);
  t.equal(chain.code, 0, chain.stderr);
  const info = JSON.parse(chain.stdout) as { tip: Record<string, unknown>; forks: unknown[]; records: number; files: { file: string; bytes: number }[]; health: { ok: boolean } };
  const block = (await node.rpc('getblockheader', [await hashAt(tip1), true])) as { chainwork: string; time: number };
  t.match(info.tip, { height: tip1, hash: await hashAt(tip1), chainWork: block.chainwork, time: new Date(block.time * 1000).toISOString() });
  t.same(info.forks, [], 'no forks');
  t.equal(info.records, tip1 + 1, 'genesis included');
  t.same(
    info.files.map((f) => f.bytes),
    info.files.map((f) => statSync(f.file).size),
    'file sizes as on disk',
  );
  t.same(info.health, { ok: true });
  const text = await runCli(['chain', '--network', 'regtest', '--datadir', dir]);
  t.match(text.stdout, new RegExp(`^tip     height ${tip1}  ${await hashAt(tip1)}\n`));
  t.match(text.stdout, /\nhealth  ok\n$/);
  const none = await runCli(['chain', '--network', 'regtest', '--datadir', fresh + '-missing']);
  t.equal(none.code, 1);
  t.match(none.stderr, /no header store in .*; run bsv-wire headers/);
});

t.test('headers --follow --json streams tip events, then one reorg when the node switches branch; chain lists the fork', async (t) => {
  const dir = tempDir(t);
  const run = startCli(['headers', '--network', 'regtest', '--peer', peer, '--datadir', dir, '--follow', '--json'], { killAfterMs: 120_000 });
  t.teardown(() => run.child.kill('SIGKILL'));
  await run.waitForLine((l) => l.includes('"event":"following"'), 30_000, 'following');
  const before = await blockCount();
  const mined = await node.mine(2);
  await run.waitForLine((l) => l.includes('"event":"tip"') && l.includes(mined[1]!), 15_000, 'the tip after 2 mined blocks');

  // The node leaves its last two blocks for a longer branch of three on their parent.
  const oldTip = await blockCount();
  const fork = oldTip - 2;
  await new Promise((r) => setTimeout(r, 1100)); // new blocks get another timestamp, so other hashes
  await node.rpc('invalidateblock', [await hashAt(fork + 1)]);
  t.equal(await blockCount(), fork, 'the node went back to the fork point');
  const branch = await node.mine(3);
  await run.waitForLine((l) => l.includes('"event":"tip"') && l.includes(branch[2]!), 20_000, 'the new branch tip');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, `graceful exit on Ctrl-C; stderr: ${result.stderr}`);
  const events = jsonEvents(result.stdout);
  const tips = events.filter((e) => e.event === 'tip');
  t.match(tips.find((e) => e.hash === mined[1]), { height: before + 2 }, 'tip height = the node height');
  const reorgs = events.filter((e) => e.event === 'reorg');
  t.equal(reorgs.length, 1, 'exactly one reorg');
  t.same(reorgs[0], {
    time: reorgs[0]!.time,
    event: 'reorg',
    fork: { height: fork, hash: await hashAt(fork) },
    disconnected: [
      { height: oldTip, hash: mined[1] },
      { height: oldTip - 1, hash: mined[0] },
    ],
    connected: branch.map((hash, i) => ({ height: fork + 1 + i, hash })),
  });
  const reorgAt = events.indexOf(reorgs[0]!);
  t.ok(events.findIndex((e) => e.event === 'tip' && e.hash === branch[2]) > reorgAt, 'the reorg comes before the new branch tip');

  const chain = await runCli(['chain', '--network', 'regtest', '--datadir', dir, '--json']);
  const info = JSON.parse(chain.stdout) as { tip: Record<string, unknown>; forks: Record<string, unknown>[] };
  t.match(info.tip, { height: fork + 3, hash: branch[2] });
  t.same(info.forks, [{ height: oldTip, hash: mined[1], forkHeight: fork, forkHash: await hashAt(fork), length: 2 }]);
  const text = await runCli(['chain', '--network', 'regtest', '--datadir', dir]);
  t.match(text.stdout, new RegExp(`\n        height ${oldTip}  ${mined[1]}  fork point ${fork} \\(${await hashAt(fork)}\\)  length 2\n`));
});

t.test('connect labels an inv-announced tip with its chain height when two blocks are mined at once', async (t) => {
  const dir = tempDir(t);
  const run = startCli(['connect', '--network', 'regtest', '--peer', peer, '--datadir', dir, '--json'], { killAfterMs: 90_000 });
  t.teardown(() => run.child.kill('SIGKILL'));
  await run.waitForLine((l) => l.includes('"event":"handshake"'), 20_000, 'handshake');
  // Let the follower catch up first, so the two blocks arrive as an announcement of the tip only.
  await new Promise((r) => setTimeout(r, 2000));
  const mined = await node.mine(2);
  const height = await blockCount();
  const line = await run.waitForLine((l) => l.includes('"event":"block"') && l.includes(mined[1]!), 20_000, 'the announced tip');
  t.match(JSON.parse(line), { event: 'block', hash: mined[1], height }, 'the printed height is the RPC height');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  for (const e of jsonEvents(result.stdout).filter((e) => e.event === 'block')) {
    t.equal(e.height, (await node.rpc('getblockheader', [e.hash, true]) as { height: number }).height, `block ${e.hash} at its chain height`);
  }
});

t.test('connect places a tip announced only by inv (two blocks at once) at its chain height, not last height + 1', async (t) => {
  // A loopback peer (lib's PeerConnection) with a valid regtest chain: it answers getheaders from its chain,
  // and announces new blocks only by one inv of the tip, as a BSV node does when it mines two blocks fast.
  let chain = syntheticChain(10, 7);
  const heightOf = new Map<string, number>([[regtestGenesisHash.toString('hex'), 0]]);
  chain.forEach((h, i) => heightOf.set(h.hash.toString('hex'), i + 1));
  const peers: PeerConnection[] = [];
  let served = 0;
  t.teardown(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await listener?.close({ destroyConnections: true });
  });
  let listener: Listener | undefined;
  listener = await acceptPeers({ host: '127.0.0.1', port: 0 }, { network: regtest, userAgentPolicy: ACCEPT_ANY_UA, startHeight: chain.length, selfNonces: new Set() }, (peer) => {
    peer.on('getheaders', (m) => {
      const from = m.locator.map((h) => heightOf.get(h.toString('hex'))).find((h) => h !== undefined) ?? 0;
      const headers = chain.slice(from, from + 2000).map((h) => ({ ...h.header, txCount: 0 }));
      served = Math.max(served, from + headers.length);
      peer.send({ command: 'headers', headers } as Message);
    });
    peers.push(peer);
  });
  const dir = tempDir(t);
  const run = startCli(['connect', '--network', 'regtest', '--peer', `127.0.0.1:${listener.address.port}`, '--datadir', dir, '--json'], { killAfterMs: 60_000 });
  t.teardown(() => run.child.kill('SIGKILL'));
  await run.waitForLine((l) => l.includes('"event":"handshake"'), 20_000, 'handshake');
  const deadline = Date.now() + 20_000;
  while (served < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(served, 10, 'connect synced the 10 headers');
  await new Promise((r) => setTimeout(r, 500));

  const two = syntheticChain(2, 8, { hash: chain.at(-1)!.hash, time: chain.at(-1)!.header.timestamp });
  chain = [...chain, ...two];
  two.forEach((h, i) => heightOf.set(h.hash.toString('hex'), 11 + i));
  const tip = toDisplayHex(two[1]!.hash);
  peers[0]!.send({ command: 'inv', inventory: [{ type: 2, hash: two[1]!.hash }] } as Message);
  const line = await run.waitForLine((l) => l.includes('"event":"block"') && l.includes(tip), 20_000, 'the inv-announced tip');
  t.match(JSON.parse(line), { event: 'block', hash: tip, height: 12 }, 'height 12 from the header chain (the old guess was 11)');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  t.notOk(jsonEvents(result.stdout).some((e) => e.event === 'block' && e.height === 11 && e.hash === tip), 'never labelled 11');
});

t.test('headers --follow resumed at the node tip keeps the node past the 30 s getheaders deadline (bcash stays silent when it has nothing newer)', async (t) => {
  const dir = tempDir(t);
  const first = await runCli(['headers', '--network', 'regtest', '--peer', peer, '--to', 'tip', '--datadir', dir]);
  t.equal(first.code, 0, first.stderr);
  const run = startCli(['headers', '--network', 'regtest', '--peer', peer, '--datadir', dir, '--follow', '--json'], { killAfterMs: 90_000 });
  t.teardown(() => run.child.kill('SIGKILL'));
  await run.waitForLine((l) => l.includes('"event":"following"'), 20_000, 'following');
  await new Promise((r) => setTimeout(r, 33_000));
  const [mined] = await node.mine(1);
  await run.waitForLine((l) => l.includes('"event":"tip"') && l.includes(mined!), 10_000, 'the block mined after the deadline');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  const events = jsonEvents(result.stdout);
  t.same(events.filter((e) => e.event === 'drop'), [], 'the node was never dropped');
  t.equal(events.filter((e) => e.event === 'peer').length, 1, 'one connection all along');
});

t.test('a torn store tail: chain reports it, headers heals it (reported), resumes and syncs the lost header again', async (t) => {
  const dir = tempDir(t);
  const first = await runCli(['headers', '--network', 'regtest', '--peer', peer, '--to', 'tip', '--datadir', dir]);
  t.equal(first.code, 0, first.stderr);
  const tip = await blockCount();
  const idx = join(dir, 'headers.idx');
  truncateSync(idx, statSync(idx).size - 10); // a crash in the middle of the last index record
  const damaged = JSON.parse((await runCli(['chain', '--network', 'regtest', '--datadir', dir, '--json'])).stdout) as { tip: { height: number }; health: Record<string, unknown> };
  t.match(damaged.health, { ok: false, reason: 'torn-tail', dropped: 1 }, 'chain shows the damage without touching it');
  t.equal(damaged.tip.height, tip - 1);
  const healed = await runCli(['headers', '--network', 'regtest', '--peer', peer, '--to', 'tip', '--datadir', dir, '--json']);
  t.equal(healed.code, 0, healed.stderr);
  const events = jsonEvents(healed.stdout);
  t.match(events[0], { event: 'heal', reason: 'torn-tail', dropped: 1, kept: tip });
  t.match(events[1], { event: 'resume', height: tip - 1 });
  t.match(events.at(-1), { event: 'done', height: tip, hash: await hashAt(tip), synced: 1 });
  const after = JSON.parse((await runCli(['chain', '--network', 'regtest', '--datadir', dir, '--json'])).stdout) as { health: unknown; records: number };
  t.same(after.health, { ok: true });
  t.equal(after.records, tip + 1);
});

// bsv-wire broadcast against three bcash regtest nodes: a real signed tx read from stdin (-) is announced,
// reported propagated by echoes, and with --until mined waits for the block. Bad input exits 2.
import t from 'tap';
import { startProcess, runCli, jsonEvents, tempDir, BIN } from './fixtures/run-cli.js';
import { type RegtestNode } from '../helpers/regtest.js';
import { spend, startWalletNodes } from '../helpers/regtest-wallet.js';

t.test('bad input: not hex, not a transaction', async (t) => {
  const a = await runCli(['broadcast', 'xyz', '--network', 'regtest'], { killAfterMs: 20_000 });
  t.equal(a.code, 2);
  t.match(a.stderr, /not hex/);
  const b = await runCli(['broadcast', '0100', '--network', 'regtest'], { killAfterMs: 20_000 });
  t.equal(b.code, 2);
  t.match(b.stderr, /not a transaction/);
});

t.test('broadcast HEX from stdin to three nodes: propagated, then mined', { timeout: 180_000 }, async (t) => {
  const nodes: RegtestNode[] = [];
  t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
  const { coinbase } = await startWalletNodes(nodes, 3);
  const [a, b, c] = nodes as [RegtestNode, RegtestNode, RegtestNode];
  const tx = await spend(coinbase, [0], 2);
  const dir = tempDir(t);
  const peers = [a, b, c].flatMap((n) => ['--peer', `127.0.0.1:${n.p2pPort}`]);
  const args = ['broadcast', '-', '--network', 'regtest', '--datadir', dir, '--json', '--until', 'mined', '--timeout', '120', ...peers];
  const run = startProcess('/bin/sh', ['-c', `echo ${tx.toHex()} | "${process.execPath}" "${BIN}" ${args.map((x) => `'${x}'`).join(' ')}`], { killAfterMs: 150_000 });
  // Mine once the CLI says the tx propagated (two nodes it never sent it to announced it).
  const line = await run.waitForLine((l) => l.includes('"event":"propagated"'), 90_000, 'the propagated line');
  t.match(JSON.parse(line), { txid: tx.id('hex'), echoes: 2 });
  const [blockHash] = await a.mine(1);
  const done = await run.done;
  t.equal(done.code, 0, done.stderr);
  const summary = jsonEvents(done.stdout).find((e) => e.event === 'broadcast');
  t.match(summary, { event: 'broadcast', txid: tx.id('hex'), status: 'mined', minedIn: blockHash });
  t.ok((summary!.echoes as number) >= 2, `echoes ${summary!.echoes}`);
  t.ok(typeof summary!.propagatedMs === 'number', `propagated after ${summary!.propagatedMs} ms`);
  t.comment(done.stdout.trim());
});

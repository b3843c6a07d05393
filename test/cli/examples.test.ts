// Every example runs against the real regtest node with --duration and its output is checked.
// Transactions are real: mature coinbases spent with the bsv package and relayed by the node.
import t, { type Test } from 'tap';
import { startRegtestNode, type RegtestNode } from '../helpers/regtest.js';
import { microsocksSkip, startMicrosocks, startSocks5Server, type SocksServer } from '../helpers/socks.js';
import { sendSpend } from './fixtures/regtest-tx.js';
import { startProcess, type CliRun } from './fixtures/run-cli.js';

let node: RegtestNode;
let height = 0;

t.before(async () => {
  node = await startRegtestNode();
  // 101 blocks: the coinbases of blocks 1 and up are spendable.
  await node.mine(105);
  height = 105;
});
t.teardown(() => node?.stop());

/** Run an example; if the test fails before it exits, teardown kills it rather than waiting out killAfterMs. */
function example(t: Test, name: string, args: string[]): CliRun {
  const run = startProcess(process.execPath, ['--import', 'tsx', `examples/${name}`, ...args], { killAfterMs: 90_000 });
  t.teardown(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    await run.done;
  });
  return run;
}

const peerArgs = (): string[] => ['--network', 'regtest', '--peer', `127.0.0.1:${node.p2pPort}`];

t.test('spv-headers: syncs from genesis into a HeaderStore with the consensus rules, then follows a new block', async (t) => {
  const run = example(t, 'spv-headers.ts', [...peerArgs(), '--duration', '12']);
  await run.waitForLine((l) => l.startsWith(`synced to height ${height} (`), 30_000, 'the initial sync');
  const [mined] = await node.mine(1);
  height++;
  await run.waitForLine((l) => l === `new header ${height} ${mined}`, 15_000, 'the new header');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, new RegExp(`synced to height ${height - 1} \\([0-9a-f]{64}\\) in [\\d.]+ s, consensus rules checked`));
  t.match(result.stdout, `new header ${height} ${mined}`);
  t.match(result.stdout.trim().split('\n').at(-1), `stopped at height ${height}`);
});

t.test('mempool-watch: a transaction sent to the node is reported once, fetched, with its announcer count', async (t) => {
  const run = example(t, 'mempool-watch.ts', [...peerArgs(), '--duration', '12']);
  await run.waitForLine((l) => l.startsWith('connected 127.0.0.1:') && l.endsWith('/bcash:1.1.1/'), 30_000, 'the connection');
  const txid = await sendSpend(node, 1);
  const fetched = await run.waitForLine((l) => l.startsWith(`tx ${txid} `), 15_000, 'the tx');
  t.match(fetched, new RegExp(` from 127\\.0\\.0\\.1:${node.p2pPort} \\(1 announcers\\): \\d+ bytes, 1 inputs, 3 outputs, \\d+ satoshis out$`));
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout.split('\n').filter((l) => l.startsWith(`tx ${txid} `)).length, 1, 'the tx once');
  t.match(result.stdout.trim().split('\n').at(-1), /^stopped after [1-9]\d* transactions$/);
});

t.test('block-indexer: a new block with a real spend is streamed and its outputs counted by type', async (t) => {
  const run = example(t, 'block-indexer.ts', [...peerArgs(), '--duration', '12']);
  const started = await run.waitForLine((l) => l.startsWith('indexing after height '), 30_000, 'the indexer to start');
  t.equal(started, `indexing after height ${height}`, 'the first run starts at the next new block');
  const txid = await sendSpend(node, 2);
  const [mined] = await node.mine(1);
  height++;
  const line = await run.waitForLine((l) => l.startsWith(`block ${mined}:`), 15_000, 'the indexed block');
  const block = (await node.rpc('getblock', [mined, true])) as { tx: string[]; size?: number };
  t.ok(block.tx.includes(txid), 'the spend was mined');
  // The mempool-watch spend may be mined here too. Coinbase: one P2PKH output to the mining key.
  // Each spend: P2PKH, OP_FALSE OP_RETURN, P2PKH change.
  const spends = block.tx.length - 1;
  t.ok(spends >= 1);
  t.match(line, new RegExp(`: ${block.tx.length} txs, ${block.size ?? '\\d+'} bytes, outputs p2pkh=${1 + 2 * spends} op_return=${spends}, merkle root ok$`));
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout.split('\n').filter((l) => l.startsWith(`block ${mined}:`)).length, 1, 'the block once');
  t.match(result.stdout.trim().split('\n').at(-1), `stopped after 1 blocks at height ${height}`);
});

/** Run the tor example through `proxy` to `peerHost` (a name only the proxy may resolve, or an address). */
async function torThrough(t: Test, proxy: SocksServer, peerHost: string): Promise<void> {
  const via = `socks5://127.0.0.1:${proxy.port}`;
  const run = example(t, 'tor.ts', ['--network', 'regtest', '--peer', `${peerHost}:${node.p2pPort}`, '--proxy', via, '--duration', '10']);
  const connected = await run.waitForLine((l) => l.startsWith('connected through'), 30_000, 'the proxied connection');
  t.equal(connected, `connected through ${via} to ${peerHost}:${node.p2pPort}: /bcash:1.1.1/ height ${height}`);
  const [mined] = await node.mine(1);
  height++;
  await run.waitForLine((l) => l === `block ${mined} from ${peerHost}`, 15_000, 'the block announcement');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
}

t.test('tor: the same connection through a SOCKS5 proxy (the npm server), to a .onion name only the proxy resolves', async (t) => {
  const onion = 'expyuzz4wqqyqhjn.onion';
  let proxy: Awaited<ReturnType<typeof startSocks5Server>> | undefined;
  t.teardown(() => proxy?.stop());
  proxy = await startSocks5Server({ names: { [onion]: '127.0.0.1' } });
  await torThrough(t, proxy, onion);
  t.match(proxy.requests[0], { host: onion, port: node.p2pPort, dialed: '127.0.0.1' }, 'the .onion name went to the proxy as a name');
  t.equal(proxy.requests.length, 1, 'one connection, through the proxy');
});

t.test('tor: cross-check through microsocks', { skip: microsocksSkip() }, async (t) => {
  let proxy: SocksServer | undefined;
  t.teardown(() => proxy?.stop());
  proxy = await startMicrosocks();
  await torThrough(t, proxy, '127.0.0.1');
});

t.test('headers-and-txs (the README example) still connects and prints announced blocks', async (t) => {
  const run = example(t, 'headers-and-txs.ts', ['127.0.0.1', String(node.p2pPort), '--network', 'regtest']);
  await run.waitForLine((l) => l === `connected to /bcash:1.1.1/ at height ${height}`, 30_000, 'the connection');
  const [mined] = await node.mine(1);
  height++;
  await run.waitForLine((l) => l === `block ${mined}`, 15_000, 'the announced block');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /closed: local/);
});

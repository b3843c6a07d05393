// The built bsv-wire sync and follow commands as child processes against a real bcash regtest node:
// sync prints every block once, in order, with the node's hashes and tx counts; --resume continues after
// the cursor with no repeat; follow shows a tx sent to the node and a block mined on it. Loopback only.
import t, { type Test } from 'tap';
import { startRegtestNode, type RegtestNode } from '../helpers/regtest.js';
import { jsonEvents, runCli, startCli, tempDir, type CliRun } from './fixtures/run-cli.js';
import { sendSpend } from './fixtures/regtest-tx.js';

let node: RegtestNode;
let peer = '';

t.before(async () => {
  node = await startRegtestNode();
  await node.mine(110);
  // Two real spends (coinbases of blocks 1 and 2) mined together into block 111.
  await sendSpend(node, 1);
  await sendSpend(node, 2);
  await node.mine(1);
  peer = `127.0.0.1:${node.p2pPort}`;
});
t.teardown(() => node?.stop());

const hashAt = async (h: number): Promise<string> => (await node.rpc('getblockhash', [h])) as string;
const tipHeight = async (): Promise<number> => (await node.rpc('getblockcount')) as number;
const blockLines = (stdout: string): Record<string, unknown>[] => jsonEvents(stdout).filter((e) => e.event === 'block');

/** Checks that `blocks` are exactly heights from..to in order, with the node's hash and tx count each. */
async function matchesNode(t: Test, blocks: Record<string, unknown>[], from: number, to: number): Promise<void> {
  t.same(blocks.map((b) => b.height), Array.from({ length: to - from + 1 }, (_, i) => from + i), `heights ${from}..${to}, each once, in order`);
  let mismatches = 0;
  for (const b of blocks) {
    const rpc = (await node.rpc('getblock', [b.hash])) as { height: number; tx: string[]; size?: number };
    if (rpc.height !== b.height || (await hashAt(b.height as number)) !== b.hash || rpc.tx.length !== b.txCount) mismatches++;
    if (rpc.size !== undefined && rpc.size !== b.size) mismatches++;
  }
  t.equal(mismatches, 0, `hash, tx count and size of all ${blocks.length} blocks equal RPC getblock`);
}

function start(t: Test, args: string[]): CliRun {
  const run = startCli(args, { killAfterMs: 90_000 });
  t.teardown(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    await run.done;
  });
  return run;
}

t.test('sync --from 0 --to N --json: every block once, in order, equal to RPC; --resume continues past the cursor without repeats', async (t) => {
  const dir = tempDir(t);
  const base = ['--network', 'regtest', '--peer', peer, '--datadir', dir];
  const first = await runCli(['sync', ...base, '--from', '0', '--to', '80', '--json'], { killAfterMs: 90_000 });
  t.equal(first.code, 0, first.stderr);
  await matchesNode(t, blockLines(first.stdout), 0, 80);
  t.match(jsonEvents(first.stdout).at(-1), { event: 'done', height: 80, hash: await hashAt(80) });

  // Resume without --to: follows the tip until interrupted.
  const tip = await tipHeight();
  const following = start(t, ['sync', ...base, '--resume', '--json']);
  await following.waitForLine((l) => l.includes('"event":"block"') && l.includes(`"height":${tip},`), 60_000, `block ${tip}`);
  following.child.kill('SIGINT');
  const second = await following.done;
  t.equal(second.code, 0, second.stderr);
  const secondBlocks = blockLines(second.stdout);
  await matchesNode(t, secondBlocks, 81, tip);
  t.ok(blockLines(second.stdout).some((b) => (b.txCount as number) === 3), 'the block with two real spends has 3 txs');

  // New blocks since the stop: the next resume starts right after the cursor.
  await node.mine(5);
  const third = await runCli(['sync', ...base, '--resume', '--to', String(tip + 5), '--json'], { killAfterMs: 90_000 });
  t.equal(third.code, 0, third.stderr);
  await matchesNode(t, blockLines(third.stdout), tip + 1, tip + 5);

  // --from HASH: the store in `dir` holds the headers, so delivery starts at that block (the old cursor is forgotten).
  const byHash = await runCli(['sync', ...base, '--from', await hashAt(50), '--to', '55', '--json'], { killAfterMs: 90_000 });
  t.equal(byHash.code, 0, byHash.stderr);
  await matchesNode(t, blockLines(byHash.stdout), 50, 55);
  const unknownHash = await runCli(['sync', '--network', 'regtest', '--peer', peer, '--datadir', tempDir(t), '--from', await hashAt(50)]);
  t.equal(unknownHash.code, 2, 'a hash the (empty) header store lacks is a usage error');
  t.match(unknownHash.stderr, /not a block of the best chain in the header store/);

  const plain = await runCli(['sync', '--network', 'regtest', '--peer', peer, '--datadir', tempDir(t), '--from', '100', '--to', String(tip)], { killAfterMs: 90_000 });
  t.equal(plain.code, 0, plain.stderr);
  t.match(plain.stdout, new RegExp(`synced ${tip - 99} blocks \\([\\d.]+ MB\\) to height ${tip} in `));
  t.notMatch(plain.stdout, /\x1b\[/, 'no terminal escapes when piped');

  const noCursor = await runCli(['sync', '--network', 'regtest', '--peer', peer, '--datadir', tempDir(t), '--resume']);
  t.equal(noCursor.code, 2);
  t.match(noCursor.stderr, /no saved cursor/);
});

t.test('follow --json: a tx sent to the node, then the block that mines it', async (t) => {
  const dir = tempDir(t);
  const run = start(t, ['follow', '--network', 'regtest', '--peer', peer, '--datadir', dir, '--json', '--duration', '60']);
  await run.waitForLine((l) => l.includes('"event":"following"'), 30_000, 'the following line');
  const tip = await tipHeight();
  const txid = await sendSpend(node, 3);
  await run.waitForLine((l) => l.includes('"event":"tx"') && l.includes(txid), 20_000, 'the tx line');
  const [mined] = await node.mine(1);
  await run.waitForLine((l) => l.includes('"event":"block"') && l.includes(mined!), 20_000, 'the block line');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  const events = jsonEvents(result.stdout);
  t.same(events.filter((e) => e.event === 'tx').map((e) => e.txid), [txid], 'the tx once');
  t.match(events.find((e) => e.event === 'tx'), { announcers: 1, firstAnnouncer: String });
  t.same(blockLines(result.stdout).map((b) => [b.height, b.hash, b.txCount]), [[tip + 1, mined, 2]], 'only the new block, with the coinbase and the spend');
});

// One peer reorgs under us (invalidateblock + mine): it sends the new branch tip first, the rest often in one
// socket read, which once lost the follower's wake-up (test/chain/block-follower-reorg.test.ts pins that down).
t.test('follow --json across a reorg: reorg, blockDisconnected for each acknowledged block tip first, then the new branch', async (t) => {
  const dir = tempDir(t);
  const run = start(t, ['follow', '--network', 'regtest', '--peer', peer, '--datadir', dir, '--json', '--duration', '60']);
  await run.waitForLine((l) => l.includes('"event":"following"'), 30_000, 'the following line');
  const fork = await tipHeight();
  const old = await node.mine(2);
  await run.waitForLine((l) => l.includes('"event":"block"') && l.includes(old[1]!), 20_000, 'the old branch tip');
  await new Promise((r) => setTimeout(r, 1100)); // new blocks get another timestamp, so other hashes
  await node.rpc('invalidateblock', [old[0]]);
  t.equal(await tipHeight(), fork, 'the node went back to the fork point');
  const branch = await node.mine(3);
  await run.waitForLine((l) => l.includes('"event":"block"') && l.includes(branch[2]!), 30_000, 'the new branch tip');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  const events = jsonEvents(result.stdout).filter((e) => e.event !== 'tx' && e.event !== 'following');
  const reorg = events.find((e) => e.event === 'reorg');
  t.match(reorg, { fork: { height: fork }, disconnected: [{ height: fork + 2, hash: old[1] }, { height: fork + 1, hash: old[0] }] }, 'one reorg line');
  t.same(
    events.filter((e) => e.event !== 'reorg').map((e) => [e.event, e.height, e.hash]),
    [
      ['block', fork + 1, old[0]],
      ['block', fork + 2, old[1]],
      ['blockDisconnected', fork + 2, old[1]],
      ['blockDisconnected', fork + 1, old[0]],
      ['block', fork + 1, branch[0]],
      ['block', fork + 2, branch[1]],
      ['block', fork + 3, branch[2]],
    ],
    'old branch, its blocks disconnected tip first, then the new branch, each once',
  );
});

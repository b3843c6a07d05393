// HeaderFollower over a Manager against two real bcash regtest nodes that mine separate branches and then
// get connected: the follower must report exactly one reorg, with the right fork and lists.
import t from 'tap';
import { Manager } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { toDisplayHex } from '../../lib/hash.js';
import { HeaderTree } from '../../lib/chain/header-tree.js';
import { genesisHeader } from '../../lib/chain/genesis.js';
import { HeaderFollower } from '../../lib/chain/header-follower.js';
import type { HeaderEntry, Reorg } from '../../lib/chain/types.js';
import { startRegtestNode, type RegtestNode, regtestManager } from '../helpers/regtest.js';
import { waitUntil } from '../manager/fixtures/peers.js';
import type { Listener } from '../../lib/transport/index.js';
import { acceptPeers } from '../../lib/connect/index.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { recordingLogger } from '../helpers/recording-logger.js';

const COMMON = 5;
const BRANCH_A = 20;
const BRANCH_B = 25;

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('two bcash nodes mine separate branches (20 and 25 past a common ancestor), then connect: one reorg', { timeout: 180_000 }, async (t) => {
  const nodes: RegtestNode[] = [];
  let manager: Manager | undefined;
  let follower: HeaderFollower | undefined;
  t.teardown(async () => {
    follower?.stop();
    await manager?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
  });
  const a = await startRegtestNode({ sync: true });
  nodes.push(a);
  const b = await startRegtestNode({ sync: true });
  nodes.push(b);
  const count = async (n: RegtestNode): Promise<number> => Number(await n.rpc('getblockcount'));
  const bestHash = async (n: RegtestNode): Promise<string> => String(await n.rpc('getbestblockhash'));
  const peerCount = async (n: RegtestNode): Promise<number> => ((await n.rpc('getpeerinfo')) as unknown[]).length;

  // The common ancestor: A mines it and B is handed the same blocks (bcash at genesis thinks itself in
  // initial download and would not fetch them from a peer that is not its loader).
  const common = await a.mine(COMMON);
  for (const hash of common) await b.rpc('submitblock', [String(await a.rpc('getblock', [hash, false]))]);
  t.equal(await count(b), COMMON);
  t.equal(await bestHash(b), common.at(-1), 'B holds the common ancestor');
  t.equal((await peerCount(a)) + (await peerCount(b)), 0, 'A and B are not connected');

  // B mines its 25 while nobody watches it.
  const branchB = await b.mine(BRANCH_B);

  // The follower watches A.
  const tree = HeaderTree.fromGenesis(genesisHeader(regtest)!);
  manager = regtestManager([`127.0.0.1:${a.p2pPort}`]);
  const logger = recordingLogger();
  follower = new HeaderFollower({ manager, tree, logger });
  const reorgs: Reorg[] = [];
  const order: string[] = [];
  const drops: string[] = [];
  const scores: string[] = [];
  follower.on('reorg', (r) => {
    reorgs.push(r);
    order.push(`reorg:${r.fork.height}`);
  });
  follower.on('header', (e: HeaderEntry) => order.push(`header:${e.height}:${toDisplayHex(e.hash)}`));
  follower.on('tip', (e: HeaderEntry) => order.push(`tip:${e.height}`));
  follower.on('drop', (d) => drops.push(d.reason));
  follower.on('misbehavior', (m) => scores.push(m.reason));
  follower.start();
  await manager.start();
  await waitUntil(() => follower!.sync.synced && tree.best.height === COMMON, 30_000, 'the follower to sync the common blocks from A');

  // A mines its 20: followed by announcements.
  const branchA = await a.mine(BRANCH_A);
  await waitUntil(() => toDisplayHex(tree.best.hash) === branchA.at(-1), 30_000, "the follower to reach A's tip");
  t.equal(tree.best.height, COMMON + BRANCH_A);
  t.equal(reorgs.length, 0, 'no reorg while A extends its own branch');

  // The follower meets B, and A and B meet each other.
  const mark = order.length;
  manager.addManualPeer(`127.0.0.1:${b.p2pPort}`);
  await waitUntil(() => toDisplayHex(tree.best.hash) === branchB.at(-1), 30_000, "the follower to switch to B's branch");
  await a.rpc('addnode', [`127.0.0.1:${b.p2pPort}`, 'onetry']);
  await waitFor(async () => (await bestHash(a)) === branchB.at(-1), 30_000, "A to reorg onto B's branch");
  // A announces its reorg to the follower too; give it time to arrive and be (not) acted on.
  await new Promise((r) => setTimeout(r, 1500));

  t.equal(reorgs.length, 1, 'exactly one reorg');
  const reorg = reorgs[0]!;
  t.equal(reorg.fork.height, COMMON, `fork at height ${COMMON}`);
  t.equal(toDisplayHex(reorg.fork.hash), common.at(-1), 'the fork is the last common block');
  t.same(reorg.disconnected.map((e) => toDisplayHex(e.hash)), [...branchA].reverse(), "disconnected: A's 20, tip first");
  t.same(reorg.connected.map((e) => toDisplayHex(e.hash)), branchB, "connected: B's 25, fork + 1 first");
  const after = order.slice(mark);
  t.equal(after[0], `reorg:${COMMON}`, 'the reorg comes before any event of the new branch');
  t.same(after.slice(1), [...branchB.map((h, i) => `header:${COMMON + 1 + i}:${h}`), `tip:${COMMON + BRANCH_B}`], "then B's headers, then the tip");
  t.equal(tree.best.height, COMMON + BRANCH_B);
  t.same(drops, [], 'no real node was dropped');
  t.same(scores, [], 'no real node was scored');
  t.same(logger.find('reorg').map((r) => r.fields), [
    {
      depth: BRANCH_A,
      forkHeight: COMMON,
      oldTip: { height: COMMON + BRANCH_A, hash: branchA.at(-1) },
      newTip: { height: COMMON + BRANCH_B, hash: branchB.at(-1) },
    },
  ], 'one reorg record: its depth, the old and the new tip');
  t.comment(
    `reorg: fork ${reorg.fork.height} ${toDisplayHex(reorg.fork.hash)}; disconnected ${reorg.disconnected.length} ` +
      `(${reorg.disconnected[0]!.height}..${reorg.disconnected.at(-1)!.height}); connected ${reorg.connected.length} ` +
      `(${reorg.connected[0]!.height}..${reorg.connected.at(-1)!.height}); new tip ${toDisplayHex(tree.best.hash)}`,
  );
});

t.test('a silent sync peer on loopback is dropped and replaced by the real node within 35 s (default 30 s deadline)', { timeout: 120_000 }, async (t) => {
  let node: RegtestNode | undefined;
  let listener: Listener | undefined;
  let manager: Manager | undefined;
  let follower: HeaderFollower | undefined;
  const silentPeers: PeerConnection[] = [];
  t.teardown(async () => {
    follower?.stop();
    await manager?.stop();
    await listener?.close({ destroyConnections: true });
    await Promise.all(silentPeers.map((p) => p.close()));
    await node?.stop();
  });
  node = await startRegtestNode();
  const mined = await node.mine(30);
  // A peer that completes the handshake, claims height 1000, answers pings, and never answers getheaders.
  let askedAt: number | undefined;
  listener = await acceptPeers({ host: '127.0.0.1', port: 0 }, { network: regtest, userAgentPolicy: ACCEPT_ANY_UA, startHeight: 1000, selfNonces: new Set() }, (peer) => {
    peer.on('getheaders', () => (askedAt ??= Date.now()));
    silentPeers.push(peer);
  });

  const tree = HeaderTree.fromGenesis(genesisHeader(regtest)!);
  manager = regtestManager([`127.0.0.1:${listener.address.port}`], { manualBackoff: { minMs: 60_000, maxMs: 60_000 } });
  follower = new HeaderFollower({ manager, tree });
  let droppedAt: number | undefined;
  let dropReason = '';
  follower.on('drop', (d) => {
    droppedAt ??= Date.now();
    dropReason ||= d.reason;
  });
  let tipAt: number | undefined;
  follower.on('tip', (e) => {
    if (e.height === 30) tipAt ??= Date.now();
  });
  follower.start();
  await manager.start();
  await waitUntil(() => askedAt !== undefined, 20_000, 'the silent peer to be asked as sync peer');
  t.ok(follower.sync.currentSyncPeer, 'the silent peer is the sync peer');
  manager.addManualPeer(`127.0.0.1:${node.p2pPort}`);
  await waitUntil(() => tipAt !== undefined, 60_000, 'the real node to take over');
  t.ok(droppedAt !== undefined, 'the silent peer was dropped');
  t.match(dropReason, /no headers reply within 30000 ms/);
  const replacedMs = tipAt! - askedAt!;
  t.ok(replacedMs <= 35_000, `synced from the other peer ${replacedMs} ms after the silent peer was asked`);
  // askedAt is when the request reached the silent peer; the follower's deadline runs from when it sent it,
  // a loopback delivery earlier (tens of ms on a loaded machine), so allow that much before the 30 s.
  t.ok(droppedAt! - askedAt! >= 29_500, `not before the deadline (${droppedAt! - askedAt!} ms after the request arrived)`);
  t.equal(toDisplayHex(tree.best.hash), mined.at(-1));
  t.ok(silentPeers.every((p) => p.state === 'closed' || p.closeReason !== undefined), 'the silent peer saw its connection closed');
  t.comment(`silent sync peer: dropped after ${droppedAt! - askedAt!} ms, headers from the replacement after ${replacedMs} ms (real time)`);
});

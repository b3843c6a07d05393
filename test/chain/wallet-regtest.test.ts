// Mempool, broadcast and SPV proofs against real bcash regtest nodes with real signed transactions
// (P2PKH, SIGHASH_ALL|FORKID, built with @bsv/sdk from a mined coinbase of the all-0x01 key):
// - txs sent to node A and relayed to B and C arrive once each through a MempoolWatcher;
// - an announcer that never delivers gives way to a real node within 5 s;
// - broadcastTx() through the Manager: propagated (2 nodes we never sent it to announce it), then mined;
// - a proof of a tx of the mined block (whole-block fallback: bcash has no NODE_BLOOM) verifies against
//   the header tree the HeaderFollower built; tampered, it fails.
import t from 'tap';
import type { Transaction } from '@bsv/sdk';
import { Manager } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { fromDisplayHex, toDisplayHex } from '../../lib/hash.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { listen, type Listener } from '../../lib/transport/index.js';
import { MSG_TX } from '../../lib/messages/inventory.js';
import type { Message } from '../../lib/messages/index.js';
import { HeaderTree } from '../../lib/chain/header-tree.js';
import { genesisHeader } from '../../lib/chain/genesis.js';
import { HeaderFollower } from '../../lib/chain/header-follower.js';
import { MempoolWatcher, type MempoolTxEvent } from '../../lib/chain/mempool-watcher.js';
import { Broadcaster } from '../../lib/chain/broadcaster.js';
import type { BroadcastResult } from '../../lib/chain/broadcast.js';
import { SpvProver } from '../../lib/chain/spv-prover.js';
import { SpvError, verifyMerkleProof } from '../../lib/chain/spv.js';
import { merkleProofTxid } from '../../lib/messages/merkle-proof.js';
import type { RegtestNode } from '../helpers/regtest.js';
import { spend, startWalletNodes } from '../helpers/regtest-wallet.js';
import { waitUntil } from '../manager/fixtures/peers.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { regtestManager } from '../helpers/regtest.js';

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('mempool, broadcast and proofs against three bcash nodes', { timeout: 240_000 }, async (t) => {
  const nodes: RegtestNode[] = [];
  const managers: Manager[] = [];
  const stoppers: (() => void)[] = [];
  let listener: Listener | undefined;
  t.teardown(async () => {
    for (const s of stoppers) s();
    await Promise.all(managers.map((m) => m.stop()));
    await listener?.close({ destroyConnections: true });
    await Promise.all(nodes.map((n) => n.stop()));
  });
  const { coinbase } = await startWalletNodes(nodes, 3);
  const [a, b, c] = nodes as [RegtestNode, RegtestNode, RegtestNode];
  t.equal(Number(await c.rpc('getblockcount')), 101);

  // A hostile announcer built from our own peer: it announces, gets asked, and never delivers.
  const hostileAsked: number[] = [];
  let hostile: PeerConnection | undefined;
  listener = await listen({ host: '127.0.0.1', port: 0 }, (socket) => {
    socket.on('error', () => {});
    hostile = new PeerConnection(socket, {
      network: regtest,
      direction: 'inbound',
      userAgentPolicy: ACCEPT_ANY_UA,
      startHeight: 0,
      selfNonces: new Set(),
      remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    });
    hostile.on('getdata', (m) => {
      if (m.inventory.some((i) => i.type === MSG_TX)) hostileAsked.push(Date.now());
    });
  });

  const tree = HeaderTree.fromGenesis(genesisHeader(regtest)!);
  const manager = regtestManager([`127.0.0.1:${a.p2pPort}`, `127.0.0.1:${b.p2pPort}`, `127.0.0.1:${c.p2pPort}`, `127.0.0.1:${listener.address.port}`]);
  managers.push(manager);
  const follower = new HeaderFollower({ manager, tree });
  const logger = recordingLogger();
  const watcher = new MempoolWatcher({ manager, logger });
  const broadcaster = new Broadcaster({ manager, logger });
  stoppers.push(() => follower.stop(), () => watcher.stop(), () => broadcaster.stop());
  const events: MempoolTxEvent[] = [];
  const mined: Buffer[] = [];
  const errors: unknown[] = [];
  watcher.on('tx', (e) => events.push(e));
  watcher.on('mined', (e) => mined.push(...e.txids));
  watcher.on('listenerError', (e) => errors.push(e));
  broadcaster.on('listenerError', (e) => errors.push(e));
  let txFrames = 0;
  manager.on('tx', () => txFrames++);
  const txInvFrom = new Map<string, number>();
  manager.on('inv', (m, peer) => {
    const n = m.inventory.filter((i) => i.type === MSG_TX).length;
    if (n > 0) txInvFrom.set(peer.remotePort.toString(), (txInvFrom.get(peer.remotePort.toString()) ?? 0) + n);
  });
  follower.start();
  watcher.start();
  broadcaster.start();
  await manager.start();
  await waitUntil(() => manager.peers.filter((p) => p.state === 'ready').length === 4 && hostile !== undefined, 20_000, 'four ready peers');
  await waitUntil(() => tree.best.height === 101, 30_000, 'headers to 101');

  // 1. Mempool: a fan-out tx and 6 children sent to A only; each arrives once.
  const fan = await spend(coinbase, [0], 8);
  const children: Transaction[] = [];
  for (let i = 0; i < 6; i++) children.push(await spend(fan, [i], 1));
  const sent = [fan, ...children];
  for (const tx of sent) await a.rpc('sendrawtransaction', [tx.toHex()]);
  const sentIds = new Set(sent.map((tx) => tx.id('hex') as string));
  await waitUntil(() => events.length >= sent.length, 30_000, 'a tx event per sent tx');
  await waitFor(async () => ((await b.rpc('getrawmempool')) as unknown[]).length === sent.length && ((await c.rpc('getrawmempool')) as unknown[]).length === sent.length, 30_000, 'B and C to hold the txs');
  await new Promise((r) => setTimeout(r, 1500)); // late announcements from B and C
  const got = events.map((e) => toDisplayHex(e.txid));
  t.same([...new Set(got)].sort(), [...sentIds].sort(), 'every sent tx, and only those');
  t.equal(got.length, sent.length, 'one event per tx');
  t.equal(txFrames, sent.length, 'each tx was sent to us once (one getdata per txid)');
  const counts = events.map((e) => e.announcers);
  t.comment(`announcers per tx: ${counts.join(',')}; first announcers: ${[...new Set(events.map((e) => e.firstAnnouncer))].length} distinct`);
  t.ok(counts.every((n) => n >= 1));
  t.comment(`tx invs by node port: ${JSON.stringify(Object.fromEntries(txInvFrom))} (A ${a.p2pPort}, B ${b.p2pPort}, C ${c.p2pPort})`);

  // 2. Hostile announcer first: the tx comes from a real node within 5 s of asking the hostile one.
  const late = await spend(fan, [6], 1);
  const lateId = fromDisplayHex(late.id('hex') as string);
  hostile!.send({ command: 'inv', inventory: [{ type: MSG_TX, hash: lateId }] } as Message);
  await waitUntil(() => hostileAsked.length > 0, 10_000, 'the hostile announcer to be asked');
  await a.rpc('sendrawtransaction', [late.toHex()]);
  await waitUntil(() => events.some((e) => e.txid.equals(lateId)), 20_000, 'the tx from a real node');
  const lateEvent = events.find((e) => e.txid.equals(lateId))!;
  const hostileId = manager.peers.find((p) => p.remoteAddress === '127.0.0.1' && p.remotePort === listener!.address.port)?.id;
  t.equal(lateEvent.firstAnnouncer, hostileId, 'the hostile peer announced first');
  t.not(lateEvent.peer?.id, hostileId, 'a real node delivered');
  t.equal(lateEvent.attempts, 2);
  const delay = lateEvent.receivedAt - hostileAsked[0]!;
  t.ok(delay >= 4900 && delay <= 6500, `delivered ${delay} ms after the hostile peer was asked (deadline 5 s, 250 ms tick)`);
  t.comment(`re-ask delivered ${delay} ms after the first ask`);
  t.same(
    logger.find('tx fetched after re-ask').map((r) => r.fields),
    [{ txid: toDisplayHex(lateId), peer: lateEvent.peer?.id, firstAnnouncer: hostileId, attempts: 2, waitedMs: lateEvent.receivedAt - lateEvent.announcedAt }],
    'one log record, for the one tx that needed a re-ask',
  );

  // 3. Broadcast to the three nodes (the hostile peer gone): announced to one, echoed by the two others, then mined.
  await listener.close({ destroyConnections: true });
  listener = undefined;
  await waitUntil(() => manager.peers.filter((p) => p.state === 'ready').length === 3, 10_000, 'the hostile peer to be gone');
  const own = await spend(fan, [7], 1);
  const started = Date.now();
  const result: BroadcastResult = await broadcaster.broadcastTx(Buffer.from(own.toBinary()));
  t.equal(result.status, 'propagated');
  t.equal(result.echoes, 2);
  const announced = result.peers.filter((p) => p.role === 'announced');
  t.ok(announced.some((p) => p.sentAt !== undefined), 'a node asked us for it');
  t.ok(result.peers.filter((p) => p.echoedAt !== undefined && p.sentAt === undefined).length >= 2, 'two nodes we never sent it announced it');
  t.comment(`propagated in ${result.propagatedAt! - result.startedAt} ms (${Date.now() - started} ms wall); peers: ${JSON.stringify(result.peers.map((p) => ({ role: p.role, sent: p.sentAt && p.sentAt - result.startedAt, echo: p.echoedAt && p.echoedAt - result.startedAt })))}`);
  const settled = new Promise<BroadcastResult>((resolve) => broadcaster.once('settled', resolve));
  const [blockHashHex] = await a.mine(1);
  const done = await settled;
  t.equal(done.status, 'mined');
  t.equal(toDisplayHex(done.minedIn!), blockHashHex);
  t.comment(`mined seen ${done.settledAt! - result.startedAt} ms after the broadcast started`);
  const ownHex = own.id('hex') as string;
  t.match(logger.find('broadcast started')[0]?.fields, { txid: ownHex, peers: 3 });
  t.match(logger.find('broadcast propagated')[0]?.fields, { txid: ownHex, status: 'propagated', echoes: 2, peers: 3 });
  t.match(logger.find('broadcast settled')[0], { level: 'info', fields: { txid: ownHex, status: 'mined', minedIn: blockHashHex } });
  await waitUntil(() => mined.length >= sent.length + 1, 10_000, 'the watcher to report mempool txs as mined');
  t.ok(mined.some((x) => x.equals(lateId)), 'the watcher reports its txs as mined');

  // 4. SPV proof of our tx in that block, from bcash (no NODE_BLOOM: the whole-block fallback).
  await waitUntil(() => toDisplayHex(tree.best.hash) === blockHashHex, 20_000, 'the header of the new block');
  const prover = new SpvProver({ manager, headers: tree, logger });
  const blockHash = fromDisplayHex(blockHashHex!);
  const ownId = fromDisplayHex(own.id('hex') as string);
  const proof = await prover.prove(ownId, blockHash);
  t.equal(proof.source, 'block');
  t.equal(proof.entry?.height, 102);
  const rpcBlock = (await a.rpc('getblock', [blockHashHex, true])) as { tx: (string | { txid: string })[] };
  const rpcTxids = rpcBlock.tx.map((x) => (typeof x === 'string' ? x : x.txid));
  t.equal(proof.proof.index, rpcTxids.indexOf(own.id('hex') as string), "the proof's index is the tx's place in getblock");
  t.ok(merkleProofTxid(proof.proof).equals(ownId));
  t.comment(`block of ${rpcTxids.length} txs; proof of ${proof.proof.nodes.length} nodes`);
  const tampered = { ...proof.proof, nodes: proof.proof.nodes.map((n, i) => (i === 0 ? { type: 0, hash: Buffer.alloc(32, 0xab) } : n)) };
  t.throws(() => verifyMerkleProof(tampered, tree), { code: 'root-mismatch' }, 'a tampered proof fails');
  await t.rejects(prover.prove(fromDisplayHex('ab'.repeat(32)), blockHash), SpvError, 'a txid not in the block: no proof');
  t.same(errors, [], 'no listener errors');
  t.match(logger.find('proof found')[0]?.fields, { txid: own.id('hex') as string, block: blockHashHex, source: 'block', height: 102 });
  t.same(logger.records.filter((r) => r.level === 'error'), [], 'no error records');
});

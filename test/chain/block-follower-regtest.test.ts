// BlockFollower over a Manager against real bcash regtest nodes: every block from height 0 delivered once,
// in order, with the txids the node's RPC getblock lists; and a reorg mid-sync told to the app as
// blockDisconnected (tip first) before the new branch.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Manager } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { sha256d, toDisplayHex } from '../../lib/hash.js';
import { HeaderTree } from '../../lib/chain/header-tree.js';
import { genesisHeader } from '../../lib/chain/genesis.js';
import { HeaderFollower } from '../../lib/chain/header-follower.js';
import { BlockFollower, type DeliveredBlock } from '../../lib/chain/block-follower.js';
import { CursorFile } from '../../lib/chain/block-cursor.js';
import { startRegtestNode, type RegtestNode, regtestManager } from '../helpers/regtest.js';
import { LockingScript, P2PKH, PrivateKey, Transaction } from '@bsv/sdk';
import { waitUntil } from '../manager/fixtures/peers.js';
import { loopbackFullNodePeer } from '../helpers/scripted-peer.js';
import { listen, type Listener } from '../../lib/transport/index.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import type { Logger } from '../../lib/logger.js';

/** The mining key (private bytes all 0x01): REGTEST_MINING_ADDRESS's. */
const MINER = PrivateKey.fromHex('01'.repeat(32));

/**
 * Mines enough blocks for the first `rounds * perBlock` coinbases to mature, then spends them (one real P2PKH tx
 * each, two outputs), `perBlock` txs to a block; returns the number of blocks mined.
 */
async function mineWithTransactions(node: RegtestNode, rounds: number, perBlock: number): Promise<number> {
  const premined = 100 + rounds * perBlock;
  const first = await node.mine(premined);
  let coinbase = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < perBlock; i++) {
      const block = (await node.rpc('getblock', [first[coinbase++], true, true])) as { tx: { txid: string; vout: { value: number; scriptPubKey: { hex: string } }[] }[] };
      const cb = block.tx[0]!;
      const value = Math.round(cb.vout[0]!.value * 1e8);
      const tx = new Transaction();
      tx.addInput({ sourceTXID: cb.txid, sourceOutputIndex: 0, unlockingScriptTemplate: new P2PKH().unlock(MINER, 'all', false, value, LockingScript.fromHex(cb.vout[0]!.scriptPubKey.hex)) });
      tx.addOutput({ lockingScript: new P2PKH().lock(MINER.toAddress()), satoshis: 100_000_000 });
      tx.addOutput({ lockingScript: new P2PKH().lock(MINER.toAddress()), satoshis: value - 100_010_000 });
      await tx.sign();
      const sent = await node.rpc('sendrawtransaction', [tx.toHex()]);
      if (sent !== tx.id('hex')) throw new Error(`sendrawtransaction answered ${String(sent)}`);
    }
    const [hash] = await node.mine(1);
    const mined = (await node.rpc('getblock', [hash])) as { tx: string[] };
    if (mined.tx.length !== perBlock + 1) throw new Error(`block ${hash} holds ${mined.tx.length} txs, expected ${perBlock + 1}`);
  }
  return premined + rounds;
}

interface Seen {
  readonly height: number;
  readonly hash: string;
  readonly txids: string[];
}

async function collect(block: DeliveredBlock): Promise<Seen> {
  const txids: string[] = [];
  for await (const tx of block.transactions()) txids.push(toDisplayHex(tx.txid));
  return { height: block.height, hash: toDisplayHex(block.hash), txids };
}

function setup(peers: string[], dir: string, onBlock: (b: DeliveredBlock) => Promise<void>, onDisconnected?: (b: { height: number; hash: Buffer }) => void, logger?: Logger) {
  const tree = HeaderTree.fromGenesis(genesisHeader(regtest)!);
  const manager = regtestManager(peers);
  const headers = new HeaderFollower({ manager, tree });
  const blocks = new BlockFollower({ manager, tree, headers, dir, onBlock, onBlockDisconnected: onDisconnected, logger });
  return { tree, manager, headers, blocks };
}

/** Stops what setup() built, follower first (undefined when the test failed before building it). */
async function stopParts(parts: ReturnType<typeof setup> | undefined): Promise<void> {
  await parts?.blocks.stop();
  parts?.headers.stop();
  await parts?.manager.stop();
}

t.test('sync from height 0: every block once, in order, txids equal to RPC getblock', { timeout: 180_000 }, async (t) => {
  const BLOCKS = 220;
  let node: RegtestNode | undefined;
  let parts: ReturnType<typeof setup> | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'bsv-wire-blocks-'));
  t.teardown(async () => {
    await stopParts(parts);
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  node = await startRegtestNode();
  const withTxs = await mineWithTransactions(node, 30, 3); // 190 + 30 blocks
  await node.mine(BLOCKS - withTxs);
  const seen: Seen[] = [];
  parts = setup([`127.0.0.1:${node.p2pPort}`], dir, async (b) => {
    seen.push(await collect(b));
  });
  const drops: string[] = [];
  parts.blocks.on('drop', (d) => drops.push(d.reason));
  parts.blocks.on('error', (e) => drops.push(`error: ${String(e)}`));
  parts.headers.start();
  parts.blocks.start();
  const started = Date.now();
  await parts.manager.start();
  await waitUntil(() => parts!.blocks.cursor.height === BLOCKS, 120_000, `the cursor to reach ${BLOCKS}`);
  const ms = Date.now() - started;
  t.same(seen.map((s) => s.height), Array.from({ length: BLOCKS + 1 }, (_, i) => i), `heights 0..${BLOCKS}, each once, in order`);
  let mismatches = 0;
  for (const s of seen) {
    const rpc = (await node.rpc('getblock', [s.hash])) as { height: number; tx: string[] };
    const byHeight = String(await node.rpc('getblockhash', [s.height]));
    if (rpc.height !== s.height || byHeight !== s.hash || JSON.stringify(rpc.tx) !== JSON.stringify(s.txids)) mismatches++;
  }
  t.equal(mismatches, 0, `hash and txids of all ${seen.length} blocks equal RPC getblock/getblockhash`);
  const spends = seen.reduce((n, s) => n + s.txids.length - 1, 0);
  t.equal(spends, 90, `${spends} real transactions besides the coinbases, in ${seen.filter((s) => s.txids.length > 1).length} blocks`);
  t.same(drops, [], 'the real node was never dropped');
  const saved = new CursorFile(path.join(dir, 'cursor.json')).load();
  t.equal(saved?.height, BLOCKS, 'cursor.json holds the tip');
  t.equal(saved && toDisplayHex(saved.hash!), String(await node.rpc('getblockhash', [BLOCKS])));
  t.comment(`${seen.length} blocks delivered in ${ms} ms`);
});

// B's branch must come from B alone: BlockSync asks a peer only for blocks of the branch its headers showed
// (asking A for them, at heights A claims, used to wait out the 9 s stall rule per block).
t.test('reorg mid-sync: blockDisconnected for each acknowledged block of the old branch, tip first, then the new branch', { timeout: 180_000 }, async (t) => {
  const COMMON = 5;
  const BRANCH_A = 40;
  const BRANCH_B = 50;
  const nodes: RegtestNode[] = [];
  let parts: ReturnType<typeof setup> | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'bsv-wire-blocks-'));
  t.teardown(async () => {
    await stopParts(parts);
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  const a = await startRegtestNode({ sync: true });
  nodes.push(a);
  const b = await startRegtestNode({ sync: true });
  nodes.push(b);
  const common = await a.mine(COMMON);
  for (const hash of common) await b.rpc('submitblock', [String(await a.rpc('getblock', [hash, false]))]);
  const branchB = await b.mine(BRANCH_B);
  const branchA = await a.mine(BRANCH_A);
  const chainA = [String(await a.rpc('getblockhash', [0])), ...common, ...branchA];

  // A slow app (40 ms a block), so the longer branch arrives while A's blocks are being delivered.
  const log: { kind: 'block' | 'disconnected'; height: number; hash: string }[] = [];
  parts = setup([`127.0.0.1:${a.p2pPort}`], dir, async (blk) => {
    log.push({ kind: 'block', height: blk.height, hash: toDisplayHex(blk.hash) });
    await new Promise((r) => setTimeout(r, 40));
  }, (d) => {
    log.push({ kind: 'disconnected', height: d.height, hash: toDisplayHex(d.hash) });
  });
  parts.headers.start();
  parts.blocks.start();
  await parts.manager.start();
  await waitUntil(() => parts!.blocks.cursor.height >= 15, 60_000, 'the cursor to reach 15');
  parts.manager.addManualPeer(`127.0.0.1:${b.p2pPort}`);
  await waitUntil(() => parts!.blocks.cursor.height === COMMON + BRANCH_B && toDisplayHex(parts!.blocks.cursor.hash!) === branchB.at(-1), 60_000, "the cursor to reach B's tip");
  const firstDisconnect = log.findIndex((e) => e.kind === 'disconnected');
  const before = log.slice(0, firstDisconnect);
  const k = before.length - 1;
  t.ok(k >= 15 && k < COMMON + BRANCH_A, `the reorg came mid-sync: A's blocks 0..${k} of 0..${COMMON + BRANCH_A} acknowledged`);
  t.same(before.map((e) => e.hash), chainA.slice(0, k + 1), "before it: A's chain in order");
  const rest = log.slice(firstDisconnect);
  const expected = [
    ...chainA.slice(COMMON + 1, k + 1).map((hash, i) => ({ kind: 'disconnected', height: COMMON + 1 + i, hash })).reverse(),
    ...branchB.map((hash, i) => ({ kind: 'block', height: COMMON + 1 + i, hash })),
  ];
  t.same(rest, expected, `then ${k - COMMON} blockDisconnected (tip first, hash and height), then B's ${BRANCH_B} blocks`);
  t.equal(log.filter((e) => e.kind === 'disconnected').length, k - COMMON, 'nothing above the acknowledged tip is disconnected');
});

t.test('a silent block peer on loopback: its blocks are asked of the real node within 10 s (real time), and it is dropped', { timeout: 120_000 }, async (t) => {
  const BLOCKS = 60;
  let node: RegtestNode | undefined;
  let listener: Listener | undefined;
  let parts: ReturnType<typeof setup> | undefined;
  const silentPeers: PeerConnection[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'bsv-wire-blocks-'));
  t.teardown(async () => {
    await stopParts(parts);
    await listener?.close({ destroyConnections: true });
    await Promise.all(silentPeers.map((p) => p.close()));
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  node = await startRegtestNode();
  await node.mine(BLOCKS);
  // Completes the handshake, answers getheaders with nothing new, takes getdata and never sends a block.
  const askedAt = new Map<string, number>();
  listener = await listen({ host: '127.0.0.1', port: 0 }, (socket) => {
    const peer = loopbackFullNodePeer(socket, BLOCKS);
    peer.on('getdata', (m) => {
      for (const i of m.inventory) if (i.type === 2) askedAt.set(toDisplayHex(i.hash), Date.now());
    });
    silentPeers.push(peer);
  });
  const seen: number[] = [];
  const logger = recordingLogger();
  parts = setup([`127.0.0.1:${node.p2pPort}`], dir, async (b) => {
    seen.push(b.height);
  }, undefined, logger);
  const moved: number[] = [];
  const drops: string[] = [];
  parts.blocks.on('rerequest', (r) => {
    const at = askedAt.get(toDisplayHex(r.hash));
    if (at !== undefined && r.reason === 'block-stall') moved.push(Date.now() - at);
  });
  parts.blocks.on('drop', (d) => drops.push(d.reason));
  // Headers from the node first; then the silent peer joins (it never answers getheaders, and the header
  // follower's 30 s deadline for that is beyond this test), then blocks start with both ready.
  parts.headers.start();
  await parts.manager.start();
  await waitUntil(() => parts!.tree.best.height === BLOCKS, 30_000, 'the headers');
  parts.manager.addManualPeer(`127.0.0.1:${listener.address.port}`);
  await waitUntil(() => parts!.manager.peers.filter((p) => p.state === 'ready').length === 2, 30_000, 'the silent peer to be ready');
  parts.blocks.start();
  await waitUntil(() => parts!.blocks.cursor.height === BLOCKS, 60_000, `the cursor to reach ${BLOCKS}`);
  t.ok(askedAt.size > 0, `${askedAt.size} blocks were asked of the silent peer`);
  t.equal(moved.length, askedAt.size, 'each of them was re-requested from the node');
  t.ok(Math.max(...moved) <= 10_000, `re-requested ${Math.min(...moved)}–${Math.max(...moved)} ms after the silent peer got its getdata`);
  t.same(drops, ['block-stall'], 'the silent peer, and only it, was dropped');
  const stallRecords = logger.find('block re-requested').filter((r) => r.fields.reason === 'block-stall');
  t.equal(stallRecords.length, moved.length, 'a warn record per stalled block re-requested');
  t.ok(stallRecords.every((r) => r.level === 'warn' && askedAt.has(r.fields.hash as string) && typeof r.fields.to === 'string'), 'each names the block (display hex) and the peer it moved to');
  t.equal(logger.find('peer dropped').length, 1, 'one drop record');
  t.match(logger.find('peer dropped')[0], { level: 'warn', fields: { reason: 'block-stall', address: '127.0.0.1' } });
  t.same(seen, Array.from({ length: BLOCKS + 1 }, (_, i) => i), 'every block once, in order');
});

t.test('a slow app: blocks ahead of their turn wait on disk, and the spool stays within its byte budget', { timeout: 120_000 }, async (t) => {
  const BLOCKS = 80;
  const BUDGET = 3_000;
  let node: RegtestNode | undefined;
  let parts: ReturnType<typeof setup> | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'bsv-wire-blocks-'));
  t.teardown(async () => {
    await stopParts(parts);
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  node = await startRegtestNode();
  await node.mine(BLOCKS);
  const spoolDir = path.join(dir, 'spool');
  const spoolBytes = (): { bytes: number; files: number } => {
    let bytes = 0;
    let files = 0;
    for (const f of readdirSync(spoolDir)) {
      try {
        bytes += statSync(path.join(spoolDir, f)).size;
        files++;
      } catch {
        // removed meanwhile
      }
    }
    return { bytes, files };
  };
  let peak = { bytes: 0, files: 0 };
  let largest = 0;
  const seen: number[] = [];
  const tree = HeaderTree.fromGenesis(genesisHeader(regtest)!);
  const manager = regtestManager([`127.0.0.1:${node.p2pPort}`]);
  const headers = new HeaderFollower({ manager, tree });
  const blocks = new BlockFollower({
    manager, tree, headers, dir, spoolBudget: BUDGET, sync: { initialBlockEstimate: 300 },
    onBlock: async (b) => {
      seen.push(b.height);
      largest = Math.max(largest, b.bytes);
      await new Promise((r) => setTimeout(r, 25));
      const now = spoolBytes();
      if (now.bytes > peak.bytes) peak = now;
    },
  });
  parts = { tree, manager, headers, blocks };
  headers.start();
  blocks.start();
  await manager.start();
  await waitUntil(() => blocks.cursor.height === BLOCKS, 60_000, `the cursor to reach ${BLOCKS}`);
  t.same(seen, Array.from({ length: BLOCKS + 1 }, (_, i) => i), 'every block once, in order');
  t.ok(peak.files >= 3, `blocks waited their turn on disk: up to ${peak.files} spool files`);
  t.ok(peak.bytes <= BUDGET + largest, `spool peak ${peak.bytes} bytes for a ${BUDGET}-byte budget (largest block ${largest} bytes)`);
});

t.test('transactions over the huge-tx threshold go through the spool in pieces and come back whole, txids intact', { timeout: 180_000 }, async (t) => {
  let node: RegtestNode | undefined;
  let parts: ReturnType<typeof setup> | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'bsv-wire-blocks-'));
  t.teardown(async () => {
    await stopParts(parts);
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  node = await startRegtestNode();
  const top = await mineWithTransactions(node, 4, 2);
  // Every tx over 150 bytes (the 2-output spends are ~226) streams as blockTxStart/Piece/End, and the app
  // reads any over 120 bytes (not the ~115-byte coinbases) with pieces(): both huge paths, on real transactions.
  const tree = HeaderTree.fromGenesis(genesisHeader(regtest)!);
  const manager = regtestManager([`127.0.0.1:${node.p2pPort}`], { peerOptions: { userAgentPolicy: ACCEPT_ANY_UA, hugeTxThreshold: 150 } });
  const headers = new HeaderFollower({ manager, tree });
  let streamed = 0;
  let badTxids = 0;
  const seen: Seen[] = [];
  const blocks = new BlockFollower({
    manager, tree, headers, dir, maxWholeTx: 120, fromHeight: top - 4,
    onBlock: async (b) => {
      const txids: string[] = [];
      for await (const tx of b.transactions()) {
        let raw = tx.raw;
        if (!raw) {
          const pieces: Buffer[] = [];
          for await (const p of tx.pieces()) pieces.push(Buffer.from(p));
          raw = Buffer.concat(pieces);
          streamed++;
        }
        if (raw.length !== tx.size || !sha256d(raw).equals(tx.txid)) badTxids++;
        txids.push(toDisplayHex(tx.txid));
      }
      seen.push({ height: b.height, hash: toDisplayHex(b.hash), txids });
    },
  });
  parts = { tree, manager, headers, blocks };
  headers.start();
  blocks.start();
  await manager.start();
  await waitUntil(() => blocks.cursor.height === top, 60_000, `the cursor to reach ${top}`);
  t.same(seen.map((s) => s.height), [top - 4, top - 3, top - 2, top - 1, top], 'from fromHeight to the tip, in order');
  for (const s of seen) t.same(s.txids, ((await node.rpc('getblock', [s.hash])) as { tx: string[] }).tx, `block ${s.height}: txids as getblock`);
  t.equal(streamed, 8, '8 spends read with pieces()');
  t.equal(badTxids, 0, 'every transaction read back hashes to its txid');
});

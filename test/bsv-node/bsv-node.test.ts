// Opt-in: the flows the suite runs against bcash regtest, against a real BSV node (bitcoind from the
// bitcoin-sv source, e.g. v1.2.2) when BSV_NODE_BIN names the folder holding it; skipped visibly otherwise.
// It also covers what bcash never sends: protoconf, authch, and a 70016 peer (extmsg). Only loopback.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Manager, type ManagedPeer } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import type { Message } from '../../lib/messages/index.js';
import { encodeFrameHeader } from '../../lib/framing/index.js';
import { EXTENDED_HEADER_SIZE, HEADER_SIZE } from '../../lib/framing/header.js';
import { fromDisplayHex, toDisplayHex } from '../../lib/hash.js';
import { HeaderStore } from '../../lib/chain/header-store.js';
import { HeaderFollower } from '../../lib/chain/header-follower.js';
import type { HeaderEntry, Reorg } from '../../lib/chain/types.js';
import { bsvNodeSkipReason, startBsvNode, type BsvNode } from '../helpers/bsv-node.js';

const skip = bsvNodeSkipReason();
let node: BsvNode;

if (!skip) {
  t.before(async () => {
    node = await startBsvNode((stop) => t.teardown(stop));
    await node.mine(110);
  });
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'bsv-node-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A Manager holding one manual connection to the node; every message it receives is recorded. */
async function connect(t: Test): Promise<{ manager: Manager; peer: ManagedPeer; received: Message[] }> {
  const manager = new Manager({ network: regtest, dataDir: tempDir(t), peers: [`127.0.0.1:${node.p2pPort}`], outbound: 0, discover: false, feelerIntervalMs: 0 });
  t.teardown(() => manager.stop());
  const received: Message[] = [];
  manager.on('message', (m: Message) => received.push(m));
  const ready = new Promise<ManagedPeer>((resolve) => manager.once('peer:ready', resolve));
  await manager.start();
  const peer = await Promise.race([ready, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no handshake within 20 s')), 20_000).unref())]);
  return { manager, peer, received };
}

const until = async (what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

t.test('handshake with a real BSV node: version 70016, protoconf and authch received, extmsg usable with it', { skip }, async (t) => {
  const { peer, received } = await connect(t);
  const v = peer.remote.version!;
  t.ok(v.version >= 70016, `peer protocol version ${v.version} >= 70016`);
  t.match(v.userAgent, /^\/Bitcoin SV:/, 'the BSV node user agent');
  t.equal(v.startHeight, (await node.rpc('getblockcount')) as number, 'version height = RPC height');
  await until('protoconf and authch', () => received.some((m) => m.command === 'protoconf') && received.some((m) => m.command === 'authch'));
  const protoconf = received.find((m) => m.command === 'protoconf') as Extract<Message, { command: 'protoconf' }>;
  t.ok(protoconf.maxRecvPayloadLength >= 1024 * 1024, `protoconf maxRecvPayloadLength ${protoconf.maxRecvPayloadLength}`);
  t.equal(peer.remote.maxRecvPayloadLength, protoconf.maxRecvPayloadLength, 'the peer state took the protoconf limit');
  t.ok(received.some((m) => m.command === 'authch'), 'authch received (ignored, as the node allows)');
  // A block over 4 GiB cannot be built here; the framer must pick extmsg for one with this peer, and refuse it to a 70015 peer.
  const big = 2 ** 32 + 1;
  const header = encodeFrameHeader(regtest.magic, 'block', big, undefined, { peerVersion: v.version });
  t.equal(header.length, EXTENDED_HEADER_SIZE, '44-byte extmsg header for a > 4 GiB block to this peer');
  t.equal(header.subarray(4, 16).toString('latin1').replace(/\0+$/, ''), 'extmsg');
  t.equal(encodeFrameHeader(regtest.magic, 'block', 1000, Buffer.alloc(4), { peerVersion: v.version }).length, HEADER_SIZE, 'small payloads keep the legacy header');
  t.throws(() => encodeFrameHeader(regtest.magic, 'block', big, undefined, { peerVersion: 70015 }), /extmsg/, 'refused to a 70015 peer');
  t.equal(peer.state, 'ready', 'still connected (authch ignored without penalty)');
});

t.test('HeaderFollower syncs from the BSV node into a HeaderStore, follows new blocks, and reports one reorg', { skip }, async (t) => {
  const store = await HeaderStore.open(tempDir(t), regtest);
  t.teardown(() => store.close());
  const manager = new Manager({ network: regtest, dataDir: tempDir(t), peers: [`127.0.0.1:${node.p2pPort}`], outbound: 0, discover: false, feelerIntervalMs: 0 });
  const follower = new HeaderFollower({ manager, store });
  t.teardown(async () => {
    follower.stop();
    await manager.stop();
  });
  const tips: HeaderEntry[] = [];
  const reorgs: Reorg[] = [];
  const drops: string[] = [];
  let synced = false;
  follower.on('tip', (e) => tips.push(e));
  follower.on('reorg', (r) => reorgs.push(r));
  follower.on('synced', () => (synced = true));
  follower.on('drop', (d) => drops.push(d.reason));
  follower.start();
  await manager.start();
  await until('initial sync', () => synced, 30_000);
  const height = (await node.rpc('getblockcount')) as number;
  t.equal(store.tree.best.height, height);
  t.equal(toDisplayHex(store.tree.best.hash), (await node.rpc('getbestblockhash')) as string);

  const mined = await node.mine(2);
  await until('the 2 new blocks', () => store.tree.has(fromDisplayHex(mined[1]!)));
  t.equal(store.tree.best.height, height + 2, 'the announced tip at its chain height');

  // Reorg: the node drops its last two blocks and mines three on their parent.
  await new Promise((r) => setTimeout(r, 1100));
  await node.rpc('invalidateblock', [mined[0]]);
  const branch = await node.mine(3);
  await until('the new branch', () => store.tree.best.hash.equals(fromDisplayHex(branch[2]!)));
  t.equal(reorgs.length, 1, 'one reorg');
  t.equal(reorgs[0]!.fork.height, height);
  t.same(reorgs[0]!.disconnected.map((e) => toDisplayHex(e.hash)), [mined[1], mined[0]], 'disconnected, tip first');
  t.same(reorgs[0]!.connected.map((e) => toDisplayHex(e.hash)), branch, 'connected, fork + 1 first');
  t.same(drops, [], 'the node was never dropped');
});

t.test('block download from the BSV node: header and every transaction streamed, merkle root checked', { skip }, async (t) => {
  const { peer } = await connect(t);
  const [hash] = await node.mine(1);
  const txs: string[] = [];
  peer.on('blockTx', (tx) => txs.push(toDisplayHex(tx.txid)));
  const end = await peer.getBlock(fromDisplayHex(hash!), { timeoutMs: 30_000 });
  const block = (await node.rpc('getblock', [hash, 1])) as { tx: string[]; size: number };
  t.equal(toDisplayHex(end.hash), hash);
  t.equal(end.txCount, block.tx.length);
  t.equal(end.bytes, block.size);
  t.equal(end.merkleRootOk, true);
  t.same(txs, block.tx, 'the same txids, in order');
});

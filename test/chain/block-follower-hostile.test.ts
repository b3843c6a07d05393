// BlockFollower against a real bcash regtest node plus one hostile loopback peer that serves the same
// headers but answers getdata badly: a block whose merkle root does not match, or half a block and then
// a closed socket. Every block must still reach the app once, in order, with the node's txids; the
// hostile peer's blocks must come from the node instead; the merkle liar must be banned.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Manager } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import { sha256d, toDisplayHex, fromDisplayHex } from '../../lib/hash.js';
import { HeaderTree } from '../../lib/chain/header-tree.js';
import { genesisHeader } from '../../lib/chain/genesis.js';
import { HeaderFollower } from '../../lib/chain/header-follower.js';
import { BlockFollower } from '../../lib/chain/block-follower.js';
import { decodeBlockHeader } from '../../lib/messages/block-header.js';
import { MSG_BLOCK } from '../../lib/messages/inventory.js';
import type { Message } from '../../lib/messages/index.js';
import { startRegtestNode, type RegtestNode, regtestManager } from '../helpers/regtest.js';
import { waitUntil } from '../manager/fixtures/peers.js';
import { loopbackFullNodePeer } from '../helpers/scripted-peer.js';
import { listen, type Listener } from '../../lib/transport/index.js';
import { PeerConnection } from '../../lib/peer/connection.js';

const BLOCKS = 40;
/** The first byte of a coinbase-only block's scriptSig: header, tx count, version, input count, prevout, script length. */
const COINBASE_SCRIPT_OFFSET = 80 + 1 + 4 + 1 + 36 + 1;

type Behaviour = 'bad-merkle-root' | 'cut-mid-block';

interface Run {
  /** Heights in delivery order, with each block's txids. */
  readonly delivered: { height: number; hash: string; txids: string[] }[];
  /** Block hashes the hostile peer was asked for. */
  readonly askedOfHostile: Set<string>;
  readonly drops: { reason: string; ban: boolean }[];
  readonly rerequests: { hash: string; reason: string }[];
  readonly hostileClosed: number;
  readonly node: RegtestNode;
  readonly blocksByHash: Map<string, Buffer>;
}

async function runAgainstHostile(t: Test, behaviour: Behaviour): Promise<Run> {
  let node: RegtestNode | undefined;
  let listener: Listener | undefined;
  let manager: Manager | undefined;
  let headers: HeaderFollower | undefined;
  let blocks: BlockFollower | undefined;
  const hostile: PeerConnection[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'bsv-wire-hostile-'));
  t.teardown(async () => {
    await blocks?.stop();
    headers?.stop();
    await manager?.stop();
    await listener?.close({ destroyConnections: true });
    await Promise.all(hostile.map((p) => p.close()));
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  node = await startRegtestNode();
  const hashes = await node.mine(BLOCKS);
  const blocksByHash = new Map<string, Buffer>();
  for (const h of hashes) blocksByHash.set(h, Buffer.from((await node.rpc('getblock', [h, false])) as string, 'hex'));
  const chainHeaders = hashes.map((h) => ({ ...decodeBlockHeader(blocksByHash.get(h)!.subarray(0, 80)), txCount: 0 }));

  const askedOfHostile = new Set<string>();
  let hostileClosed = 0;
  listener = await listen({ host: '127.0.0.1', port: 0 }, (socket) => {
    const peer = loopbackFullNodePeer(socket, BLOCKS);
    hostile.push(peer);
    // One streamed frame at a time: blocks asked together go out one after the other.
    let sending: Promise<unknown> = Promise.resolve();
    const stream = (bytes: Buffer, checksum: Buffer, pieces: Iterable<Buffer> | AsyncIterable<Buffer>): void => {
      sending = sending.then(() => peer.sendStreamed('block', bytes.length, checksum, pieces)).catch(() => {});
    };
    peer.on('close', () => hostileClosed++);
    // It has every header the node has, and says so: answers getheaders in full and announces the tip.
    peer.on('getheaders', () => peer.send({ command: 'headers', headers: chainHeaders } as Message));
    peer.on('ready', () => peer.send({ command: 'inv', inventory: [{ type: MSG_BLOCK, hash: fromDisplayHex(hashes.at(-1)!) }] } as Message));
    peer.on('getdata', (m) => {
      for (const item of m.inventory) {
        if (item.type !== MSG_BLOCK) continue;
        const hash = toDisplayHex(item.hash);
        const bytes = blocksByHash.get(hash);
        if (!bytes) continue;
        askedOfHostile.add(hash);
        if (behaviour === 'bad-merkle-root') {
          const tampered = Buffer.from(bytes);
          tampered[COINBASE_SCRIPT_OFFSET]! ^= 0xff;
          stream(tampered, sha256d(tampered).subarray(0, 4), [tampered]);
        } else {
          // The frame header and half the payload, then the socket closes under it.
          const half = bytes.subarray(0, bytes.length >> 1);
          stream(bytes, sha256d(bytes).subarray(0, 4), (async function* () {
            yield half;
            await new Promise((r) => setTimeout(r, 50));
            socket.destroy();
          })());
          return;
        }
      }
    });
  });

  const tree = HeaderTree.fromGenesis(genesisHeader(regtest)!);
  manager = regtestManager([`127.0.0.1:${node.p2pPort}`]);
  headers = new HeaderFollower({ manager, tree });
  const delivered: Run['delivered'] = [];
  blocks = new BlockFollower({
    manager, tree, headers, dir,
    onBlock: async (b) => {
      const txids: string[] = [];
      for await (const tx of b.transactions()) txids.push(toDisplayHex(tx.txid));
      delivered.push({ height: b.height, hash: toDisplayHex(b.hash), txids });
    },
  });
  const drops: Run['drops'] = [];
  const rerequests: Run['rerequests'] = [];
  blocks.on('drop', (d) => drops.push({ reason: d.reason, ban: d.ban }));
  blocks.on('rerequest', (r) => rerequests.push({ hash: toDisplayHex(r.hash), reason: r.reason }));
  headers.start();
  await manager.start();
  await waitUntil(() => tree.best.height === BLOCKS, 30_000, 'the headers from the node');
  manager.addManualPeer(`127.0.0.1:${listener.address.port}`);
  await waitUntil(() => manager!.peers.filter((p) => p.state === 'ready').length === 2, 30_000, 'the hostile peer to be ready');
  blocks.start();
  await waitUntil(() => blocks!.cursor.height === BLOCKS, 60_000, `the cursor to reach ${BLOCKS}`);
  return { delivered, askedOfHostile, drops, rerequests, hostileClosed, node, blocksByHash };
}

async function checkDelivery(t: Test, run: Run): Promise<void> {
  t.same(run.delivered.map((d) => d.height), Array.from({ length: BLOCKS + 1 }, (_, i) => i), 'every block once, in order');
  let mismatches = 0;
  for (const d of run.delivered.slice(1)) {
    const rpc = (await run.node.rpc('getblock', [d.hash])) as { tx: string[]; height: number };
    if (rpc.height !== d.height || JSON.stringify(rpc.tx) !== JSON.stringify(d.txids)) mismatches++;
  }
  t.equal(mismatches, 0, 'each delivered block has the height and txids the node reports for it');
  t.ok(run.askedOfHostile.size > 0, `the hostile peer was asked for ${run.askedOfHostile.size} blocks`);
}

t.test('a peer sending blocks whose merkle root does not match: banned, and its blocks come from the node', { timeout: 150_000 }, async (t) => {
  const run = await runAgainstHostile(t, 'bad-merkle-root');
  await checkDelivery(t, run);
  t.ok(run.drops.some((d) => d.ban && /merkle/.test(d.reason)), `the hostile peer was dropped with a ban (${JSON.stringify(run.drops)})`);
  t.ok(run.hostileClosed >= 1, 'its connection was closed (seen from its side)');
  const moved = run.rerequests.filter((r) => run.askedOfHostile.has(r.hash));
  t.ok(moved.length >= 1, `${moved.length} of its blocks were asked again elsewhere`);
});

t.test('a peer that closes the socket halfway through a block: the block comes whole from the node', { timeout: 150_000 }, async (t) => {
  const run = await runAgainstHostile(t, 'cut-mid-block');
  await checkDelivery(t, run);
  t.ok(run.hostileClosed >= 1, 'the hostile connection closed');
  const cut = [...run.askedOfHostile];
  t.ok(cut.every((h) => run.delivered.some((d) => d.hash === h)), 'each block it was asked for was delivered (from the node)');
});

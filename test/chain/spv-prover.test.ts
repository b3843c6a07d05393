// SpvProver's merkleblock path, against a NODE_BLOOM peer built from our own codecs (bcash offers no
// NODE_BLOOM): it honours filterload with bcash's bfilter and answers getdata MSG_FILTERED_BLOCK with a
// merkleblock. An honest one gives a proof that verifies against the header tree; a lying one (a
// tampered partial tree) is caught and the prover falls back to the whole block from the same peer.
import t, { type Test } from 'tap';
import { createRequire } from 'node:module';
import { Manager } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { listen, type Listener } from '../../lib/transport/index.js';
import { MSG_BLOCK, MSG_FILTERED_BLOCK, MSG_TX } from '../../lib/messages/inventory.js';
import type { Message } from '../../lib/messages/index.js';
import { encodeBlockHeader, type BlockHeader } from '../../lib/messages/block-header.js';
import { merkleRoot, merkleBranch } from '../../lib/messages/merkle.js';
import { rawTransaction, type RawTransaction } from '../../lib/messages/transaction.js';
import { sha256d } from '../../lib/hash.js';
import { HeaderTree } from '../../lib/chain/header-tree.js';
import { buildPartialMerkleTree, verifyMerkleProof } from '../../lib/chain/spv.js';
import { NODE_BLOOM, SpvProver } from '../../lib/chain/spv-prover.js';
import { waitUntil } from '../manager/fixtures/peers.js';
import { MempoolWatcher } from '../../lib/chain/mempool-watcher.js';

const require = createRequire(import.meta.url);
const { BloomFilter } = require('bfilter') as {
  BloomFilter: { fromRaw(raw: Buffer): { test(b: Buffer): boolean } };
};

function tx(n: number): RawTransaction {
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const prev = Buffer.alloc(32, n & 0xff);
  prev.writeUInt32LE(n, 0);
  return rawTransaction(Buffer.concat([u32(1), Buffer.from([1]), prev, u32(n), Buffer.from([0]), u32(0xffffffff), Buffer.from([1]), Buffer.alloc(8, 1), Buffer.from([1, 0x51]), u32(0)]));
}

function mine(prev: Buffer, root: Buffer, timestamp: number): { header: BlockHeader; hash: Buffer } {
  for (let nonce = 0; ; nonce++) {
    const header: BlockHeader = { version: 1, prevBlock: prev, merkleRoot: root, timestamp, bits: 0x207fffff, nonce };
    const hash = sha256d(encodeBlockHeader(header));
    if (hash[31]! < 0x7f) return { header, hash };
  }
}

const txs = Array.from({ length: 23 }, (_, i) => tx(i));
const txids = txs.map((x) => x.txid);
const genesis = mine(Buffer.alloc(32), Buffer.alloc(32, 9), 1_600_000_000);
const block = mine(genesis.hash, merkleRoot(txids), 1_600_000_600);

async function withBloomPeer(t: Test, lying: boolean): Promise<{ prover: SpvProver; tree: HeaderTree; served: string[]; manager: Manager; server: () => PeerConnection }> {
  const served: string[] = [];
  let server: PeerConnection | undefined;
  let manager: Manager | undefined;
  let listener: Listener | undefined;
  t.teardown(async () => {
    await manager?.stop();
    await listener?.close({ destroyConnections: true });
  });
  listener = await listen({ host: '127.0.0.1', port: 0 }, (socket) => {
    socket.on('error', () => {});
    const peer = new PeerConnection(socket, {
      network: regtest,
      direction: 'inbound',
      services: 1n | NODE_BLOOM,
      userAgentPolicy: ACCEPT_ANY_UA,
      selfNonces: new Set(),
      remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    });
    server = peer;
    let filter: { test(b: Buffer): boolean } | undefined;
    peer.on('filterload', (m) => {
      const raw = Buffer.concat([Buffer.from([m.filter.length]), m.filter, Buffer.alloc(9)]);
      raw.writeUInt32LE(m.hashFuncs, 1 + m.filter.length);
      raw.writeUInt32LE(m.tweak, 5 + m.filter.length);
      raw[9 + m.filter.length] = m.flags;
      filter = BloomFilter.fromRaw(raw);
      served.push('filterload');
    });
    peer.on('filterclear', () => served.push('filterclear'));
    peer.on('getdata', (m) => {
      for (const item of m.inventory) {
        if (item.type === MSG_TX) {
          const found = txs.find((x) => x.txid.equals(item.hash));
          if (found) peer.send({ command: 'tx', raw: found.raw, txid: found.txid } as Message);
          continue;
        }
        if (!item.hash.equals(block.hash)) continue;
        if (item.type === MSG_FILTERED_BLOCK && filter) {
          const pmt = buildPartialMerkleTree(txids, (id) => filter!.test(id));
          const hashes = lying ? pmt.hashes.map((h, i) => (i === 0 ? Buffer.alloc(32, 0xee) : h)) : pmt.hashes;
          peer.send({ command: 'merkleblock', header: block.header, totalTransactions: pmt.total, hashes, flags: pmt.flags } as Message);
          served.push('merkleblock');
        } else if (item.type === MSG_BLOCK) {
          peer.send({ command: 'block', header: block.header, transactions: txs } as Message);
          served.push('block');
        }
      }
    });
  });
  const tree = HeaderTree.fromGenesis(genesis.header);
  tree.insert(block.header, block.hash);
  manager = new Manager({
    network: regtest,
    outbound: 0,
    discover: false,
    feelerIntervalMs: 0,
    peers: [`127.0.0.1:${listener.address.port}`],
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
  });
  await manager.start();
  await waitUntil(() => manager!.peers.some((p) => p.state === 'ready'), 10_000, 'the bloom peer');
  return { prover: new SpvProver({ manager, headers: tree, merkleBlockTimeoutMs: 5000, blockTimeoutMs: 5000 }), tree, served, manager, server: () => server! };
}

t.test('an honest NODE_BLOOM peer: the merkleblock gives a proof that verifies against the tree', async (t) => {
  const { prover, tree, served } = await withBloomPeer(t, false);
  for (const index of [0, 13, 22]) {
    const r = await prover.prove(txids[index]!, block.hash);
    t.equal(r.source, 'merkleblock');
    t.equal(r.proof.index, index);
    t.same(r.proof.nodes.map((n) => n.hash.toString('hex')), merkleBranch(txids, index).map((h) => h.toString('hex')));
    t.equal(verifyMerkleProof(r.proof, tree).height, 1);
    t.same(r.failures, []);
  }
  t.same(served.slice(0, 3), ['filterload', 'merkleblock', 'filterclear'], 'the filter is cleared after use');
});

t.test('a lying NODE_BLOOM peer: the tampered tree is refused and the whole block gives the proof', async (t) => {
  const { prover, served } = await withBloomPeer(t, true);
  const r = await prover.prove(txids[5]!, block.hash);
  t.equal(r.source, 'block');
  t.equal(r.proof.index, 5);
  t.match(r.failures, [{ source: 'merkleblock', reason: /merkle root|identical|partial/ }]);
  t.ok(served.includes('block'));
});

t.test('a MempoolWatcher on the same Manager reports a mempool tx as mined from the merkleblock', async (t) => {
  const { prover, manager, server } = await withBloomPeer(t, false);
  const watcher = new MempoolWatcher({ manager });
  t.teardown(() => watcher.stop());
  const seen: string[] = [];
  const mined: { block: string; txids: string[] }[] = [];
  watcher.on('tx', (e) => seen.push(e.txid.toString('hex')));
  watcher.on('mined', (e) => mined.push({ block: e.blockHash.toString('hex'), txids: e.txids.map((x) => x.toString('hex')) }));
  watcher.start();
  server().send({ command: 'inv', inventory: [{ type: MSG_TX, hash: txids[13]! }, { type: MSG_TX, hash: txids[14]! }] } as Message);
  await waitUntil(() => seen.length === 2, 10_000, 'the two announced txs');
  await prover.prove(txids[13]!, block.hash);
  await waitUntil(() => mined.length > 0, 5000, 'the mined event');
  t.same(mined, [{ block: block.hash.toString('hex'), txids: [txids[13]!.toString('hex')] }], 'only the matched tx is known to be mined');
});

// Index blocks in chain order with a BlockFollower: each block streamed from its on-disk spool and its
// outputs counted by script type, one transaction at a time, never the whole block in memory. The cursor
// (the last block indexed) survives a restart; a reorg first takes back the blocks that left the chain.
// Run: npx tsx examples/block-indexer.ts [--network mainnet] [--peer host:port] [--duration SECONDS]
// Headers and cursor live in INDEXER_DATADIR (default ~/.bsv-wire-indexer/<network>). The first run starts at
// the next new block; later runs continue after the cursor.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BlockFollower, HeaderFollower, HeaderStore, Manager, parseTransaction, toDisplayHex } from '../lib/index.js';
import { exampleOptions, untilStopped } from './options.js';

type ScriptType = 'p2pkh' | 'p2sh' | 'p2pk' | 'multisig' | 'op_return' | 'other';

/** Classify a locking script by its template. */
function scriptType(s: Buffer): ScriptType {
  if (s.length === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 0x14 && s[23] === 0x88 && s[24] === 0xac) return 'p2pkh';
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) return 'p2sh';
  if ((s.length === 35 && s[0] === 0x21 && s[34] === 0xac) || (s.length === 67 && s[0] === 0x41 && s[66] === 0xac)) return 'p2pk';
  if (s[0] === 0x6a || (s[0] === 0x00 && s[1] === 0x6a)) return 'op_return';
  if (s.length > 0 && s[s.length - 1] === 0xae) return 'multisig';
  return 'other';
}

const opts = exampleOptions();
const dataDir = process.env.INDEXER_DATADIR ?? join(homedir(), '.bsv-wire-indexer', opts.network.name);
const store = await HeaderStore.open(dataDir, opts.network);
const manager = new Manager({
  network: opts.network,
  peers: opts.peers,
  outbound: opts.peers.length > 0 ? 0 : 8,
  peerOptions: { userAgentPolicy: opts.userAgentPolicy },
});
const headers = new HeaderFollower({ manager, store });
manager.on('peer:ready', (peer) => console.log(`connected ${peer.remoteAddress}:${peer.remotePort} ${peer.remote.version?.userAgent}`));

let indexed = 0;
const makeIndexer = (): BlockFollower =>
  new BlockFollower({
    manager,
    tree: store.tree,
    headers,
    dir: join(dataDir, 'blocks'),
    fromHeight: store.tree.best.height + 1, // used only without a saved cursor
    // Resolving acknowledges the block: the cursor moves past it. A huge tx (no `raw`) would be read from tx.pieces().
    onBlock: async (block) => {
      const counts: Record<ScriptType, number> = { p2pkh: 0, p2sh: 0, p2pk: 0, multisig: 0, op_return: 0, other: 0 };
      for await (const tx of block.transactions()) {
        if (tx.raw) for (const output of parseTransaction(tx.raw).outputs) counts[scriptType(output.script)]++;
      }
      indexed++;
      const summary = Object.entries(counts).filter(([, n]) => n > 0).map(([type, n]) => `${type}=${n}`).join(' ');
      console.log(`block ${toDisplayHex(block.hash)}: ${block.txCount} txs, ${block.bytes} bytes, outputs ${summary}, merkle root ${block.merkleRootOk ? 'ok' : 'BAD'}`);
    },
    // A reorg took this block out of the best chain: undo what was indexed for it.
    onBlockDisconnected: (block) => console.log(`block ${toDisplayHex(block.hash)} at ${block.height} disconnected`),
  });

const stopped = untilStopped(opts.durationMs);
headers.start();
await manager.start();
// Without a cursor, "new blocks" means after the peers' tip: wait for the headers to get there first.
if (!existsSync(join(dataDir, 'blocks', 'cursor.json'))) await Promise.race([new Promise((resolve) => headers.once('synced', resolve)), stopped]);
const indexer = makeIndexer();
indexer.on('error', (err) => console.log(`indexer stopped: ${String(err)}`));
indexer.start();
console.log(`indexing after height ${indexer.cursor.height}`);
await stopped;
await indexer.stop();
headers.stop();
await manager.stop();
await store.close();
console.log(`stopped after ${indexed} blocks at height ${indexer.cursor.height}`);

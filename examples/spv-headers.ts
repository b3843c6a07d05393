// SPV header sync: every block header from the genesis into a HeaderStore on disk (resumed on the next
// run), each one checked by the consensus rules (link, proof of work, difficulty, timestamps), then new
// blocks and reorgs as peers announce them, whichever peer has the most work.
// Run: npx tsx examples/spv-headers.ts [--network mainnet] [--peer host:port] [--duration SECONDS]
// The store is ~/.bsv-wire/<network> (the bsv-wire command's; `bsv-wire chain` shows it), or SPV_DATADIR.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HeaderFollower, HeaderStore, Manager, toDisplayHex } from '../lib/index.js';
import { exampleOptions, untilStopped } from './options.js';

const opts = exampleOptions();
const dataDir = process.env.SPV_DATADIR ?? join(homedir(), '.bsv-wire', opts.network.name);
const store = await HeaderStore.open(dataDir, opts.network);
if (store.tree.best.height > 0) console.log(`resuming at height ${store.tree.best.height} from ${dataDir}`);
const manager = new Manager({
  network: opts.network,
  peers: opts.peers,
  outbound: opts.peers.length > 0 ? 0 : 4,
  peerOptions: { userAgentPolicy: opts.userAgentPolicy },
});
const follower = new HeaderFollower({ manager, store });
const started = Date.now();
let synced = false;

follower.on('tip', (tip) => {
  if (!synced) process.stdout.write(`height ${tip.height}\r`);
});
follower.on('synced', (tip) => {
  synced = true;
  const seconds = (Date.now() - started) / 1000;
  console.log(`synced to height ${tip.height} (${toDisplayHex(tip.hash)}) in ${seconds.toFixed(1)} s, consensus rules checked`);
});
// After the initial sync, each header that joins the best chain (a reorg's new branch comes after its reorg event).
follower.on('header', (entry) => {
  if (synced) console.log(`new header ${entry.height} ${toDisplayHex(entry.hash)}`);
});
follower.on('reorg', (r) => console.log(`reorg at ${r.fork.height}: ${r.disconnected.length} headers out, ${r.connected.length} in`));
follower.on('drop', ({ peer, reason }) => console.error(`dropped ${peer.remoteAddress}: ${reason}`));

follower.start();
await manager.start();
await untilStopped(opts.durationMs);
follower.stop();
await manager.stop();
await store.close();
console.log(`stopped at height ${store.tree.best.height}`);

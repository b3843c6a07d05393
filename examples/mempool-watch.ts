// Watch the mempool through a MempoolWatcher: each transaction once, however many peers announce it, fetched
// from the first announcer and from another if that one stays silent; printed with its size, inputs,
// outputs and value.
// Run: npx tsx examples/mempool-watch.ts [--network mainnet] [--peer host:port] [--duration SECONDS]
import { Manager, MempoolWatcher, parseTransaction, toDisplayHex } from '../lib/index.js';
import { exampleOptions, untilStopped } from './options.js';

const opts = exampleOptions();
const manager = new Manager({
  network: opts.network,
  peers: opts.peers,
  outbound: opts.peers.length > 0 ? 0 : 8,
  peerOptions: { userAgentPolicy: opts.userAgentPolicy },
});
const mempool = new MempoolWatcher({ manager });
let count = 0;

manager.on('peer:ready', (peer) => console.log(`connected ${peer.remoteAddress}:${peer.remotePort} ${peer.remote.version?.userAgent}`));
mempool.on('tx', (e) => {
  count++;
  const from = e.peer ? `${e.peer.remoteAddress}:${e.peer.remotePort}` : 'a peer';
  // A huge transaction comes in pieces (raw undefined): the Manager's txStart/txPiece/txEnd events carry it.
  if (!e.raw) return console.log(`tx ${toDisplayHex(e.txid)} from ${from} (${e.announcers} announcers): too large to hold whole`);
  const parsed = parseTransaction(e.raw);
  const value = parsed.outputs.reduce((sum, o) => sum + o.value, 0n);
  console.log(`tx ${toDisplayHex(e.txid)} from ${from} (${e.announcers} announcers): ${e.raw.length} bytes, ${parsed.inputs.length} inputs, ${parsed.outputs.length} outputs, ${value} satoshis out`);
});
mempool.on('lost', (e) => console.log(`lost ${toDisplayHex(e.txid)}: none of its ${e.announcers} announcers delivered it`));

mempool.start();
await manager.start();
await untilStopped(opts.durationMs);
mempool.stop();
await manager.stop();
console.log(`stopped after ${count} transactions`);

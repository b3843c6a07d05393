// Watch the mempool: print each new transaction id as peers announce it (inv), then fetch the
// transaction (getdata) and print its size, inputs, outputs and value.
// Run: npx tsx examples/mempool-watch.ts [--network mainnet] [--peer host:port] [--duration SECONDS]
import { Manager, MSG_TX, parseTransaction, toDisplayHex } from '../lib/index.js';
import { exampleOptions, untilStopped } from './options.js';

const opts = exampleOptions();
const manager = new Manager({
  network: opts.network,
  peers: opts.peers,
  outbound: opts.peers.length > 0 ? 0 : 8,
  peerOptions: { userAgentPolicy: opts.userAgentPolicy },
});
// Several peers announce the same transaction: fetch it once. Bounded, recent ids are enough.
const seen = new Set<string>();

manager.on('peer:ready', (peer) => console.log(`connected ${peer.remoteAddress}:${peer.remotePort} ${peer.remote.version?.userAgent}`));
manager.on('inv', (m, peer) => {
  for (const item of m.inventory) {
    if (item.type !== MSG_TX) continue;
    const txid = toDisplayHex(item.hash);
    if (seen.has(txid)) continue;
    if (seen.size > 50_000) seen.clear();
    seen.add(txid);
    console.log(`tx ${txid} announced by ${peer.remoteAddress}:${peer.remotePort}`);
    peer
      .getTx(item.hash, { timeoutMs: 30_000 })
      .then((tx) => {
        const parsed = parseTransaction(tx.raw);
        const value = parsed.outputs.reduce((sum, o) => sum + o.value, 0n);
        console.log(`fetched ${txid}: ${tx.raw.length} bytes, ${parsed.inputs.length} inputs, ${parsed.outputs.length} outputs, ${value} satoshis out`);
      })
      .catch((err: Error) => console.log(`could not fetch ${txid}: ${err.message}`));
  }
});

await manager.start();
await untilStopped(opts.durationMs);
await manager.stop();
console.log(`stopped after ${seen.size} transactions`);

// The same connection through a SOCKS5 proxy such as Tor: every socket goes through the proxy and
// host names (seeds, .onion peers) are resolved by the proxy, never by local DNS. Without --peer,
// peers are found by "address fetch": connecting to the seed names through the proxy.
// Run: npx tsx examples/tor.ts [--proxy socks5://127.0.0.1:9050] [--network mainnet] [--peer host:port] [--duration SECONDS]
import { Manager, MSG_BLOCK, MSG_TX, toDisplayHex } from '../lib/index.js';
import { exampleOptions, untilStopped } from './options.js';

const opts = exampleOptions({ proxyDefault: 'socks5://127.0.0.1:9050' });
// isolate: fresh SOCKS credentials per connection, so Tor puts each peer on its own circuit.
const proxy = opts.proxy!.username === undefined ? { ...opts.proxy!, isolate: true } : opts.proxy!;
const manager = new Manager({
  network: opts.network,
  peers: opts.peers,
  proxy,
  outbound: opts.peers.length > 0 ? 0 : 4,
  peerOptions: { userAgentPolicy: opts.userAgentPolicy },
});
const via = `socks5://${proxy.proxyHost}:${proxy.proxyPort}`;
let txs = 0;

manager.on('peer:ready', (peer) => console.log(`connected through ${via} to ${peer.remoteAddress}:${peer.remotePort}: ${peer.remote.version?.userAgent} height ${peer.remote.version?.startHeight}`));
manager.on('peer:close', (peer, reason) => console.log(`closed ${peer.remoteAddress}:${peer.remotePort}: ${reason.code} (${reason.message})`));
manager.on('discovery', (d) => console.log(`discovery ${d.method} ${d.seed ?? ''}: ${d.found} addresses${d.failures.length ? `, failed: ${d.failures.join('; ')}` : ''}`));
manager.on('inv', (m, peer) => {
  for (const item of m.inventory) {
    if (item.type === MSG_BLOCK) console.log(`block ${toDisplayHex(item.hash)} from ${peer.remoteAddress}`);
    else if (item.type === MSG_TX) txs++;
  }
});

await manager.start();
await untilStopped(opts.durationMs);
await manager.stop();
console.log(`stopped; ${txs} transactions announced`);

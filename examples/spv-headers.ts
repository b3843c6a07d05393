// SPV header sync: download every block header from the genesis with getheaders (2000 per reply),
// check each one's link and proof of work (bsv's Bn against the compact target), then follow new
// blocks as peers announce them.
// Run: npx tsx examples/spv-headers.ts [--network mainnet] [--peer host:port] [--duration SECONDS]
import { Manager, toDisplayHex, type ManagedPeer } from '../lib/index.js';
import { HeaderChain } from '../lib/index.js';
import { exampleOptions, untilStopped } from './options.js';

const opts = exampleOptions();
const manager = new Manager({
  network: opts.network,
  peers: opts.peers,
  outbound: opts.peers.length > 0 ? 0 : 4,
  peerOptions: { userAgentPolicy: opts.userAgentPolicy },
});
const chain = new HeaderChain(opts.network);
let syncing: ManagedPeer | undefined;
/** Set once the initial sync is done: announcements are followed from then on. */
let following = false;

async function sync(peer: ManagedPeer): Promise<void> {
  syncing = peer;
  const started = Date.now();
  console.log(`syncing from ${peer.remoteAddress}:${peer.remotePort} (${peer.remote.version?.userAgent}, height ${peer.remote.version?.startHeight})`);
  // Ask until the reply is short. A peer with nothing newer may stay silent instead of sending an
  // empty reply, so at its announced height a timeout means "done".
  for (;;) {
    const atTip = chain.tip.height >= (peer.remote.version?.startHeight ?? 0);
    const reply = await peer.getHeaders([chain.tip.hash], undefined, { timeoutMs: atTip ? 3000 : 60_000 }).catch((err) => {
      if (atTip) return { headers: [] };
      throw err;
    });
    chain.append(reply.headers); // throws HeaderChainError on a broken link or too little work
    if (reply.headers.length > 0) process.stdout.write(`height ${chain.tip.height}\r`);
    if (reply.headers.length < 2000) break;
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`synced to height ${chain.tip.height} (${toDisplayHex(chain.tip.hash)}) in ${seconds.toFixed(1)} s, proof of work checked`);
  // From now on, new blocks arrive as headers messages (BIP130).
  peer.send({ command: 'sendheaders' });
  following = true;
}

manager.on('peer:ready', (peer) => {
  if (!syncing) sync(peer).catch((err) => console.error(`sync failed: ${err.message}`));
});
manager.on('headers', (m, peer) => {
  if (peer !== syncing || !following) return;
  try {
    chain.append(m.headers, (_header, hash, height) => console.log(`new header ${height} ${toDisplayHex(hash)}`));
  } catch (err) {
    console.error(`rejected header from ${peer.remoteAddress}: ${(err as Error).message}`);
  }
});
// With sendheaders unsupported, a new block comes as inv: ask for the headers after our tip.
manager.on('inv', (m, peer) => {
  if (peer === syncing && following && m.inventory.some((i) => i.type === 2)) peer.send({ command: 'getheaders', version: opts.network.protocolVersion, locator: [chain.tip.hash], hashStop: Buffer.alloc(32) });
});

await manager.start();
await untilStopped(opts.durationMs);
await manager.stop();
console.log(`stopped at height ${chain.tip.height}`);

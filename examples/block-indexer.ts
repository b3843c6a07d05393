// Index new blocks as they are announced: stream each block and count its outputs by script type,
// one transaction at a time, without ever holding the whole block in memory.
// Run: npx tsx examples/block-indexer.ts [--network mainnet] [--peer host:port] [--duration SECONDS]
import { Manager, MSG_BLOCK, parseTransaction, toDisplayHex, type BlockTransactionEvent } from '../lib/index.js';
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
// Per block being streamed: the counts only. The transactions themselves are dropped as they pass.
const counts = new Map<string, Record<ScriptType, number>>();

const countOutputs = (tx: BlockTransactionEvent): void => {
  const key = tx.blockHash.toString('hex');
  let c = counts.get(key);
  if (!c) counts.set(key, (c = { p2pkh: 0, p2sh: 0, p2pk: 0, multisig: 0, op_return: 0, other: 0 }));
  for (const output of parseTransaction(tx.raw).outputs) c[scriptType(output.script)]++;
};

const manager = new Manager({
  network: opts.network,
  peers: opts.peers,
  outbound: opts.peers.length > 0 ? 0 : 8,
  // Called for each transaction as its bytes arrive; return a promise to pause the socket.
  peerOptions: { userAgentPolicy: opts.userAgentPolicy, onBlockTransaction: countOutputs },
});
const requested = new Set<string>();

manager.on('peer:ready', (peer) => console.log(`connected ${peer.remoteAddress}:${peer.remotePort} ${peer.remote.version?.userAgent}`));
manager.on('inv', (m, peer) => {
  for (const item of m.inventory) {
    const key = item.hash.toString('hex');
    if (item.type !== MSG_BLOCK || requested.has(key)) continue;
    requested.add(key);
    peer
      .getBlock(item.hash)
      .then((end) => {
        const c = counts.get(key)!;
        counts.delete(key);
        const summary = Object.entries(c)
          .filter(([, n]) => n > 0)
          .map(([type, n]) => `${type}=${n}`)
          .join(' ');
        console.log(`block ${toDisplayHex(end.hash)}: ${end.txCount} txs, ${end.bytes} bytes, outputs ${summary}, merkle root ${end.merkleRootOk ? 'ok' : 'BAD'}`);
      })
      .catch((err: Error) => console.log(`block ${toDisplayHex(item.hash)} failed: ${err.message}`));
  }
});

await manager.start();
await untilStopped(opts.durationMs);
await manager.stop();
console.log(`stopped after ${requested.size} blocks`);

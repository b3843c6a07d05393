// Connect to one BSV node, print new block headers and transaction ids as they are announced.
// Run: npx tsx examples/headers-and-txs.ts HOST [PORT] [--network mainnet|testnet|stn|regtest]
import { connectPeer, getNetwork, blockHash, toDisplayHex, MSG_TX, MSG_BLOCK, ACCEPT_ANY_UA, DEFAULT_UA_POLICY } from '../lib/index.js';

const args = process.argv.slice(2);
const netIndex = args.indexOf('--network');
const network = getNetwork(netIndex >= 0 ? args.splice(netIndex, 2)[1]! : 'mainnet');
const [host = '127.0.0.1', port] = args;

const peer = await connectPeer({
  network,
  host,
  port: port ? Number(port) : undefined,
  userAgentPolicy: network.name === 'regtest' ? ACCEPT_ANY_UA : DEFAULT_UA_POLICY,
});
peer.send({ command: 'sendheaders' }); // new blocks arrive as headers; a block found before the node reads this comes as an inv
console.log(`connected to ${peer.remote.version?.userAgent} at height ${peer.remote.version?.startHeight}`);
peer.on('headers', (m) => m.headers.forEach((h) => console.log('block', toDisplayHex(blockHash(h)))));
peer.on('inv', (m) => {
  for (const item of m.inventory) {
    if (item.type === MSG_TX) console.log('tx', toDisplayHex(item.hash));
    else if (item.type === MSG_BLOCK) console.log('block', toDisplayHex(item.hash));
  }
});
peer.on('close', (reason) => console.log('closed:', reason.code, reason.message));
process.on('SIGINT', () => void peer.close());

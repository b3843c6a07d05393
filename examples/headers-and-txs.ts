// Connect to one BSV node, print new block headers and transaction ids as they are announced.
// Run: npx tsx examples/headers-and-txs.ts HOST [PORT] [--network mainnet|testnet|stn|regtest]
import { connectPeer, getNetwork, blockHash, toDisplayHex, MSG_TX, ACCEPT_ANY_UA, DEFAULT_UA_POLICY } from '../lib/index.js';

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
console.log(`connected to ${peer.remote.version?.userAgent} at height ${peer.remote.version?.startHeight}`);
peer.send({ command: 'sendheaders' });
peer.on('headers', (m) => m.headers.forEach((h) => console.log('block', toDisplayHex(blockHash(h)))));
peer.on('inv', (m) => m.inventory.filter((i) => i.type === MSG_TX).forEach((i) => console.log('tx', toDisplayHex(i.hash))));
peer.on('close', (reason) => console.log('closed:', reason.code, reason.message));
process.on('SIGINT', () => void peer.close());

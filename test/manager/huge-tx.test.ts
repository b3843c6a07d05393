// README "Huge transactions": hugeTxThreshold and onHugeTxPiece are options of the Manager's
// peerOptions, and the start/piece/end events reach the Manager with the peer appended (no `tx` event).
import t from 'tap';
import { Manager, type ManagedPeer } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import type { PeerConnection } from '../../lib/peer/connection.js';
import { rawTransaction } from '../../lib/messages/transaction.js';
import { sha256d } from '../../lib/hash.js';
import { manyItemTx } from '../block/fixtures/reference.js';
import { connectFrom, waitUntil } from './fixtures/peers.js';

const network = defineNetwork({ name: 'manager-huge-tx', magic: 'a1b2c3e5', defaultPort: 18996 });

t.test('a tx over the Manager peerOptions threshold arrives as txStart/txPiece/txEnd with the peer; onHugeTxPiece sees every piece', async (t) => {
  let hookBytes = 0;
  const manager = new Manager({
    network, outbound: 0, discover: false, feelerIntervalMs: 0, listen: { host: '127.0.0.1', port: 0 },
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA, hugeTxThreshold: 10_000, onHugeTxPiece: (p) => void (hookBytes += p.bytes.length) },
  });
  let client: PeerConnection | undefined;
  t.teardown(async () => {
    await client?.close();
    await manager.stop();
  });
  await manager.start();
  const events: string[] = [];
  let pieceBytes = 0;
  let end: { txid: Buffer; size: number; checksumOk: boolean; from: string } | undefined;
  manager.on('txStart', (s, peer: ManagedPeer) => events.push(`txStart ${s.size} ${peer.direction}`));
  manager.on('txPiece', (p) => void (pieceBytes += p.bytes.length));
  manager.on('txEnd', (e, peer: ManagedPeer) => (end = { ...e, from: peer.remoteAddress }));
  manager.on('tx', () => events.push('tx'));
  client = await connectFrom(network, '127.0.0.1', '127.0.0.1', manager.listenAddress!.port);
  await client.ready(5000);
  const huge = manyItemTx(100, 2000, 7);
  const small = manyItemTx(1, 2, 8);
  t.ok(client.send({ command: 'tx', ...rawTransaction(huge) }), 'sent');
  t.ok(client.send({ command: 'tx', ...rawTransaction(small) }), 'sent');
  await waitUntil(() => events.includes('tx'), 5000, 'the small tx');
  t.same(events, [`txStart ${huge.length} inbound`, 'tx'], 'the huge tx streams, the small one comes whole');
  t.ok(end?.txid.equals(sha256d(huge)) && end.size === huge.length && end.checksumOk, 'txEnd with txid, size and checksum');
  t.equal(end?.from, '127.0.0.1', 'the peer is appended');
  t.equal(pieceBytes, huge.length, 'the pieces cover the tx');
  t.equal(hookBytes, huge.length, 'onHugeTxPiece saw every piece');
});

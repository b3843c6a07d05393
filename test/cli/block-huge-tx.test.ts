// `bsv-wire block HASH` prints the txid of a transaction over hugeTxThreshold too (it arrives in pieces,
// not as one blockTx): a loopback peer serves a block holding a 20 MB transaction, generated as it is sent.
import t from 'tap';
import type net from 'node:net';
import { listen } from '../../lib/transport/index.js';
import { PeerConnection } from '../../lib/peer/index.js';
import { regtest } from '../../lib/networks.js';
import { toDisplayHex } from '../../lib/hash.js';
import { hugeTxBlock, rechunk, sha256dOf } from '../block/fixtures/huge-tx-source.js';
import { startCli, tempDir } from './fixtures/run-cli.js';

t.test('the txid of a huge transaction is printed in its place', async (t) => {
  const block = hugeTxBlock(20_000_000);
  const checksum = sha256dOf(block.segments()).subarray(0, 4);
  const sockets = new Set<net.Socket>();
  const listener = await listen({ host: '127.0.0.1', port: 0 }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const peer = new PeerConnection(socket, { network: regtest, direction: 'inbound', remote: { address: '127.0.0.1', port: socket.remotePort ?? 0 } });
    peer.on('getdata', (m) => {
      if (!m.inventory.some((i) => i.type === 2 && i.hash.equals(block.hash))) return;
      // Through the connection, so its own replies (a pong) wait instead of landing inside the block.
      void peer.sendStreamed('block', block.payloadLength, checksum, rechunk(block.segments(), 1 << 16));
    });
  });
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await listener.close();
  });
  const run = startCli(['block', toDisplayHex(block.hash), '--network', 'regtest', '--peer', `127.0.0.1:${listener.address.port}`, '--datadir', tempDir(t)], {
    killAfterMs: 120_000,
  });
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  t.ok(block.txSize > 16 * 1024 * 1024, `the tx (${block.txSize} bytes) is over the default threshold`);
  const lines = result.stdout.trim().split('\n');
  t.same(lines.slice(0, 2), [toDisplayHex(block.coinbaseTxid), toDisplayHex(block.txid)], 'both txids, in block order');
  t.match(lines[2], new RegExp(`^block ${toDisplayHex(block.hash)}: 2 transactions, .*\\(${block.payloadLength} bytes\\), merkle root ok`));
  t.equal(lines.length, 3);
});

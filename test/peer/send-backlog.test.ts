// The send side of a PeerConnection over real loopback TCP: coalesced small writes, reading
// paused over the high-water mark, and the send-buffer-overflow close as the last resort.
import t from 'tap';
import type { Test } from 'tap';
import net from 'node:net';
import { PeerConnection, type PeerConnectionOptions } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { regtest } from '../../lib/networks.js';
import { Manager } from '../../lib/manager/index.js';
import type { Message } from '../../lib/messages/index.js';
import { rawTransaction } from '../../lib/messages/transaction.js';
import type { CloseReason } from '../../lib/peer/reasons.js';
import { WireClient, pingFrame } from './fixtures/wire-client.js';

/** A loopback server whose first accepted socket becomes an inbound PeerConnection; the client is a raw peer. */
async function pair(t: Test, opts: Partial<PeerConnectionOptions> = {}): Promise<{ conn: PeerConnection; client: WireClient }> {
  let conn: PeerConnection | undefined;
  const server = net.createServer((socket) => {
    conn = new PeerConnection(socket, { network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set(), ...opts });
  });
  t.teardown(() => {
    server.close();
    void conn?.close();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = await WireClient.connect((server.address() as net.AddressInfo).port);
  t.teardown(() => client.destroy());
  await client.handshake(5n);
  return { conn: conn!, client };
}

const closed = (conn: PeerConnection): Promise<CloseReason> => new Promise((r) => (conn.closeReason ? r(conn.closeReason) : conn.once('close', r)));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('small frames sent in one tick reach the peer in a handful of segments, not one write each', async (t) => {
  const { conn, client } = await pair(t);
  let chunks = 0;
  let bytes = 0;
  await sleep(50); // let the handshake's own frames pass
  client.socket.on('data', (c: Buffer) => {
    chunks++;
    bytes += c.length;
  });
  for (let i = 0; i < 2000; i++) conn.send({ command: 'pong', nonce: BigInt(i) });
  const last = client.when((c, p) => c === 'pong' && p.readBigUInt64LE(0) === 1999n, 5000, 'the last pong');
  await last;
  t.equal(bytes, 2000 * 32);
  t.ok(chunks <= 16, `2000 pongs arrived in ${chunks} reads`);
});

t.test('a peer that reads nothing: reading pauses over the high-water mark, then sends overflow and close', async (t) => {
  const { conn, client } = await pair(t, { sendHighWaterMark: 64 * 1024, maxUnflushedBytes: 1024 * 1024 });
  client.socket.pause(); // the peer stops reading
  // A valid ~100 kB transaction: one input, one output with a 99,900-byte script.
  const scriptLength = Buffer.alloc(5);
  scriptLength[0] = 0xfe;
  scriptLength.writeUInt32LE(99_900, 1);
  const raw = Buffer.concat([
    Buffer.from('01000000' + '01' + '00'.repeat(32) + 'ffffffff' + '00' + 'ffffffff' + '01' + '0000000000000000', 'hex'),
    scriptLength,
    Buffer.alloc(99_900, 0x6a),
    Buffer.from('00000000', 'hex'),
  ]);
  const tx = { command: 'tx', ...rawTransaction(raw) } as Message;
  let sent = 0;
  let paused = false;
  const reason = closed(conn);
  // Bounded: kernel buffers on loopback hold a few MB at most.
  while (sent < 2000 && conn.send(tx)) {
    sent++;
    paused ||= conn.readingPaused;
    if (sent % 10 === 0) await sleep(1); // give the kernel its turn, as a real app would
  }
  t.ok(sent < 2000, `send refused after ${sent} frames of 100 kB`);
  t.ok(paused, 'reading was paused before the overflow');
  const r = await reason;
  t.equal(r.code, 'send-buffer-overflow');
  t.equal(r.transient, true);
  t.match(r.message, /unflushed; the peer stopped reading/);
  t.equal(conn.send(tx), false, 'later sends are refused');
  // From the outside: once the peer reads again, it finds the stream closed behind what it was sent.
  client.socket.resume();
  await Promise.race([client.closedPromise, sleep(10_000)]);
  t.equal(client.closed, true, 'the peer sees the connection closed');
  t.comment(`overflow after ${sent} frames of 100 kB; the peer then read ${client.count('tx')} of them before the end`);
});

t.test('reading resumes once the backlog drains', async (t) => {
  const { conn, client } = await pair(t, { sendHighWaterMark: 64 * 1024 });
  client.socket.pause();
  // 400k pings (12.8 MB) in one go, more than loopback's kernel buffers take: the pongs back up.
  const ping = pingFrame(9n);
  client.socket.write(Buffer.concat(Array.from({ length: 400_000 }, () => ping)));
  const deadline = Date.now() + 20_000;
  while (!conn.readingPaused && Date.now() < deadline) await sleep(20);
  t.ok(conn.readingPaused, 'paused while the peer reads no pongs');
  t.ok(conn.sendBacklogBytes < 1024 * 1024, `backlog held at ${conn.sendBacklogBytes} bytes`);
  client.socket.resume();
  const all = Date.now() + 60_000;
  while (client.count('pong') < 400_000 && Date.now() < all) await sleep(50);
  t.equal(client.count('pong'), 400_000, 'every ping answered once the peer reads');
  t.equal(conn.readingPaused, false);
  t.ok((await client.roundTrip(0x77n, 5000)) >= 0, 'a round trip works afterwards');
  t.equal(conn.state, 'ready');
});

t.test('options are validated', (t) => {
  const socket = new net.Socket();
  t.throws(() => new PeerConnection(socket, { network: regtest, direction: 'inbound', sendHighWaterMark: 2048, maxUnflushedBytes: 1024 }), RangeError);
  t.throws(() => new PeerConnection(socket, { network: regtest, direction: 'inbound', sendHighWaterMark: 0 }), RangeError);
  t.throws(() => new PeerConnection(socket, { network: regtest, direction: 'inbound', preHandshakeMaxPayload: -1 }), RangeError);
  socket.destroy();
  t.throws(() => new Manager({ network: regtest, peerOptions: { sendHighWaterMark: 0 } }), RangeError, 'the Manager checks its peer options at construction');
  t.end();
});

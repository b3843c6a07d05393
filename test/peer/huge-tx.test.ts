import t from 'tap';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';
import { onRawFrames, scriptedHandshake } from '../helpers/scripted-peer.js';
import { PeerConnection, type PeerConnectionOptions } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { regtest } from '../../lib/networks.js';
import { encodeFrame } from '../../lib/framing/index.js';
import { decodeMessage, type Message } from '../../lib/messages/index.js';
import { sha256d } from '../../lib/hash.js';
import type { TxEndEvent } from '../../lib/peer/tx-receiver.js';
import type { BlockEnd, BlockTxEndEvent } from '../../lib/peer/block-receiver.js';
import { assembleBlock, manyItemTx } from '../block/fixtures/reference.js';

const THRESHOLD = 10_000;

/** A raw-frame peer: handshakes, then writes whatever bytes the test gives it. */
async function readyPair(opts: Partial<PeerConnectionOptions> = {}): Promise<{ conn: PeerConnection; theirs: Duplex; received: Message[] }> {
  const [ours, theirs] = duplexPair();
  const received: Message[] = [];
  onRawFrames(theirs, (command, payload) => received.push(decodeMessage(command, payload)));
  const conn = new PeerConnection(ours, { network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA, hugeTxThreshold: THRESHOLD, ...opts });
  conn.on('error' as never, () => {});
  await scriptedHandshake(theirs, conn);
  return { conn, theirs, received };
}

/** Write `frame` in `size`-byte pieces, letting the connection run between them. */
async function writeInPieces(stream: Duplex, frame: Buffer, size: number): Promise<void> {
  for (let at = 0; at < frame.length; at += size) {
    stream.write(frame.subarray(at, at + size));
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setImmediate(r));
}

const hugeTx = manyItemTx(100, 2000, 7); // ~24 KB, over THRESHOLD
const smallTx = manyItemTx(1, 2, 8);

t.test('a tx frame over the threshold streams as txStart/txPiece/txEnd; a small one stays a tx message', async (t) => {
  const { conn, theirs } = await readyPair();
  t.teardown(() => conn.close());
  const events: string[] = [];
  const pieces: Buffer[] = [];
  let end: TxEndEvent | undefined;
  let size = -1;
  conn.on('txStart', (s) => (events.push('txStart'), (size = s.size)));
  conn.on('txPiece', (p) => (events.push('txPiece'), pieces.push(Buffer.from(p.bytes))));
  conn.on('txEnd', (e) => (events.push('txEnd'), (end = e)));
  const whole: Buffer[] = [];
  conn.on('tx', (m) => (events.push('tx'), whole.push(m.raw)));
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'tx', hugeTx), 1000);
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'tx', smallTx), 7);
  t.equal(events[0], 'txStart');
  t.ok(events.filter((e) => e === 'txPiece').length > 5, 'several pieces');
  t.same(events.slice(-2), ['txEnd', 'tx'], 'the huge tx ends, then the small one arrives whole');
  t.equal(size, hugeTx.length, 'txStart gives the size');
  t.ok(Buffer.concat(pieces).equals(hugeTx), 'the pieces are the tx bytes');
  t.ok(end?.txid.equals(sha256d(hugeTx)), 'txEnd gives the txid');
  t.equal(end?.checksumOk, true);
  t.same(whole, [smallTx], 'the small tx came as a tx message');
  t.equal(conn.state, 'ready');
  t.equal(conn.stats().misbehaviorScore, 0);
});

t.test('a huge tx inside a block streams as blockTxStart/blockTxPiece/blockTxEnd; blockTx for the others', async (t) => {
  const { conn, theirs } = await readyPair();
  t.teardown(() => conn.close());
  const payload = assembleBlock([smallTx, hugeTx, smallTx.subarray(0)]);
  const seen: string[] = [];
  const pieces: Buffer[] = [];
  let txEnd: BlockTxEndEvent | undefined;
  let blockEnd: BlockEnd | undefined;
  conn.on('blockTx', (tx) => seen.push(`blockTx ${tx.index}`));
  conn.on('blockTxStart', (s) => seen.push(`blockTxStart ${s.index}`));
  conn.on('blockTxPiece', (p) => pieces.push(Buffer.from(p.bytes)));
  conn.on('blockTxEnd', (e) => (seen.push(`blockTxEnd ${e.index}`), (txEnd = e)));
  conn.on('blockEnd', (e) => (blockEnd = e));
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'block', payload), 1500);
  t.same(seen, ['blockTx 0', 'blockTxStart 1', 'blockTxEnd 1', 'blockTx 2']);
  t.ok(Buffer.concat(pieces).equals(hugeTx), 'the pieces are the tx bytes');
  t.ok(txEnd?.txid.equals(sha256d(hugeTx)) && txEnd.size === hugeTx.length, 'blockTxEnd gives txid and size');
  t.ok(txEnd?.blockHash.equals(blockEnd!.hash), 'with the block hash');
  t.equal(blockEnd?.merkleRootOk, true, 'the merkle root includes the huge txid');
  t.equal(blockEnd?.checksumOk, true);
});

t.test('a malformed streamed tx costs one malformed-message point; a bad checksum is dropped', async (t) => {
  const { conn, theirs } = await readyPair();
  t.teardown(() => conn.close());
  const broken = Buffer.from(hugeTx);
  broken[4 + 1 + 36] = 0xfd; // the first input's script length: non-canonical 0xfd 0x03 0x00
  broken[4 + 1 + 37] = 3;
  broken[4 + 1 + 38] = 0;
  const kinds: string[] = [];
  conn.on('misbehavior', (m) => kinds.push(m.kind));
  let ended = 0;
  conn.on('txEnd', () => ended++);
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'tx', broken), 20);
  t.same(kinds, ['malformed-message'], 'one point for the whole frame, not one per chunk');
  t.equal(ended, 0, 'no txEnd for it');

  const badSum = encodeFrame(regtest.magic, 'tx', hugeTx);
  badSum[20] ^= 0xff;
  let end: TxEndEvent | undefined;
  conn.on('txEnd', (e) => (end = e));
  await writeInPieces(theirs, badSum, 4096);
  t.equal(end?.checksumOk, false, 'txEnd says the checksum failed');
  t.same(kinds, ['malformed-message'], 'a bad checksum alone is not punished (as the node drops it)');
  // The stream is still in step: a good frame after both decodes.
  let good: TxEndEvent | undefined;
  conn.on('txEnd', (e) => (good = e));
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'tx', hugeTx), 4096);
  t.ok(good?.checksumOk && good.txid.equals(sha256d(hugeTx)), 'the next frame streams fine');
  t.equal(conn.state, 'ready');
});

t.test('getTx of a huge tx rejects with a clear error instead of timing out', async (t) => {
  const { conn, theirs, received } = await readyPair();
  t.teardown(() => conn.close());
  const txid = sha256d(hugeTx);
  const rejected = t.rejects(conn.getTx(txid, { timeoutMs: 10_000 }), /over hugeTxThreshold/);
  await new Promise((r) => setImmediate(r));
  t.ok(received.some((m) => m.command === 'getdata'), 'getdata sent');
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'tx', hugeTx), 4096);
  await rejected;
});

t.test('an async onHugeTxPiece pauses the socket until it settles', async (t) => {
  let release: () => void = () => {};
  let calls = 0;
  const { conn, theirs } = await readyPair({
    onHugeTxPiece: () => {
      calls++;
      return calls === 1 ? new Promise<void>((resolve) => (release = resolve)) : undefined;
    },
  });
  t.teardown(() => conn.close());
  let pieces = 0;
  let end: TxEndEvent | undefined;
  conn.on('txPiece', () => pieces++);
  conn.on('txEnd', (e) => (end = e));
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'tx', hugeTx), 2000);
  t.equal(pieces, 1, 'after the first piece the socket is paused: no more pieces while the handler is pending');
  t.equal(end, undefined);
  release();
  await new Promise((r) => setTimeout(r, 50));
  t.ok(pieces > 5, `the rest arrives once it settles (${pieces} pieces)`);
  t.ok(end?.txid.equals(sha256d(hugeTx)), 'and the txid is right');
});

t.test('bad threshold option', async (t) => {
  const [ours] = duplexPair();
  t.throws(() => new PeerConnection(ours, { network: regtest, direction: 'inbound', hugeTxThreshold: -5 }), RangeError);
  ours.destroy();
});

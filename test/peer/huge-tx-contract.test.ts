// README "Huge transactions", the contract: a transaction over the threshold gets no blockTx, tx or
// message event and no onBlockTransaction call, its pieces are contiguous, onHugeTxPiece sees every
// piece before its event, and hugeTxThreshold: Infinity gathers every transaction whole.
import t from 'tap';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';
import { scriptedHandshake } from '../helpers/scripted-peer.js';
import { PeerConnection, type PeerConnectionOptions } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { regtest } from '../../lib/networks.js';
import { encodeFrame } from '../../lib/framing/index.js';
import { sha256d } from '../../lib/hash.js';
import { assembleBlock, manyItemTx } from '../block/fixtures/reference.js';

const THRESHOLD = 10_000;
const hugeTx = manyItemTx(100, 2000, 7); // ~24 KB, over THRESHOLD
const smallTx = manyItemTx(1, 2, 8);

async function readyPair(opts: Partial<PeerConnectionOptions> = {}): Promise<{ conn: PeerConnection; theirs: Duplex }> {
  const [ours, theirs] = duplexPair();
  theirs.on('data', () => {});
  const conn = new PeerConnection(ours, { network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA, hugeTxThreshold: THRESHOLD, ...opts });
  await scriptedHandshake(theirs, conn);
  return { conn, theirs };
}

async function writeInPieces(stream: Duplex, frame: Buffer, size: number): Promise<void> {
  for (let at = 0; at < frame.length; at += size) {
    stream.write(frame.subarray(at, at + size));
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setImmediate(r));
}

t.test('a huge tx frame: no tx or message event; contiguous offsets; onHugeTxPiece before each txPiece', async (t) => {
  const order: string[] = [];
  const { conn, theirs } = await readyPair({ onHugeTxPiece: (p) => void order.push(`hook ${p.offset}`) });
  t.teardown(() => void conn.close());
  const messages: string[] = [];
  conn.on('message', (m) => messages.push(m.command));
  conn.on('tx', () => messages.push('tx event'));
  let expectedOffset = 0;
  let contiguous = true;
  conn.on('txPiece', (p) => {
    order.push(`event ${p.offset}`);
    if (p.offset !== expectedOffset) contiguous = false;
    expectedOffset += p.bytes.length;
  });
  let txid: Buffer | undefined;
  conn.on('txEnd', (e) => (txid = e.txid));
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'tx', hugeTx), 777);
  t.ok(txid?.equals(sha256d(hugeTx)), 'txEnd came with the txid');
  t.same(messages, [], 'no tx and no message event for it');
  t.ok(contiguous, 'each offset is the sum of the lengths before it');
  t.equal(expectedOffset, hugeTx.length, 'the pieces cover the whole tx');
  const pairs = order.length / 2;
  t.ok(pairs > 5, `several pieces (${pairs})`);
  t.ok(order.every((o, i) => o === (i % 2 === 0 ? `hook ${o.split(' ')[1]}` : `event ${order[i - 1]!.split(' ')[1]}`)), 'the hook sees each piece just before its event');
});

t.test('a huge tx in a block: no blockTx and no onBlockTransaction call for it, the same index as a blockTx would have', async (t) => {
  const hooked: number[] = [];
  const { conn, theirs } = await readyPair({ onBlockTransaction: (tx) => void hooked.push(tx.index) });
  t.teardown(() => void conn.close());
  const blockTx: number[] = [];
  const started: number[] = [];
  let contiguous = true;
  let next = 0;
  conn.on('blockTx', (tx) => blockTx.push(tx.index));
  conn.on('blockTxStart', (s) => started.push(s.index));
  conn.on('blockTxPiece', (p) => {
    if (p.offset !== next) contiguous = false;
    next += p.bytes.length;
  });
  let ended = false;
  conn.on('blockEnd', () => (ended = true));
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'block', assembleBlock([smallTx, smallTx, hugeTx, smallTx])), 1500);
  t.ok(ended, 'blockEnd follows as usual');
  t.same(hooked, [0, 1, 3], 'onBlockTransaction only for the small ones');
  t.same(blockTx, [0, 1, 3], 'blockTx only for the small ones');
  t.same(started, [2], 'the huge one is index 2, where it sits');
  t.ok(contiguous && next === hugeTx.length, 'its pieces are contiguous and complete');
});

t.test('hugeTxThreshold: Infinity gathers every transaction whole', async (t) => {
  const { conn, theirs } = await readyPair({ hugeTxThreshold: Infinity });
  t.teardown(() => void conn.close());
  const streamed: string[] = [];
  conn.on('txStart', () => streamed.push('txStart'));
  conn.on('blockTxStart', () => streamed.push('blockTxStart'));
  const whole: Buffer[] = [];
  conn.on('tx', (m) => whole.push(Buffer.from(m.raw)));
  const inBlock: number[] = [];
  conn.on('blockTx', (tx) => inBlock.push(tx.raw.length));
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'tx', hugeTx), 1000);
  await writeInPieces(theirs, encodeFrame(regtest.magic, 'block', assembleBlock([smallTx, hugeTx])), 1000);
  t.same(streamed, [], 'nothing streamed');
  t.equal(whole.length, 1);
  t.ok(whole[0]!.equals(hugeTx), 'the tx frame as one tx message');
  t.same(inBlock, [smallTx.length, hugeTx.length], 'both block transactions as blockTx with their whole raw');
});

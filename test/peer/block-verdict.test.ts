// The indexer contract in the README: blockTx events (which carry the block hash) come before the
// block's checksum and merkle root are known; blockEnd's verdict says whether to keep them. A block
// with one flipped byte in its last transaction, framed before the flip (bad checksum) or after it
// (good checksum, wrong merkle root), ends with a bad verdict and blockInvalid exactly once (after
// blockEnd, before the connection drops); an indexer that stores per block and rolls back on
// blockInvalid keeps nothing of it. The same block unflipped never fires blockInvalid and is kept.
import t, { type Test } from 'tap';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';
import { ManagedPeer } from '../../lib/manager/managed-peer.js';
import { blockVerdict, type BlockEnd, type BlockInvalidEvent, type BlockVerdict } from '../../lib/index.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { regtest } from '../../lib/networks.js';
import { FrameDecoder, encodeFrame, encodeMessageFrame } from '../../lib/framing/index.js';
import { decodeMessage, type Message } from '../../lib/messages/index.js';
import { blockCodec } from '../../lib/messages/block.js';
import { blockHash } from '../../lib/messages/block-header.js';
import { merkleRoot } from '../../lib/messages/merkle.js';
import { rawTransaction } from '../../lib/messages/transaction.js';

function answerHandshake(stream: Duplex): void {
  const decoder = new FrameDecoder({ magic: regtest.magic, shouldStream: () => false });
  const send = (m: Message): boolean => stream.write(encodeMessageFrame(regtest.magic, m, { peerVersion: 70016 }));
  stream.on('data', (chunk: Buffer) => {
    for (const ev of decoder.push(chunk)) {
      if (ev.type !== 'frame' || decodeMessage(ev.header.command, ev.payload).command !== 'version') continue;
      send({
        command: 'version', version: 70016, services: 1n, timestamp: 1n,
        addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 }, addrFrom: { services: 1n, ip: Buffer.alloc(16), port: 0 },
        nonce: 99n, userAgent: '/blocks:1/', startHeight: 5, relay: true,
      } as Message);
      send({ command: 'verack' });
    }
  });
}

const coinbase = rawTransaction(Buffer.from('01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0401020304ffffffff0100f2052a01000000015100000000', 'hex'));
const second = rawTransaction(Buffer.from('0100000000' + '01' + '0000000000000000' + '0151' + '00000000', 'hex'));
const last = rawTransaction(Buffer.from('0100000000' + '01' + '0100000000000000' + '03515151' + '00000000', 'hex'));
const header = { version: 1, prevBlock: Buffer.alloc(32, 7), merkleRoot: merkleRoot([coinbase.txid, second.txid, last.txid]), timestamp: 1, bits: 0x207fffff, nonce: 0 };
const hash = blockHash(header);
const payload = blockCodec.encode({ command: 'block', header, transactions: [coinbase, second, last] } as never);
/** A byte of the last transaction's output script: still a well-formed transaction, another txid. */
const flipAt = payload.length - 6;

/**
 * The README's indexer: stores transactions as they stream in, tagged with their block; deletes the
 * tag on blockInvalid; marks the block final on a 'valid' blockEnd.
 */
class Indexer {
  readonly stored = new Map<string, string[]>();
  readonly final = new Set<string>();
  readonly verdicts: BlockVerdict[] = [];
  onTx(blockHashHex: string, txid: string): void {
    const list = this.stored.get(blockHashHex) ?? [];
    list.push(txid);
    this.stored.set(blockHashHex, list);
  }
  onInvalid(e: BlockInvalidEvent): void {
    this.stored.delete(e.hash.toString('hex'));
  }
  onEnd(end: BlockEnd): void {
    const verdict = blockVerdict(end);
    this.verdicts.push(verdict);
    if (verdict === 'valid') this.final.add(end.hash.toString('hex'));
  }
}

interface Delivered {
  indexer: Indexer;
  /** blockHash of every blockTx, blockTxStart, blockTxPiece and blockTxEnd; hash of blockHeader. */
  txHashes: string[];
  streamedHashes: string[];
  headerHashes: string[];
  invalid: BlockInvalidEvent[];
  /** blockInvalid as the Manager's forwarding hook saw it. */
  forwardedInvalid: unknown[][];
  /** The order of blockEnd, blockInvalid and close. */
  order: string[];
  misbehavior: string[];
  end: BlockEnd;
}

async function deliver(t: Test, frame: Buffer, opts: { hugeTxThreshold?: number } = {}): Promise<Delivered> {
  const [ours, theirs] = duplexPair();
  answerHandshake(theirs);
  const forwardedInvalid: unknown[][] = [];
  // A ManagedPeer: the same connection, plus the hook the Manager re-emits every event through.
  const conn = new ManagedPeer(
    ours,
    { network: regtest, direction: 'outbound', userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set(), hugeTxThreshold: opts.hugeTxThreshold },
    { type: 'manual', netgroup: 'test', connectedAt: 0, forward: (_peer, event, args) => { if (event === 'blockInvalid') forwardedInvalid.push([...args]); } },
  );
  t.teardown(() => conn.close());
  await conn.ready(5000);
  const indexer = new Indexer();
  const txHashes: string[] = [];
  const streamedHashes: string[] = [];
  const headerHashes: string[] = [];
  const invalid: BlockInvalidEvent[] = [];
  const order: string[] = [];
  const misbehavior: string[] = [];
  conn.on('blockHeader', (h) => headerHashes.push(h.hash.toString('hex')));
  conn.on('blockTx', (tx) => {
    txHashes.push(tx.blockHash.toString('hex'));
    indexer.onTx(tx.blockHash.toString('hex'), tx.txid.toString('hex'));
  });
  conn.on('blockTxStart', (e) => streamedHashes.push(e.blockHash.toString('hex')));
  conn.on('blockTxPiece', (e) => streamedHashes.push(e.blockHash.toString('hex')));
  conn.on('blockTxEnd', (e) => {
    streamedHashes.push(e.blockHash.toString('hex'));
    indexer.onTx(e.blockHash.toString('hex'), e.txid.toString('hex'));
  });
  conn.on('blockInvalid', (e) => {
    order.push('blockInvalid');
    invalid.push(e);
    indexer.onInvalid(e);
  });
  conn.on('close', () => order.push('close'));
  conn.on('misbehavior', (m) => misbehavior.push(m.kind));
  const ended = new Promise<BlockEnd>((resolve) => conn.once('blockEnd', resolve));
  conn.on('blockEnd', (end) => {
    order.push('blockEnd');
    indexer.onEnd(end);
  });
  for (let i = 0; i < frame.length; i += 50) theirs.write(frame.subarray(i, i + 50));
  const end = await ended;
  await new Promise((r) => setImmediate(r));
  return { indexer, txHashes, streamedHashes, headerHashes, invalid, forwardedInvalid, order, misbehavior, end };
}

const hashHex = hash.toString('hex');

t.test('an intact block: three blockTx events carrying its hash, verdict valid, committed', async (t) => {
  const { indexer, txHashes, headerHashes, invalid, forwardedInvalid, order, misbehavior, end } = await deliver(t, encodeFrame(regtest.magic, 'block', payload));
  t.same(headerHashes, [hashHex], 'blockHeader carries the block hash');
  t.same(txHashes, [hashHex, hashHex, hashHex], 'every blockTx carries the block hash');
  t.equal(blockVerdict(end), 'valid');
  t.same(end.hash, hash, 'blockEnd carries the block hash');
  t.same(invalid, [], 'no blockInvalid for a good block');
  t.same(forwardedInvalid, []);
  t.same(order, ['blockEnd'], 'and the connection stays open');
  t.same(indexer.stored.get(hashHex), [coinbase, second, last].map((x) => x.txid.toString('hex')), 'the indexer kept its transactions');
  t.ok(indexer.final.has(hashHex), 'and marked the block final');
  t.same(misbehavior, []);
});

t.test('one byte of the last transaction flipped after framing: blockTx events, then verdict bad-checksum, nothing committed', async (t) => {
  const frame = encodeFrame(regtest.magic, 'block', payload);
  frame[24 + flipAt]! ^= 0x01;
  const { indexer, txHashes, invalid, forwardedInvalid, order, misbehavior, end } = await deliver(t, frame);
  t.equal(txHashes.length, 3, 'the transactions were delivered before the verdict');
  t.equal(end.checksumOk, false);
  t.equal(blockVerdict(end), 'bad-checksum');
  t.equal(invalid.length, 1, 'blockInvalid fired exactly once');
  t.same(invalid[0]?.hash, hash, 'with the block hash');
  t.equal(invalid[0]?.verdict, 'bad-checksum');
  t.equal(invalid[0]?.end, end, 'and the BlockEnd');
  t.equal(forwardedInvalid.length, 1, 'the Manager hook got it once');
  t.equal(forwardedInvalid[0]?.[0], invalid[0]);
  t.same(order.slice(0, 2), ['blockEnd', 'blockInvalid'], 'right after blockEnd, before any close');
  t.equal(indexer.stored.size, 0, 'the indexer rolled the block back on blockInvalid');
  t.equal(indexer.final.size, 0, 'and never marked it final');
  t.same(misbehavior, ['malformed-message'], 'the peer is scored for it');
});

t.test('one byte of the last transaction flipped before framing: checksum good, verdict bad-merkle-root, nothing committed', async (t) => {
  const flipped = Buffer.from(payload);
  flipped[flipAt]! ^= 0x01;
  const { indexer, txHashes, invalid, forwardedInvalid, order, misbehavior, end } = await deliver(t, encodeFrame(regtest.magic, 'block', flipped));
  t.equal(txHashes.length, 3);
  t.equal(end.checksumOk, true);
  t.equal(end.merkleRootOk, false);
  t.equal(blockVerdict(end), 'bad-merkle-root');
  t.equal(invalid.length, 1, 'blockInvalid fired exactly once');
  t.same(invalid[0]?.hash, hash);
  t.equal(invalid[0]?.verdict, 'bad-merkle-root');
  t.equal(invalid[0]?.end, end);
  t.equal(forwardedInvalid.length, 1);
  t.same(order.slice(0, 2), ['blockEnd', 'blockInvalid']);
  t.equal(indexer.stored.size, 0, 'rolled back');
  t.equal(indexer.final.size, 0);
  t.same(misbehavior, ['malformed-message']);
});

t.test('huge transactions streamed in pieces carry the block hash too; the flipped block is still invalid once', async (t) => {
  // 21 bytes: the coinbase and the last transaction (22 bytes) stream as start/pieces/end, the 20-byte one as blockTx.
  const frame = encodeFrame(regtest.magic, 'block', payload);
  frame[24 + flipAt]! ^= 0x01;
  const { indexer, txHashes, streamedHashes, invalid, misbehavior } = await deliver(t, frame, { hugeTxThreshold: 21 });
  t.equal(txHashes.length, 1, 'one ordinary blockTx');
  t.ok(streamedHashes.length >= 6, `${streamedHashes.length} start/piece/end events`);
  t.ok(streamedHashes.every((h) => h === hashHex), 'each carries the block hash');
  t.equal(invalid.length, 1);
  t.equal(invalid[0]?.verdict, 'bad-checksum');
  t.equal(indexer.stored.size, 0, 'rolled back');
  t.equal(indexer.final.size, 0);
  t.same(misbehavior, ['malformed-message']);
});

t.test('blockVerdict without merkle verification', async (t) => {
  t.equal(blockVerdict({ hash, header: { ...header, txCount: 0 } as never, txCount: 1, bytes: 1, checksumOk: true, merkleRootOk: undefined }), 'merkle-root-unchecked');
});

// The indexer contract in the README: blockTx events (which carry the block hash) come before the
// block's checksum and merkle root are known; blockEnd's verdict says whether to keep them. A block
// with one flipped byte in its last transaction, framed before the flip (bad checksum) or after it
// (good checksum, wrong merkle root), ends with a bad verdict and an indexer that buffers per
// block keeps nothing of it; the same block unflipped is kept.
import t, { type Test } from 'tap';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { blockVerdict, type BlockEnd, type BlockVerdict } from '../../lib/index.js';
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

/** The README's indexer: buffer a block's transactions, commit them only on a 'valid' verdict. */
class Indexer {
  readonly committed = new Map<string, string[]>();
  readonly pending = new Map<string, string[]>();
  readonly verdicts: BlockVerdict[] = [];
  onTx(blockHashHex: string, txid: string): void {
    const list = this.pending.get(blockHashHex) ?? [];
    list.push(txid);
    this.pending.set(blockHashHex, list);
  }
  onEnd(end: BlockEnd): void {
    const key = end.hash.toString('hex');
    const txs = this.pending.get(key) ?? [];
    this.pending.delete(key);
    const verdict = blockVerdict(end);
    this.verdicts.push(verdict);
    if (verdict === 'valid') this.committed.set(key, txs);
  }
}

async function deliver(t: Test, frame: Buffer): Promise<{ indexer: Indexer; txHashes: string[]; misbehavior: string[]; end: BlockEnd }> {
  const [ours, theirs] = duplexPair();
  answerHandshake(theirs);
  const conn = new PeerConnection(ours, { network: regtest, direction: 'outbound', userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set() });
  t.teardown(() => conn.close());
  await conn.ready(5000);
  const indexer = new Indexer();
  const txHashes: string[] = [];
  const misbehavior: string[] = [];
  conn.on('blockTx', (tx) => {
    txHashes.push(tx.blockHash.toString('hex'));
    indexer.onTx(tx.blockHash.toString('hex'), tx.txid.toString('hex'));
  });
  conn.on('misbehavior', (m) => misbehavior.push(m.kind));
  const ended = new Promise<BlockEnd>((resolve) => conn.once('blockEnd', resolve));
  conn.on('blockEnd', (end) => indexer.onEnd(end));
  for (let i = 0; i < frame.length; i += 50) theirs.write(frame.subarray(i, i + 50));
  const end = await ended;
  await new Promise((r) => setImmediate(r));
  return { indexer, txHashes, misbehavior, end };
}

t.test('an intact block: three blockTx events carrying its hash, verdict valid, committed', async (t) => {
  const { indexer, txHashes, misbehavior, end } = await deliver(t, encodeFrame(regtest.magic, 'block', payload));
  t.same(txHashes, [hash, hash, hash].map((h) => h.toString('hex')), 'every blockTx carries the block hash');
  t.equal(blockVerdict(end), 'valid');
  t.same(indexer.committed.get(hash.toString('hex')), [coinbase, second, last].map((x) => x.txid.toString('hex')));
  t.same(misbehavior, []);
});

t.test('one byte of the last transaction flipped after framing: blockTx events, then verdict bad-checksum, nothing committed', async (t) => {
  const frame = encodeFrame(regtest.magic, 'block', payload);
  frame[24 + flipAt]! ^= 0x01;
  const { indexer, txHashes, misbehavior, end } = await deliver(t, frame);
  t.equal(txHashes.length, 3, 'the transactions were delivered before the verdict');
  t.equal(end.checksumOk, false);
  t.equal(blockVerdict(end), 'bad-checksum');
  t.equal(indexer.committed.size, 0, 'the indexer rolled the block back');
  t.equal(indexer.pending.size, 0, 'and holds nothing for it');
  t.same(misbehavior, ['malformed-message'], 'the peer is scored for it');
});

t.test('one byte of the last transaction flipped before framing: checksum good, verdict bad-merkle-root, nothing committed', async (t) => {
  const flipped = Buffer.from(payload);
  flipped[flipAt]! ^= 0x01;
  const { indexer, txHashes, misbehavior, end } = await deliver(t, encodeFrame(regtest.magic, 'block', flipped));
  t.equal(txHashes.length, 3);
  t.equal(end.checksumOk, true);
  t.equal(end.merkleRootOk, false);
  t.equal(blockVerdict(end), 'bad-merkle-root');
  t.equal(indexer.committed.size, 0);
  t.same(misbehavior, ['malformed-message']);
});

t.test('blockVerdict without merkle verification', async (t) => {
  t.equal(blockVerdict({ hash, header: { ...header, txCount: 0 } as never, txCount: 1, bytes: 1, checksumOk: true, merkleRootOk: undefined }), 'merkle-root-unchecked');
});

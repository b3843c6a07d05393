import t from 'tap';
import { Readable } from 'node:stream';
import { BlockFrameStream, decodeBlockStream } from '../../lib/block/frames.js';
import { DecodeError, FramingError } from '../../lib/errors.js';
import { encodeFrame } from '../../lib/framing/encoder.js';
import { toDisplayHex } from '../../lib/hash.js';
import { mainnet } from '../../lib/networks.js';
import { buildSyntheticBlock } from '../../bench/synthetic-block.js';
import { referenceDecodeBlock } from './fixtures/reference.js';

function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(Buffer.from(bytes.subarray(at, at + size)));
  return out;
}

const { payload } = buildSyntheticBlock({ targetBytes: 300_000, seed: 8 });
const ping = encodeFrame(mainnet.magic, 'ping', Buffer.alloc(8, 1));
const frame = encodeFrame(mainnet.magic, 'block', payload);

t.test('decodeBlockStream: frame bytes in, transactions and a checked summary out', async (t) => {
  const ref = referenceDecodeBlock(payload);
  for (const size of [1, 1000, 65536]) {
    const txids: string[] = [];
    const summary = await decodeBlockStream(Readable.from(chunks(Buffer.concat([ping, frame]), size)), {
      magic: mainnet.magic,
      verifyMerkleRoot: true,
      onTransaction: (tx) => txids.push(toDisplayHex(tx.txid)),
    });
    t.equal(summary.txCount, ref.txs.length, `${size}-byte chunks: tx count`);
    t.same(txids, ref.txids.map(toDisplayHex), `${size}-byte chunks: txids in order`);
    t.equal(summary.merkleRootOk, true);
    t.equal(summary.bytes, payload.length);
  }
});

t.test('a corrupted payload fails the frame checksum', async (t) => {
  const bad = Buffer.from(frame);
  bad[24 + 200] ^= 0xff; // inside the coinbase script: still walkable
  await t.rejects(decodeBlockStream(chunks(bad, 4096), { magic: mainnet.magic }), { name: 'FramingError', reason: 'bad-checksum' });
  await t.rejects(
    decodeBlockStream(chunks(bad, 4096), { magic: mainnet.magic }),
    FramingError,
  );
});

t.test('frames before the block are skipped, whatever their size, but their checksum still counts', async (t) => {
  const bigTx = encodeFrame(mainnet.magic, 'tx', Buffer.alloc(3_000_000, 7));
  const summary = await decodeBlockStream(chunks(Buffer.concat([ping, bigTx, frame]), 65536), { magic: mainnet.magic });
  t.equal(summary.bytes, payload.length, 'the block after a 3 MB skipped frame decodes');
  const badPing = Buffer.from(ping);
  badPing[24] ^= 0xff;
  await t.rejects(decodeBlockStream(chunks(Buffer.concat([badPing, frame]), 4096), { magic: mainnet.magic }), {
    name: 'FramingError',
    command: 'ping',
    reason: 'bad-checksum',
  });
});

t.test('a source that ends early is a truncation', async (t) => {
  await t.rejects(decodeBlockStream(chunks(frame.subarray(0, 5000), 999), { magic: mainnet.magic }), DecodeError);
  await t.rejects(decodeBlockStream([ping], { magic: mainnet.magic }), { name: 'DecodeError', field: 'frame', reason: 'truncated' });
  const stream = new BlockFrameStream({ magic: mainnet.magic });
  t.equal(stream.push(frame.subarray(0, 100)), undefined);
  t.equal(stream.finished, undefined);
  t.ok(stream.push(frame.subarray(100)), 'summary when the frame completes');
  t.ok(stream.push(ping), 'later bytes are not decoded');
});

t.test('a wrong magic is a framing error', async (t) => {
  await t.rejects(decodeBlockStream([frame], { magic: Buffer.from('0b110907', 'hex') }), { name: 'FramingError', reason: 'bad-magic' });
});

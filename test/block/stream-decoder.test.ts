import t, { type Test } from 'tap';
import { BlockStreamDecoder, type BlockStart, type BlockTransaction } from '../../lib/block/stream-decoder.js';
import { DecodeError } from '../../lib/errors.js';
import { blockHash } from '../../lib/messages/block-header.js';
import { toDisplayHex } from '../../lib/hash.js';
import { buildSyntheticBlock } from '../../bench/synthetic-block.js';
import { assembleBlock, manyItemTx, referenceDecodeBlock } from './fixtures/reference.js';

interface Decoded {
  start: BlockStart | undefined;
  txs: BlockTransaction[];
  merkleRootOk: boolean | undefined;
}

/** Decode `payload` fed in the chunk sizes `sizes` returns, keeping every emitted tx. */
function decodeInChunks(payload: Buffer, nextSize: () => number, verifyMerkleRoot = true): Decoded {
  const txs: BlockTransaction[] = [];
  let start: BlockStart | undefined;
  const decoder = new BlockStreamDecoder({
    payloadLength: payload.length,
    verifyMerkleRoot,
    onHeader: (s) => (start = s),
    onTransaction: (tx) => txs.push(tx),
  });
  for (let at = 0; at < payload.length; ) {
    // Push copies, as a socket would hand out fresh buffers, so views must not depend on `payload`.
    const size = Math.max(1, nextSize());
    decoder.push(Buffer.from(payload.subarray(at, at + size)));
    at += size;
  }
  const summary = decoder.end();
  return { start, txs, merkleRootOk: summary.merkleRootOk };
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

function checkAgainstReference(t: Test, payload: Buffer, decoded: Decoded, label: string): void {
  const ref = referenceDecodeBlock(payload);
  t.equal(decoded.txs.length, ref.txs.length, `${label}: tx count`);
  let mismatches = 0;
  for (let i = 0; i < ref.txs.length; i++) {
    const tx = decoded.txs[i];
    if (!tx || tx.index !== i || !tx.raw.equals(ref.txs[i]!) || !tx.txid.equals(ref.txids[i]!)) mismatches++;
  }
  t.equal(mismatches, 0, `${label}: every tx's index, raw bytes and txid match the whole-payload decode`);
  t.ok(decoded.start?.header.merkleRoot.equals(ref.header.subarray(36, 68)), `${label}: header decoded`);
  t.equal(decoded.merkleRootOk, true, `${label}: merkle root verified`);
}

const GENESIS_HEADER =
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c';
const GENESIS_COINBASE =
  '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000';
const genesis = Buffer.from(GENESIS_HEADER + '01' + GENESIS_COINBASE, 'hex');

t.test('mainnet genesis block', (t) => {
  t.equal(genesis.length, 285);
  for (const size of [1, 80, 81, 285]) {
    const decoded = decodeInChunks(genesis, () => size);
    t.equal(toDisplayHex(decoded.start!.hash), '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f', `hash, ${size}-byte chunks`);
    t.equal(toDisplayHex(blockHash(decoded.start!.header)), '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
    t.equal(decoded.start!.txCount, 1);
    t.equal(decoded.txs.length, 1);
    t.equal(toDisplayHex(decoded.txs[0]!.txid), '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b');
    t.equal(decoded.txs[0]!.raw.toString('hex'), GENESIS_COINBASE);
    t.equal(decoded.merkleRootOk, true);
  }
  const summary = new BlockStreamDecoder({ payloadLength: 285 });
  summary.push(genesis);
  t.same(
    { txCount: summary.end().txCount, bytes: summary.end().bytes, merkleRootOk: summary.end().merkleRootOk },
    { txCount: 1, bytes: 285, merkleRootOk: undefined },
    'merkle root not checked unless asked',
  );
  t.end();
});

t.test('streaming decode equals whole-payload decode', (t) => {
  const small = buildSyntheticBlock({ targetBytes: 60_000, seed: 3 }).payload;
  checkAgainstReference(t, small, decodeInChunks(small, () => 1), '1-byte chunks');

  const { payload: large, info } = buildSyntheticBlock({ targetBytes: 4_000_000, seed: 11 });
  t.ok(info.dataTxCount >= 2 && info.largestTx > 65536, 'the 4 MB block has data txs larger than a chunk');
  checkAgainstReference(t, large, decodeInChunks(large, () => 65536), '64 KiB chunks');
  checkAgainstReference(t, large, decodeInChunks(large, () => large.length), 'one chunk');
  const rnd = seeded(5);
  checkAgainstReference(t, large, decodeInChunks(large, () => Math.floor(rnd() ** 3 * 200_000)), 'random chunk sizes');
  const rnd2 = seeded(9);
  checkAgainstReference(t, large, decodeInChunks(large, () => 1 + Math.floor(rnd2() * 700)), 'small random chunks');
  t.end();
});

t.test('transactions of many items straddling many chunks', (t) => {
  const block = assembleBlock([manyItemTx(1, 1, 1), manyItemTx(20_000, 30_000, 2), manyItemTx(3, 70_000, 3), manyItemTx(1, 2, 4)]);
  for (const size of [1000, 4096, 65536, 999_983]) {
    checkAgainstReference(t, block, decodeInChunks(block, () => size), `${size}-byte chunks`);
  }
  t.end();
});

t.test('a 2 MB transaction of 200,000 outputs in 64-byte chunks is not re-walked per chunk', (t) => {
  // Re-walking from the tx start on each of the 31,000 chunks would take billions of steps
  // (the test would time out); walking when the carry has doubled takes a few dozen walks.
  const block = assembleBlock([manyItemTx(1, 1, 1), manyItemTx(1, 200_000, 2)]);
  checkAgainstReference(t, block, decodeInChunks(block, () => 64), '64-byte chunks');
  t.end();
});

t.test('merkle root mismatch is reported, not thrown', (t) => {
  const { payload } = buildSyntheticBlock({ targetBytes: 20_000, seed: 4 });
  const tampered = Buffer.from(payload);
  tampered[36] ^= 1;
  const decoded = decodeInChunks(tampered, () => 4096);
  t.equal(decoded.merkleRootOk, false);
  t.end();
});

function decodeError(payload: Buffer, payloadLength: number, chunkSize: number): unknown {
  try {
    const decoder = new BlockStreamDecoder({ payloadLength, verifyMerkleRoot: true });
    for (let at = 0; at < payload.length; at += chunkSize) decoder.push(payload.subarray(at, at + chunkSize));
    decoder.end();
    return undefined;
  } catch (err) {
    return err;
  }
}

t.test('truncation at every offset is a typed error', (t) => {
  const block = assembleBlock([Buffer.from(GENESIS_COINBASE, 'hex'), manyItemTx(2, 3, 1)]);
  let wrong = 0;
  for (let cut = 0; cut < block.length; cut++) {
    const err = decodeError(block.subarray(0, cut), block.length, 7);
    if (!(err instanceof DecodeError) || err.command !== 'block' || err.reason !== 'truncated') wrong++;
  }
  t.equal(wrong, 0, 'a payload cut short gives DecodeError(block, *, truncated) at end()');
  t.match(decodeError(block.subarray(0, 100), block.length, 7), { field: 'txs[0]', reason: 'truncated' });
  t.match(decodeError(block.subarray(0, 50), block.length, 7), { field: 'header', reason: 'truncated' });
  // A payload whose declared length is too short for what its transactions say.
  let early = 0;
  for (let cut = 90; cut < block.length; cut++) {
    const err = decodeError(block.subarray(0, cut), cut, 13);
    const typed = err instanceof DecodeError && (err.reason === 'truncated' || err.reason === 'too-large');
    if (!typed || !/^(txs\[|txCount)/.test(err.field)) early++;
  }
  t.equal(early, 0, 'a declared length that cuts a transaction is refused (truncated, or counts that cannot fit)');
  t.end();
});

t.test('malformed payloads give typed errors', (t) => {
  const block = assembleBlock([manyItemTx(1, 1, 1), manyItemTx(1, 1, 2)]);
  t.match(decodeError(Buffer.concat([block, Buffer.alloc(3)]), block.length + 3, 64), {
    name: 'DecodeError',
    field: 'payload',
    reason: 'trailing-bytes',
  });
  t.match(decodeError(Buffer.concat([block, Buffer.alloc(1)]), block.length, 1000), { field: 'payload', reason: 'trailing-bytes' }, 'more bytes than declared');

  const withCount = (count: number[]) => Buffer.concat([block.subarray(0, 80), Buffer.from(count), block.subarray(81)]);
  t.match(decodeError(withCount([0xfd, 2, 0]), block.length + 2, 5), { field: 'txCount', reason: 'non-canonical' });
  t.match(decodeError(withCount([0xfe, 0xff, 0xff, 0xff, 0x0f]), block.length + 4, 5), { field: 'txCount', reason: 'too-large' });
  t.match(decodeError(withCount([0xff, 1, 0, 0, 0, 0, 0, 0, 0]), block.length + 8, 5), { field: 'txCount', reason: 'too-large' });
  t.match(decodeError(withCount([0]), block.length, 5), { field: 'txCount', reason: 'invalid-value' });
  t.match(decodeError(withCount([3]), block.length, 5), { field: 'txs[2]', reason: 'truncated' });
  t.match(decodeError(Buffer.alloc(10), 10, 5), { field: 'header', reason: 'truncated' });

  const badScript = Buffer.from(block);
  badScript[81 + 4 + 1 + 36] = 0xfd; // script length prefix of the first input: non-canonical 0xfd 0x03 0x00
  badScript[81 + 4 + 1 + 37] = 0x03;
  badScript[81 + 4 + 1 + 38] = 0x00;
  t.match(decodeError(badScript, badScript.length, 16), { field: 'txs[0].varint', reason: 'non-canonical' });

  const tooManyInputs = Buffer.from(block);
  tooManyInputs[81 + 4] = 0xfc; // the first transaction's input count
  t.match(
    decodeError(tooManyInputs, tooManyInputs.length, 16),
    { field: 'txs[0].inputs', reason: 'too-large', detail: '252 inputs cannot fit', message: 'block: txs[0].inputs: too-large (252 inputs cannot fit)' },
    'a transaction error is re-homed under its index with its detail kept',
  );

  const decoder = new BlockStreamDecoder({ payloadLength: 10 });
  t.throws(() => decoder.push(Buffer.alloc(10)), DecodeError);
  t.throws(() => decoder.push(Buffer.alloc(0)), DecodeError, 'a failed decoder keeps refusing');
  t.throws(() => decoder.end(), DecodeError);
  t.end();
});

t.test('random garbage never crashes', (t) => {
  const rnd = seeded(77);
  const base = assembleBlock([manyItemTx(2, 2, 1), manyItemTx(3, 1, 2), manyItemTx(1, 4, 3)]);
  let untyped = 0;
  let decodedFine = 0;
  for (let round = 0; round < 3000; round++) {
    let payload: Buffer;
    if (round % 2 === 0) {
      payload = Buffer.from(base);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < flips; i++) payload[80 + Math.floor(rnd() * (payload.length - 80))] = Math.floor(rnd() * 256);
    } else {
      payload = Buffer.alloc(Math.floor(rnd() * 400));
      for (let i = 0; i < payload.length; i++) payload[i] = Math.floor(rnd() * 256);
    }
    const err = decodeError(payload, payload.length, 1 + Math.floor(rnd() * 64));
    if (err === undefined) decodedFine++;
    else if (!(err instanceof DecodeError)) untyped++;
  }
  t.equal(untyped, 0, 'every failure is a DecodeError');
  t.ok(decodedFine > 0, 'some mutations still decode (e.g. inside scripts)');
  t.end();
});

t.test('bad options', (t) => {
  t.throws(() => new BlockStreamDecoder({ payloadLength: -1 }), RangeError);
  t.throws(() => new BlockStreamDecoder({ payloadLength: 1.5 }), RangeError);
  const decoder = new BlockStreamDecoder({ payloadLength: 285 });
  decoder.push(genesis);
  decoder.end();
  t.throws(() => decoder.push(Buffer.alloc(1)), /after end/);
  t.end();
});

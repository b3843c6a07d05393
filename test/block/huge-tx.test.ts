import t, { type Test } from 'tap';
import { BlockStreamDecoder, type BlockStreamDecoderOptions } from '../../lib/block/stream-decoder.js';
import { TxStreamDecoder } from '../../lib/block/tx-stream.js';
import { DecodeError } from '../../lib/errors.js';
import { sha256d } from '../../lib/hash.js';
import { seededRandom } from '../helpers/prng.js';
import { assembleBlock, manyItemTx, referenceDecodeBlock } from './fixtures/reference.js';
import { compactSize } from '../messages/data-fixtures.js';

/** What a decode delivered: each tx's bytes (whole, or its pieces joined) and txid, and which were streamed. */
interface Delivered {
  raws: Buffer[];
  txids: Buffer[];
  streamed: number[];
  merkleRootOk: boolean | undefined;
  /** Events out of order (a piece before its start, a gap between pieces, ...). */
  orderErrors: string[];
}

function decodeWith(payload: Buffer, threshold: number, chunkAt: (at: number) => number, extra: Partial<BlockStreamDecoderOptions> = {}): Delivered {
  const out: Delivered = { raws: [], txids: [], streamed: [], merkleRootOk: undefined, orderErrors: [] };
  let open: { index: number; pieces: Buffer[]; size: number } | undefined;
  const decoder = new BlockStreamDecoder({
    payloadLength: payload.length,
    verifyMerkleRoot: true,
    hugeTxThreshold: threshold,
    onTransaction: (tx) => {
      if (open) out.orderErrors.push(`whole tx ${tx.index} inside huge tx ${open.index}`);
      if (tx.index !== out.raws.length) out.orderErrors.push(`tx ${tx.index} out of order`);
      out.raws.push(Buffer.from(tx.raw));
      out.txids.push(tx.txid);
    },
    onTransactionStart: (s) => {
      if (open || s.index !== out.raws.length) out.orderErrors.push(`start ${s.index} out of order`);
      open = { index: s.index, pieces: [], size: 0 };
    },
    onTransactionPiece: (p) => {
      if (!open || p.index !== open.index || p.offset !== open.size || p.bytes.length === 0) out.orderErrors.push(`piece of ${p.index} at ${p.offset} out of order`);
      open?.pieces.push(Buffer.from(p.bytes));
      if (open) open.size += p.bytes.length;
    },
    onTransactionEnd: (e) => {
      if (!open || e.index !== open.index || e.size !== open.size) out.orderErrors.push(`end of ${e.index} does not match its pieces`);
      out.raws.push(Buffer.concat(open?.pieces ?? []));
      out.txids.push(e.txid);
      out.streamed.push(e.index);
      open = undefined;
    },
    ...extra,
  });
  for (let at = 0; at < payload.length; ) {
    const size = Math.max(1, Math.min(chunkAt(at), payload.length - at));
    decoder.push(Buffer.from(payload.subarray(at, at + size))); // fresh buffers, as a socket hands out
    at += size;
  }
  out.merkleRootOk = decoder.end().merkleRootOk;
  return out;
}

/** A tx with one input and outputs whose scripts are `scriptSizes` bytes (seeded content). */
function bigScriptTx(scriptSizes: number[], seed: number): Buffer {
  const rnd = seededRandom(seed);
  const parts: Buffer[] = [Buffer.from([1, 0, 0, 0, 1]), Buffer.alloc(36, seed), Buffer.from([2, 0x51, 0x51]), Buffer.alloc(4, 0xff), compactSize(scriptSizes.length)];
  for (const size of scriptSizes) {
    const script = Buffer.alloc(size);
    for (let i = 0; i < size; i += 97) script[i] = Math.floor(rnd() * 256);
    parts.push(Buffer.alloc(8, 1), compactSize(size), script);
  }
  parts.push(Buffer.from([0, 0, 0, 0]));
  return Buffer.concat(parts);
}

function check(t: Test, payload: Buffer, got: Delivered, threshold: number, label: string): void {
  const ref = referenceDecodeBlock(payload);
  t.same(got.orderErrors, [], `${label}: events in order, pieces contiguous`);
  t.equal(got.raws.length, ref.txs.length, `${label}: every tx delivered`);
  let wrong = 0;
  for (let i = 0; i < ref.txs.length; i++) {
    if (!got.raws[i]?.equals(ref.txs[i]!) || !got.txids[i]?.equals(ref.txids[i]!)) wrong++;
  }
  t.equal(wrong, 0, `${label}: bytes and txid of every tx equal the whole-buffer decode`);
  const expectStreamed = ref.txs.flatMap((tx, i) => (tx.length > threshold ? [i] : []));
  t.same(got.streamed, expectStreamed, `${label}: exactly the txs over ${threshold} bytes were streamed`);
  t.equal(got.merkleRootOk, true, `${label}: merkle root matches`);
}

// Small thresholds make "huge" cheap to build, so every chunking can be tried.
const txs = [
  manyItemTx(1, 1, 1), // small coinbase-like
  manyItemTx(300, 500, 2), // 18 KB of small items: walked item by item
  bigScriptTx([5000, 70_000, 3, 300_000], 3), // long scripts: 0xfd and 0xfe lengths
  manyItemTx(2, 3, 4),
  bigScriptTx([0, 40_000], 5),
  manyItemTx(1, 2, 6), // a small tx last
];
const block = assembleBlock(txs);
const boundaries: number[] = [];
for (let at = 81, i = 0; i < txs.length; at += txs[i]!.length, i++) boundaries.push(at);

t.test('huge transactions stream as start/pieces/end with the right txid, in any chunking', (t) => {
  for (const threshold of [1000, 20_000, 100_000]) {
    check(t, block, decodeWith(block, threshold, () => 65536), threshold, `threshold ${threshold}, 64 KiB chunks`);
    check(t, block, decodeWith(block, threshold, () => block.length), threshold, `threshold ${threshold}, one chunk`);
    // 1-byte chunks within 40 bytes of every tx boundary and of every threshold crossing, 4 KiB elsewhere.
    const marks = boundaries.flatMap((b) => [b, b + threshold, b + threshold + 1]);
    const near = (at: number): boolean => marks.some((m) => Math.abs(at - m) <= 40);
    check(t, block, decodeWith(block, threshold, (at) => (near(at) ? 1 : 4096 - (at % 4096) || 1)), threshold, `threshold ${threshold}, 1 byte at boundaries`);
    for (const seed of [1, 2, 3]) {
      const rnd = seededRandom(seed * 1000 + threshold);
      check(t, block, decodeWith(block, threshold, () => 1 + Math.floor(rnd() ** 3 * 150_000)), threshold, `threshold ${threshold}, random chunks seed ${seed}`);
    }
  }
  const rnd = seededRandom(42);
  check(t, block, decodeWith(block, 0, () => 1 + Math.floor(rnd() * 3000)), 0, 'threshold 0: every tx streamed');
  check(t, block, decodeWith(block, Infinity, () => 65536), Infinity, 'threshold Infinity: none streamed');
  t.end();
});

t.test('the threshold is exact: a tx of exactly the threshold is whole, one byte more streams', (t) => {
  const size = txs[1]!.length;
  for (const chunk of [1, 777, 65536, block.length]) {
    check(t, block, decodeWith(block, size, () => chunk), size, `threshold = size, ${chunk}-byte chunks`);
    check(t, block, decodeWith(block, size - 1, () => chunk), size - 1, `threshold = size - 1, ${chunk}-byte chunks`);
  }
  t.end();
});

t.test('a huge tx of many small items is walked once, not re-walked per chunk', (t) => {
  // 600,000 outputs in 16-byte chunks: ~470,000 chunks. A re-walk per chunk would not finish.
  const many = assembleBlock([manyItemTx(1, 1, 1), manyItemTx(1, 600_000, 2)]);
  check(t, many, decodeWith(many, 50_000, () => 16), 50_000, '16-byte chunks');
  t.end();
});

t.test('the carry never holds much more than the threshold', (t) => {
  // Without a huge-tx path the carry doubles past the tx size; with it, it stops at threshold + 1.
  const many = assembleBlock([manyItemTx(1, 1, 1), manyItemTx(1, 300_000, 2)]);
  let maxCarry = 0;
  const decoder = new BlockStreamDecoder({ payloadLength: many.length, hugeTxThreshold: 100_000 });
  const carryOf = (): number => (decoder as unknown as { carry: Buffer | null }).carry?.length ?? 0;
  for (let at = 0; at < many.length; at += 1000) {
    decoder.push(many.subarray(at, at + 1000));
    maxCarry = Math.max(maxCarry, carryOf());
  }
  decoder.end();
  t.ok(maxCarry <= 100_001, `largest carry ${maxCarry} bytes for a ${many.length}-byte tx, threshold 100,000`);
  t.end();
});

function decodeFailure(payload: Buffer, declared: number, threshold: number, chunk: number): unknown {
  try {
    const decoder = new BlockStreamDecoder({ payloadLength: declared, hugeTxThreshold: threshold, verifyMerkleRoot: true });
    for (let at = 0; at < payload.length; at += chunk) decoder.push(payload.subarray(at, at + chunk));
    decoder.end();
    return undefined;
  } catch (err) {
    return err;
  }
}

t.test('truncation inside a huge tx is a typed DecodeError', (t) => {
  const small = assembleBlock([manyItemTx(1, 1, 1), manyItemTx(3, 40, 2), bigScriptTx([300, 2000], 3)]);
  const hugeFrom = 81 + txs[0]!.length; // the second tx starts here
  let wrong = 0;
  let cuts = 0;
  for (let cut = hugeFrom; cut < small.length; cut++) {
    for (const chunk of [1, 61]) {
      cuts++;
      const err = decodeFailure(small.subarray(0, cut), small.length, 100, chunk);
      // The field names the tx the walk waits on (a small one may wait for a carry to fill past its end).
      if (!(err instanceof DecodeError) || err.reason !== 'truncated' || !/^txs\[[012]\]/.test(err.field)) wrong++;
    }
  }
  t.equal(wrong, 0, `${cuts} cuts inside or after the huge txs: each DecodeError(block, txs[i]..., truncated)`);
  t.match(decodeFailure(small.subarray(0, small.length - 1), small.length, 100, 1), { field: 'txs[2].lockTime', reason: 'truncated' }, 'cut in the last huge tx');
  t.match(decodeFailure(small.subarray(0, hugeFrom + 50), small.length, 10, 7), { field: /^txs\[1\]\.inputs\[1\]/, reason: 'truncated' }, 'the field says where the walk stopped');
  t.end();
});

t.test('malformed input inside a huge tx is a typed DecodeError', (t) => {
  const at = 81 + txs[0]!.length; // the 18 KB tx, streamed with threshold 1000
  const firstScriptLen = at + 4 + 3 + 36; // version, 0xfd count, outpoint
  const nonCanonical = Buffer.from(block);
  nonCanonical[firstScriptLen] = 0xfd;
  nonCanonical[firstScriptLen + 1] = 3;
  nonCanonical[firstScriptLen + 2] = 0;
  for (const chunk of [1, 2, 50, 4096]) {
    t.match(decodeFailure(nonCanonical, nonCanonical.length, 10, chunk), { name: 'DecodeError', field: /^txs\[1\]\.(inputs\[0\]\.script|varint)$/, reason: 'non-canonical' }, `non-canonical length, ${chunk}-byte chunks`);
  }
  const late = Buffer.from(block); // a non-canonical length far into the tx, after the threshold
  const outCount = at + 4 + 3 + 300 * 44;
  late[outCount + 3 + 10 * 100 + 8] = 0xfe;
  t.match(decodeFailure(late, late.length, 1000, 333), { field: 'txs[1].outputs[100].script', reason: 'non-canonical' });

  const tooMany = Buffer.from(block);
  tooMany.writeUInt16LE(0xfff0, at + 5); // the input count: 65,520 inputs cannot fit
  t.match(decodeFailure(tooMany, tooMany.length, 10, 100), { field: 'txs[1].inputs', reason: 'too-large' });
  const pastEnd = Buffer.from(block); // a script length that runs past the payload
  pastEnd[at + 4 + 3 + 36] = 0xfe;
  pastEnd.writeUInt32LE(0x7fffffff, at + 4 + 3 + 37);
  t.match(decodeFailure(pastEnd, pastEnd.length, 10, 100), { field: 'txs[1].inputs[0].script', reason: 'truncated' });

  const trailing = Buffer.concat([block, Buffer.alloc(5)]);
  t.match(decodeFailure(trailing, trailing.length, 10, 4096), { field: 'payload', reason: 'trailing-bytes' }, 'bytes after a streamed last tx');

  const rnd = seededRandom(99);
  let untyped = 0;
  for (let round = 0; round < 400; round++) {
    const mutated = Buffer.from(block.subarray(0, 30_000));
    for (let i = 0; i < 4; i++) mutated[81 + Math.floor(rnd() * (mutated.length - 81))] = Math.floor(rnd() * 256);
    const err = decodeFailure(mutated, block.length, 500, 1 + Math.floor(rnd() * 900));
    if (!(err instanceof DecodeError)) untyped++;
  }
  t.equal(untyped, 0, 'mutated and cut blocks always fail with a DecodeError');
  t.end();
});

t.test('bad threshold option', (t) => {
  t.throws(() => new BlockStreamDecoder({ payloadLength: 100, hugeTxThreshold: -1 }), RangeError);
  t.throws(() => new BlockStreamDecoder({ payloadLength: 100, hugeTxThreshold: 1.5 }), RangeError);
  t.throws(() => new BlockStreamDecoder({ payloadLength: 100, hugeTxThreshold: NaN }), RangeError);
  t.end();
});

t.test('TxStreamDecoder: a tx payload in pieces gives its txid', (t) => {
  for (const tx of [txs[1]!, txs[2]!, manyItemTx(1, 1, 9)]) {
    for (const seed of [1, 2, 3, 4]) {
      const rnd = seededRandom(seed);
      const pieces: Buffer[] = [];
      let started = -1;
      const decoder = new TxStreamDecoder({ payloadLength: tx.length, onStart: (s) => (started = s.size), onPiece: (p) => pieces.push(Buffer.from(p.bytes)) });
      for (let at = 0; at < tx.length; ) {
        const size = seed === 1 ? 1 : 1 + Math.floor(rnd() * 5000);
        decoder.push(tx.subarray(at, at + size));
        at += size;
      }
      const end = decoder.end();
      t.ok(end.txid.equals(sha256d(tx)) && end.size === tx.length && started === tx.length && Buffer.concat(pieces).equals(tx), `${tx.length}-byte tx, chunking ${seed}`);
    }
  }
  t.end();
});

t.test('TxStreamDecoder: malformed and cut payloads are typed errors', (t) => {
  const tx = txs[1]!;
  const run = (payload: Buffer, declared: number, chunk: number): unknown => {
    try {
      const d = new TxStreamDecoder({ payloadLength: declared });
      for (let at = 0; at < payload.length; at += chunk) d.push(payload.subarray(at, at + chunk));
      d.end();
      return undefined;
    } catch (err) {
      return err;
    }
  };
  let wrong = 0;
  for (let cut = 0; cut < tx.length; cut += 7) {
    const err = run(tx.subarray(0, cut), tx.length, 13);
    if (!(err instanceof DecodeError) || err.command !== 'tx' || err.reason !== 'truncated') wrong++;
  }
  t.equal(wrong, 0, 'every cut: DecodeError(tx, ..., truncated)');
  t.match(run(Buffer.concat([tx, Buffer.alloc(3)]), tx.length + 3, 1000), { command: 'tx', field: 'end', reason: 'trailing-bytes' });
  t.match(run(Buffer.concat([tx, Buffer.alloc(3)]), tx.length + 3, tx.length), { command: 'tx', field: 'end', reason: 'trailing-bytes' }, 'trailing bytes in a later chunk');
  t.match(run(tx, tx.length - 10, 100), { command: 'tx', reason: /truncated|trailing-bytes|too-large/ }, 'declared shorter than the tx');
  const d = new TxStreamDecoder({ payloadLength: 4 });
  t.throws(() => d.push(Buffer.alloc(5)), DecodeError);
  t.throws(() => d.push(Buffer.alloc(1)), DecodeError, 'a failed decoder keeps refusing');
  t.end();
});

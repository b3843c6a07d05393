/**
 * An independent whole-payload block decoder for tests: reads every field with PayloadReader
 * (not walkTx), so the streaming decoder is checked against a different implementation.
 */
import { PayloadReader } from '../../lib/encoding/reader.js';
import { sha256d } from '../../lib/hash.js';
import { merkleRoot } from '../../lib/block/merkle.js';

export interface ReferenceBlock {
  readonly header: Buffer;
  readonly txs: Buffer[];
  readonly txids: Buffer[];
}

export function referenceDecodeBlock(payload: Buffer): ReferenceBlock {
  const r = new PayloadReader(payload, 'block');
  const header = r.bytes('header', 80);
  const count = r.count('txCount', 10, 0xffffffff);
  const txs: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const start = r.offset;
    r.bytes('version', 4);
    const nIn = r.count('inputs', 41, 0xffffffff);
    for (let j = 0; j < nIn; j++) {
      r.bytes('outpoint', 36);
      r.varBytes('script', 0xffffffff);
      r.bytes('sequence', 4);
    }
    const nOut = r.count('outputs', 9, 0xffffffff);
    for (let j = 0; j < nOut; j++) {
      r.bytes('value', 8);
      r.varBytes('script', 0xffffffff);
    }
    r.bytes('lockTime', 4);
    txs.push(payload.subarray(start, r.offset));
  }
  r.end();
  return { header, txs, txids: txs.map((tx) => sha256d(tx)) };
}

/** A block payload around the given transactions, with a valid merkle root. */
export function assembleBlock(txs: readonly Buffer[]): Buffer {
  const header = Buffer.alloc(80);
  header.writeInt32LE(1, 0);
  merkleRoot(txs.map((tx) => sha256d(tx)))!.copy(header, 36);
  header.writeUInt32LE(1_600_000_000, 68);
  const n = txs.length;
  const count = n < 0xfd ? Buffer.from([n]) : Buffer.from([0xfd, n & 0xff, n >> 8]);
  return Buffer.concat([header, count, ...txs]);
}

/** A transaction with `inputs` small inputs and `outputs` small outputs (many items straddle chunks). */
export function manyItemTx(inputs: number, outputs: number, seed: number): Buffer {
  const parts: Buffer[] = [Buffer.from([1, 0, 0, 0]), compactSize(inputs)];
  for (let i = 0; i < inputs; i++) {
    const input = Buffer.alloc(36 + 1 + 3 + 4);
    input.writeUInt32LE(seed, 0);
    input.writeUInt32LE(i, 32);
    input[36] = 3;
    input.writeUInt32LE(0xffffffff, 40);
    parts.push(input);
  }
  parts.push(compactSize(outputs));
  for (let i = 0; i < outputs; i++) {
    const output = Buffer.alloc(8 + 1 + 1);
    output.writeUInt32LE(i + seed, 0);
    output[8] = 1;
    output[9] = 0x51;
    parts.push(output);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

function compactSize(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  if (n <= 0xffff) {
    const b = Buffer.alloc(3);
    b[0] = 0xfd;
    b.writeUInt16LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 0xfe;
  b.writeUInt32LE(n, 1);
  return b;
}

/**
 * Deterministic synthetic BSV blocks for tests and benchmarks.
 *
 * Mostly 1-input/2-output P2PKH transactions (226 bytes) plus, about one in 1,200, a data
 * transaction (OP_FALSE OP_RETURN) of 10 KB to 1 MB, log-uniform: about 400 bytes per
 * transaction on average, like the mix described in PERFORMANCE.md. The merkle root is valid.
 *
 * The payload is produced in two passes over the same seeded generator: the first computes the
 * merkle root (the header comes first on the wire), the second yields the bytes. So a block of
 * any size can be streamed chunk by chunk without ever being held whole.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { MerkleRootBuilder } from '../lib/messages/merkle.js';
import { sha256d } from '../lib/hash.js';
import { seededRandom as prng } from '../test/helpers/prng.js';

export interface SyntheticBlockSpec {
  /** Approximate payload size in bytes; the last transaction may overshoot by its size. */
  readonly targetBytes: number;
  readonly seed?: number;
}

export interface SyntheticBlockInfo {
  /** The 80 header bytes. */
  readonly header: Buffer;
  readonly merkleRoot: Buffer;
  /** Block hash, wire order. */
  readonly hash: Buffer;
  readonly payloadLength: number;
  readonly txCount: number;
  readonly largestTx: number;
  readonly dataTxCount: number;
  /** The last transaction's txid, wire order. */
  readonly lastTxid: Buffer;
}

const P2PKH_TX_SIZE = 226;
const DATA_TX_PROBABILITY = 1 / 1200;
const DATA_TX_MIN = 10_000;
const DATA_TX_MAX = 1_000_000;
const KEYSTREAM_POOL = 1 << 16;

/**
 * Seeded pseudo-random bytes without allocating: a 64 KiB pool refilled in place by
 * xorshift128 (the generator's garbage would otherwise dominate the memory test).
 */
class Keystream {
  private readonly pool = Buffer.alloc(KEYSTREAM_POOL);
  private readonly words = new Uint32Array(this.pool.buffer, this.pool.byteOffset, KEYSTREAM_POOL / 4);
  private pos = KEYSTREAM_POOL;
  private x: number;
  private y = 362436069;
  private z = 521288629;
  private w = 88675123;
  constructor(seed: number) {
    this.x = (seed * 2654435761) >>> 0 || 123456789;
  }
  /** Copy `n` pseudo-random bytes into target[at, at + n). */
  fill(target: Buffer, at: number, n: number): void {
    while (n > 0) {
      if (this.pos === KEYSTREAM_POOL) this.refill();
      const take = Math.min(n, KEYSTREAM_POOL - this.pos);
      this.pool.copy(target, at, this.pos, this.pos + take);
      this.pos += take;
      at += take;
      n -= take;
    }
  }
  private refill(): void {
    const words = this.words;
    let { x, y, z, w } = this;
    for (let i = 0; i < words.length; i++) {
      const t = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
      words[i] = w;
    }
    Object.assign(this, { x, y, z, w });
    this.pos = 0;
  }
}

function writeVarInt(buf: Buffer, at: number, n: number): number {
  if (n < 0xfd) {
    buf[at] = n;
    return at + 1;
  }
  if (n <= 0xffff) {
    buf[at] = 0xfd;
    buf.writeUInt16LE(n, at + 1);
    return at + 3;
  }
  buf[at] = 0xfe;
  buf.writeUInt32LE(n, at + 1);
  return at + 5;
}

function varIntSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5;
}

/** A P2PKH input spending a random outpoint: 148 bytes. */
function writeP2pkhInput(buf: Buffer, at: number, ks: Keystream, rnd: () => number): number {
  ks.fill(buf, at, 32); // previous txid
  buf.writeUInt32LE(Math.floor(rnd() * 4), at + 32);
  buf[at + 36] = 107; // script: <72-byte sig> <33-byte pubkey>
  buf[at + 37] = 72;
  ks.fill(buf, at + 38, 72);
  buf[at + 110] = 33;
  buf[at + 111] = 0x02;
  ks.fill(buf, at + 112, 32);
  buf.writeUInt32LE(0xffffffff, at + 144);
  return at + 148;
}

/** A P2PKH output: 34 bytes. */
function writeP2pkhOutput(buf: Buffer, at: number, ks: Keystream, satoshis: number): number {
  buf.writeBigUInt64LE(BigInt(satoshis), at);
  buf[at + 8] = 25;
  buf[at + 9] = 0x76; // OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG
  buf[at + 10] = 0xa9;
  buf[at + 11] = 20;
  ks.fill(buf, at + 12, 20);
  buf[at + 32] = 0x88;
  buf[at + 33] = 0xac;
  return at + 34;
}

function writeCoinbaseTx(tx: Buffer, ks: Keystream): number {
  let p = tx.writeInt32LE(1, 0);
  tx[p++] = 1;
  tx.fill(0, p, p + 32); // null prevout hash
  p += 32;
  p = tx.writeUInt32LE(0xffffffff, p);
  tx[p++] = 24;
  ks.fill(tx, p, 24);
  p += 24;
  p = tx.writeUInt32LE(0xffffffff, p);
  tx[p++] = 1;
  p = writeP2pkhOutput(tx, p, ks, 625_000_000);
  return tx.writeUInt32LE(0, p);
}

function writeP2pkhTx(tx: Buffer, ks: Keystream, rnd: () => number): number {
  let p = tx.writeInt32LE(1, 0);
  tx[p++] = 1;
  p = writeP2pkhInput(tx, p, ks, rnd);
  tx[p++] = 2;
  p = writeP2pkhOutput(tx, p, ks, Math.floor(rnd() * 1e8));
  p = writeP2pkhOutput(tx, p, ks, Math.floor(rnd() * 1e8));
  return tx.writeUInt32LE(0, p);
}

/** OP_FALSE OP_RETURN OP_PUSHDATA4 <data>, plus a P2PKH change output; `size` bytes in all. */
function writeDataTx(tx: Buffer, ks: Keystream, rnd: () => number, size: number): number {
  // Fixed part: version 4, nIn 1, input 148, nOut 1, change 34, value 8, lock 4 = 200.
  let dataLen = size - 200 - 7 - 5;
  const scriptLen = 7 + dataLen;
  dataLen -= varIntSize(scriptLen) - 5;
  let p = tx.writeInt32LE(1, 0);
  tx[p++] = 1;
  p = writeP2pkhInput(tx, p, ks, rnd);
  tx[p++] = 2;
  p = tx.writeBigUInt64LE(0n, p);
  p = writeVarInt(tx, p, 7 + dataLen);
  tx[p++] = 0x00; // OP_FALSE
  tx[p++] = 0x6a; // OP_RETURN
  tx[p++] = 0x4e; // OP_PUSHDATA4
  p = tx.writeUInt32LE(dataLen, p);
  ks.fill(tx, p, dataLen);
  p += dataLen;
  p = writeP2pkhOutput(tx, p, ks, Math.floor(rnd() * 1e6));
  return tx.writeUInt32LE(0, p);
}

/**
 * The block's transactions in order: the same sequence for the same spec, every time.
 * Each is a view into one reused scratch buffer, valid until the next iteration.
 */
export function* syntheticTransactions(spec: SyntheticBlockSpec): Generator<Buffer> {
  const seed = spec.seed ?? 1;
  const ks = new Keystream(seed);
  const rnd = prng(seed);
  const scratch = Buffer.allocUnsafe(DATA_TX_MAX + 256);
  const budget = spec.targetBytes - 80 - 5;
  let size = writeCoinbaseTx(scratch, ks);
  let total = size;
  yield scratch.subarray(0, size);
  while (total < budget) {
    if (rnd() < DATA_TX_PROBABILITY) {
      size = writeDataTx(scratch, ks, rnd, Math.floor(DATA_TX_MIN * Math.pow(DATA_TX_MAX / DATA_TX_MIN, rnd())));
    } else {
      size = writeP2pkhTx(scratch, ks, rnd);
    }
    total += size;
    yield scratch.subarray(0, size);
  }
}

/** First pass: txids, merkle root, header and sizes, without keeping any transaction. */
export function planSyntheticBlock(spec: SyntheticBlockSpec): SyntheticBlockInfo {
  const merkle = new MerkleRootBuilder();
  let txBytes = 0;
  let largestTx = 0;
  let dataTxCount = 0;
  let lastTxid: Buffer = Buffer.alloc(32);
  for (const tx of syntheticTransactions(spec)) {
    lastTxid = sha256d(tx);
    merkle.add(lastTxid);
    txBytes += tx.length;
    if (tx.length > largestTx) largestTx = tx.length;
    if (tx.length > P2PKH_TX_SIZE) dataTxCount++;
  }
  const merkleRoot = merkle.root()!;
  const header = Buffer.alloc(80);
  header.writeInt32LE(0x20000000, 0);
  createHash('sha256').update(`prev:${spec.seed ?? 1}`).digest().copy(header, 4);
  merkleRoot.copy(header, 36);
  header.writeUInt32LE(1_700_000_000, 68);
  header.writeUInt32LE(0x1d00ffff, 72);
  header.writeUInt32LE((spec.seed ?? 1) * 2654435761 >>> 0, 76);
  return {
    header,
    merkleRoot,
    hash: sha256d(header),
    payloadLength: 80 + varIntSize(merkle.size) + txBytes,
    txCount: merkle.size,
    largestTx,
    dataTxCount: dataTxCount - 1, // the coinbase is not a data tx
    lastTxid,
  };
}

/** Second pass: the payload in chunks of `chunkSize` (the last may be shorter). */
export function* syntheticBlockChunks(spec: SyntheticBlockSpec, info: SyntheticBlockInfo, chunkSize: number): Generator<Buffer> {
  let chunk = Buffer.allocUnsafe(chunkSize);
  let fill = 0;
  const put = function* (bytes: Buffer): Generator<Buffer> {
    let from = 0;
    while (from < bytes.length) {
      const take = Math.min(bytes.length - from, chunkSize - fill);
      bytes.copy(chunk, fill, from, from + take);
      fill += take;
      from += take;
      if (fill === chunkSize) {
        yield chunk;
        chunk = Buffer.allocUnsafe(chunkSize);
        fill = 0;
      }
    }
  };
  const start = Buffer.alloc(85);
  info.header.copy(start);
  const startLength = writeVarInt(start, 80, info.txCount);
  yield* put(start.subarray(0, startLength));
  for (const tx of syntheticTransactions(spec)) yield* put(tx);
  if (fill > 0) yield chunk.subarray(0, fill);
}

/** A whole synthetic block payload in memory (small blocks; tests). */
export function buildSyntheticBlock(spec: SyntheticBlockSpec): { payload: Buffer; info: SyntheticBlockInfo } {
  const info = planSyntheticBlock(spec);
  const payload = Buffer.allocUnsafe(info.payloadLength);
  let at = 0;
  for (const chunk of syntheticBlockChunks(spec, info, 1 << 20)) at += chunk.copy(payload, at);
  if (at !== info.payloadLength) throw new Error(`synthetic block: wrote ${at} of ${info.payloadLength} bytes`);
  return { payload, info };
}

export interface SyntheticBlockFile extends SyntheticBlockInfo {
  /** Frame checksum: first 4 bytes of sha256d(payload). */
  readonly checksum: Buffer;
  /** Size of each transaction, in order (lets a benchmark hash txs without parsing). */
  readonly txSizes: Uint32Array;
}

/** Write the payload to `path` in one streaming pass; returns what a benchmark needs about it. */
export function writeSyntheticBlockFile(path: string, spec: SyntheticBlockSpec): SyntheticBlockFile {
  const info = planSyntheticBlock(spec);
  const txSizes = new Uint32Array(info.txCount);
  let i = 0;
  for (const tx of syntheticTransactions(spec)) txSizes[i++] = tx.length;
  const sum = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (const chunk of syntheticBlockChunks(spec, info, 1 << 20)) {
      sum.update(chunk);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  const checksum = createHash('sha256').update(sum.digest()).digest().subarray(0, 4);
  return { ...info, checksum, txSizes };
}

/**
 * Benchmark blocks on disk: generated once into a cache directory, then read back by every
 * contender in 64 KiB chunks (a fresh Buffer per chunk, as a socket hands them out), so no
 * contender is charged for generation and none has to hold the block unless it wants to.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFrameHeader } from '../lib/framing/encoder.js';
import { writeSyntheticBlockFile, type SyntheticBlockSpec } from './synthetic-block.js';

/** Bump when the generator's output changes, so stale cached blocks are rebuilt. */
const GENERATOR_VERSION = 3;

export const CHUNK_SIZE = 64 * 1024;

export interface BenchBlock {
  readonly name: string;
  readonly payloadPath: string;
  readonly sizesPath: string;
  readonly payloadLength: number;
  readonly txCount: number;
  readonly largestTx: number;
  readonly dataTxCount: number;
  /** Frame checksum, hex. */
  readonly checksum: string;
  /** Block hash and merkle root, explorer (display) hex. */
  readonly hash: string;
  readonly merkleRoot: string;
  /** The last transaction's txid, display hex: every contender must reproduce it. */
  readonly lastTxid: string;
}

export function benchCacheDir(): string {
  const dir = process.env.BSV_WIRE_BENCH_DIR ?? join(tmpdir(), 'bsv-wire-bench');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The block for `spec`, generated unless the cache already holds it. */
export function ensureBenchBlock(name: string, spec: SyntheticBlockSpec, dir = benchCacheDir()): BenchBlock {
  const base = join(dir, `${name}-v${GENERATOR_VERSION}-${spec.targetBytes}-${spec.seed ?? 1}`);
  const metaPath = `${base}.json`;
  if (existsSync(metaPath)) return JSON.parse(readFileSync(metaPath, 'utf8')) as BenchBlock;
  const payloadPath = `${base}.payload`;
  const sizesPath = `${base}.sizes`;
  const file = writeSyntheticBlockFile(payloadPath, spec);
  writeFileSync(sizesPath, Buffer.from(file.txSizes.buffer, file.txSizes.byteOffset, file.txSizes.byteLength));
  const block: BenchBlock = {
    name,
    payloadPath,
    sizesPath,
    payloadLength: file.payloadLength,
    txCount: file.txCount,
    largestTx: file.largestTx,
    dataTxCount: file.dataTxCount,
    checksum: file.checksum.toString('hex'),
    hash: Buffer.from(file.hash).reverse().toString('hex'),
    merkleRoot: Buffer.from(file.merkleRoot).reverse().toString('hex'),
    lastTxid: Buffer.from(file.lastTxid).reverse().toString('hex'),
  };
  writeFileSync(metaPath, JSON.stringify(block, null, 2));
  return block;
}

/** The 24-byte `block` frame header for this block under `magic`. */
export function blockFrameHeader(block: BenchBlock, magic: Buffer): Buffer {
  return encodeFrameHeader(magic, 'block', block.payloadLength, Buffer.from(block.checksum, 'hex'));
}

/**
 * The bytes as a peer would send them, in fresh chunks of `chunkSize`: with `prefix` (a frame
 * header) the first chunk carries it and the stream stays aligned to `chunkSize` after it.
 */
export function* readChunks(path: string, chunkSize = CHUNK_SIZE, prefix?: Buffer): Generator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    let first = prefix;
    for (;;) {
      const chunk = Buffer.allocUnsafe(chunkSize);
      let fill = 0;
      if (first) {
        fill = first.copy(chunk);
        first = undefined;
      }
      const n = readSync(fd, chunk, fill, chunkSize - fill, null);
      fill += n;
      if (fill === 0) return;
      yield fill === chunkSize ? chunk : chunk.subarray(0, fill);
      if (n === 0) return;
    }
  } finally {
    closeSync(fd);
  }
}

/** The size of every transaction, in block order. */
export function readTxSizes(block: BenchBlock): Uint32Array {
  const bytes = readFileSync(block.sizesPath);
  const sizes = new Uint32Array(bytes.byteLength / 4); // copied: the file buffer may be unaligned
  Buffer.from(sizes.buffer).set(bytes);
  return sizes;
}

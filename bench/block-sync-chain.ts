/**
 * The chain of the block sync benchmark (bench/block-sync.ts): synthetic but valid regtest blocks (proof of work for
 * 0x207fffff, a true merkle root, each on the previous one from the regtest genesis), generated once into the bench
 * cache. Each block is one payload file (the bytes of the `block` message) plus its transaction sizes, in the
 * BenchBlock form bench/contenders.ts reads, so the same files feed the serving process and the hashing limit.
 */
import { createHash, hash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MerkleRootBuilder } from '../lib/messages/merkle.js';
import { sha256d } from '../lib/hash.js';
import { regtestGenesis, regtestGenesisHash } from '../test/helpers/synthetic-headers.js';
import { seededRandom } from '../test/helpers/prng.js';
import { benchCacheDir, type BenchBlock } from './block-files.js';
import { syntheticTransactions } from './synthetic-block.js';
import { PayloadWriter } from '../lib/encoding/writer.js';

const GENERATOR_VERSION = 1;
const MB = 1_000_000;
/** The first blocks are small, so the stall run and the first window move quickly before the big ones. */
const SMALL_FIRST = 8;

export interface ChainBlock extends BenchBlock {
  readonly height: number;
  /** The 80 header bytes, hex. */
  readonly headerHex: string;
  /** Block hash, wire order, hex. */
  readonly hashWire: string;
}

export interface BenchChain {
  readonly dir: string;
  readonly blocks: ChainBlock[];
  readonly totalBytes: number;
  readonly generatedIn?: number;
}

/** Block sizes: SMALL_FIRST of 1 MB, one of `maxBytes`, the rest log-uniform in [1 MB, maxBytes], up to about `total`. */
export function chainSizes(total: number, maxBytes: number): number[] {
  const random = seededRandom(31);
  const sizes: number[] = Array.from({ length: SMALL_FIRST }, () => MB);
  let sum = SMALL_FIRST * MB;
  let placedMax = false;
  while (sum < total) {
    let size = placedMax ? Math.round(MB * Math.pow(maxBytes / MB, random())) : maxBytes;
    placedMax = true;
    size = Math.min(size, Math.max(MB, total - sum));
    sizes.push(size);
    sum += size;
  }
  return sizes;
}

/** A CompactSize as bytes (the library's writer). */
function varIntBytes(n: number): Buffer {
  return new PayloadWriter('bench').varint('n', n).render();
}

/** A regtest header on `prev` whose hash meets 0x207fffff (about two tries). */
function mineHeader(prev: Buffer, merkleRoot: Buffer, time: number): { header: Buffer; hash: Buffer } {
  const header = Buffer.alloc(80);
  header.writeInt32LE(0x20000000, 0);
  prev.copy(header, 4);
  merkleRoot.copy(header, 36);
  header.writeUInt32LE(time, 68);
  header.writeUInt32LE(0x207fffff, 72);
  for (let nonce = 0; ; nonce++) {
    header.writeUInt32LE(nonce, 76);
    const digest = hash('sha256', hash('sha256', header, 'buffer'), 'buffer');
    if (digest[31]! < 0x7f) return { header, hash: digest };
  }
}

/**
 * One pass of the transaction generator per block: the transactions go to a scratch file while their txids feed the
 * merkle root; then header + count + transactions are copied into the payload file while the checksum is computed.
 */
function writeBlock(dir: string, height: number, targetBytes: number, prev: Buffer, time: number): ChainBlock {
  const txPath = join(dir, `${height}.txs`);
  const payloadPath = join(dir, `${height}.payload`);
  const sizesPath = join(dir, `${height}.sizes`);
  const merkle = new MerkleRootBuilder();
  const sizes: number[] = [];
  let largestTx = 0;
  let dataTxCount = 0;
  let lastTxid: Buffer = Buffer.alloc(32);
  const fd = openSync(txPath, 'w');
  const batch = Buffer.allocUnsafe(4 << 20);
  let fill = 0;
  for (const tx of syntheticTransactions({ targetBytes, seed: 1000 + height })) {
    lastTxid = sha256d(tx);
    merkle.add(lastTxid);
    sizes.push(tx.length);
    if (tx.length > largestTx) largestTx = tx.length;
    if (tx.length > 226) dataTxCount++;
    if (fill + tx.length > batch.length) {
      writeSync(fd, batch, 0, fill);
      fill = 0;
    }
    fill += tx.copy(batch, fill);
  }
  writeSync(fd, batch, 0, fill);
  closeSync(fd);
  const merkleRoot = merkle.root()!;
  const { header, hash: blockHash } = mineHeader(prev, merkleRoot, time);
  const prefix = Buffer.concat([header, varIntBytes(sizes.length)]);
  const sum = createHash('sha256').update(prefix);
  const out = openSync(payloadPath, 'w');
  writeSync(out, prefix);
  const input = openSync(txPath, 'r');
  let payloadLength = prefix.length;
  for (;;) {
    const n = readSync(input, batch, 0, batch.length, null);
    if (n === 0) break;
    sum.update(batch.subarray(0, n));
    writeSync(out, batch, 0, n);
    payloadLength += n;
  }
  closeSync(input);
  closeSync(out);
  rmSync(txPath);
  const txSizes = Uint32Array.from(sizes);
  writeFileSync(sizesPath, Buffer.from(txSizes.buffer, txSizes.byteOffset, txSizes.byteLength));
  return {
    name: `height ${height}`,
    height,
    payloadPath,
    sizesPath,
    payloadLength,
    txCount: sizes.length,
    largestTx,
    dataTxCount: dataTxCount - 1,
    checksum: createHash('sha256').update(sum.digest()).digest().subarray(0, 4).toString('hex'),
    hash: Buffer.from(blockHash).reverse().toString('hex'),
    hashWire: blockHash.toString('hex'),
    headerHex: header.toString('hex'),
    merkleRoot: Buffer.from(merkleRoot).reverse().toString('hex'),
    lastTxid: Buffer.from(lastTxid).reverse().toString('hex'),
  };
}

/** The chain for (total, maxBytes), generated unless the cache holds it; a partial generation is never taken for done. */
export function ensureBenchChain(total: number, maxBytes: number): BenchChain {
  const dir = join(benchCacheDir(), `block-sync-${total}-${maxBytes}-v${GENERATOR_VERSION}`);
  const metaPath = join(dir, 'chain.json');
  if (existsSync(metaPath)) return JSON.parse(readFileSync(metaPath, 'utf8')) as BenchChain;
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const blocks: ChainBlock[] = [];
  let prev = regtestGenesisHash;
  let time = regtestGenesis.timestamp;
  const sizes = chainSizes(total, maxBytes);
  for (const [i, size] of sizes.entries()) {
    process.stderr.write(`  generating block ${i + 1}/${sizes.length} (${(size / MB).toFixed(0)} MB) into ${dir} (once; cached) ...\n`);
    time += 600;
    const block = writeBlock(dir, i + 1, size, prev, time);
    blocks.push(block);
    prev = Buffer.from(block.hashWire, 'hex');
  }
  const chain: BenchChain = { dir, blocks, totalBytes: blocks.reduce((n, b) => n + b.payloadLength, 0), generatedIn: (performance.now() - t0) / 1000 };
  writeFileSync(`${metaPath}.part`, JSON.stringify({ ...chain, generatedIn: undefined }));
  renameSync(`${metaPath}.part`, metaPath);
  return chain;
}

// Synthetic but valid regtest headers (bits 0x207fffff, so proof of work takes ~2 hashes a header), for tests and
// benchmarks of the header tree, store and sync. Deterministic: the same seed gives the same chain.
import { hash } from 'node:crypto';
import { BLOCK_HEADER_SIZE, decodeBlockHeader, type BlockHeader } from '../../lib/messages/block-header.js';
import { genesisHeader } from '../../lib/chain/genesis.js';
import { regtest } from '../../lib/networks.js';
import { blockHash } from '../../lib/messages/block-header.js';
import { targetFromBits } from '../../lib/chain/work.js';
import { seededRandom } from './prng.js';

export const REGTEST_BITS = 0x207fffff;

export interface SyntheticHeader {
  readonly header: BlockHeader;
  /** Wire order. */
  readonly hash: Buffer;
}

export const regtestGenesis: BlockHeader = genesisHeader(regtest)!;
export const regtestGenesisHash: Buffer = blockHash(regtestGenesis);

export interface SyntheticOptions {
  /** Seconds between headers (default 600). */
  readonly spacing?: number;
  readonly bits?: number;
  readonly version?: number;
}

/**
 * `count` headers, each on the previous one, starting on `parent` (default: the regtest genesis). Different seeds
 * from the same parent give different branches (forks). Each header's hash meets the 0x207fffff target.
 */
export function syntheticChain(count: number, seed: number, parent: { hash: Buffer; time: number } = { hash: regtestGenesisHash, time: regtestGenesis.timestamp }, options: SyntheticOptions = {}): SyntheticHeader[] {
  const out: SyntheticHeader[] = [];
  for (const h of syntheticHeaderBytes(count, seed, parent, options)) out.push({ header: decodeBlockHeader(h.bytes), hash: h.hash });
  return out;
}

/** The same chain as raw 80-byte headers with their hashes, without building objects (for a million of them). */
export function* syntheticHeaderBytes(
  count: number,
  seed: number,
  parent: { hash: Buffer; time: number } = { hash: regtestGenesisHash, time: regtestGenesis.timestamp },
  options: SyntheticOptions = {},
): Generator<{ bytes: Buffer; hash: Buffer }> {
  const random = seededRandom(seed);
  const spacing = options.spacing ?? 600;
  const target = options.bits === undefined || options.bits === REGTEST_BITS ? undefined : targetFromBits(options.bits);
  if (options.bits !== undefined && options.bits !== REGTEST_BITS && !target) throw new RangeError(`bits 0x${options.bits.toString(16)} give no target`);
  let prev = parent.hash;
  let time = parent.time;
  for (let i = 0; i < count; i++) {
    const bytes = Buffer.allocUnsafe(BLOCK_HEADER_SIZE);
    bytes.writeInt32LE(options.version ?? 4, 0);
    prev.copy(bytes, 4);
    for (let w = 0; w < 8; w++) bytes.writeUInt32LE(Math.floor(random() * 2 ** 32), 36 + w * 4);
    time += spacing;
    bytes.writeUInt32LE(time >>> 0, 68);
    bytes.writeUInt32LE(options.bits ?? REGTEST_BITS, 72);
    let digest: Buffer;
    // Grind the nonce until the hash, a little-endian number, meets the target (for 0x207fffff: below 0x7f00...).
    for (let nonce = Math.floor(random() * 2 ** 32); ; nonce = (nonce + 1) >>> 0) {
      bytes.writeUInt32LE(nonce, 76);
      digest = hash('sha256', hash('sha256', bytes, 'buffer'), 'buffer');
      if (target === undefined ? digest[31]! < 0x7f : BigInt(`0x${Buffer.from(digest).reverse().toString('hex')}`) <= target) break;
    }
    yield { bytes, hash: digest };
    prev = digest;
  }
}

// Header chain validation for `bsv-wire headers` and the SPV example: each header must link to the
// previous one and carry valid proof of work, starting from the network's genesis block.
import bsv from 'bsv';
import type { Bn } from 'bsv';
import { blockHash, type BlockHeader } from '../messages/block-header.js';
import { fromDisplayHex, toDisplayHex } from '../hash.js';
import type { Network } from '../networks.js';

/** Highest target (easiest difficulty) each network allows, in compact "bits" form. */
const POW_LIMIT_BITS: Readonly<Record<string, number>> = {
  mainnet: 0x1d00ffff,
  testnet: 0x1d00ffff,
  stn: 0x1d00ffff,
  regtest: 0x207fffff,
};

export function powLimitBits(network: Network): number {
  return POW_LIMIT_BITS[network.name] ?? POW_LIMIT_BITS.regtest;
}

export type HeaderChainFailure = 'linkage' | 'bad-target' | 'insufficient-work';

export class HeaderChainError extends Error {
  override readonly name = 'HeaderChainError';
  constructor(
    readonly reason: HeaderChainFailure,
    readonly height: number,
    /** Display-order hex of the offending header's hash. */
    readonly hash: string,
    message: string,
  ) {
    super(`header ${height} (${hash}): ${message}`);
  }
}

export interface ChainTip {
  /** Wire order. */
  readonly hash: Buffer;
  readonly height: number;
}

/**
 * The tip of a validated header chain. Only the tip is kept, so syncing a long chain takes no memory;
 * callers that want the headers write them out as they are appended.
 *
 * Checked: linkage (prevBlock is the tip), the target encoded in bits is positive and not above the
 * network's limit, and the header hash is at or below it (with the `bsv` package's Bn). Not checked:
 * difficulty adjustment rules, timestamps, and anything that needs the transactions.
 */
export class HeaderChain {
  private tipValue: ChainTip;
  private readonly limit: Bn;
  private cachedBits = -1;
  private cachedTarget: Bn | undefined;

  constructor(
    readonly network: Network,
    start?: ChainTip,
  ) {
    if (!start && network.genesisHash === '') throw new RangeError(`network ${network.name} has no genesis hash to start from`);
    this.tipValue = start ?? { hash: fromDisplayHex(network.genesisHash), height: 0 };
    this.limit = new bsv.Bn().fromBits(powLimitBits(network));
  }

  get tip(): ChainTip {
    return this.tipValue;
  }

  /** Validates and appends headers in order; throws HeaderChainError at the first bad one (earlier ones stay appended). */
  append(headers: readonly BlockHeader[], onHeader?: (header: BlockHeader, hash: Buffer, height: number) => void): number {
    let appended = 0;
    for (const header of headers) {
      const height = this.tipValue.height + 1;
      const hash = blockHash(header);
      const fail = (reason: HeaderChainFailure, message: string): HeaderChainError => new HeaderChainError(reason, height, toDisplayHex(hash), message);
      if (!header.prevBlock.equals(this.tipValue.hash)) {
        throw fail('linkage', `previous block ${toDisplayHex(header.prevBlock)} is not the tip ${toDisplayHex(this.tipValue.hash)}`);
      }
      const target = this.targetOf(header.bits);
      if (!target) throw fail('bad-target', `bits 0x${header.bits.toString(16)} encode a zero, negative or too-easy target`);
      if (new bsv.Bn().fromBuffer(hash, { endian: 'little' }).gt(target)) {
        throw fail('insufficient-work', `hash is above the target of bits 0x${header.bits.toString(16)}`);
      }
      this.tipValue = { hash, height };
      onHeader?.(header, hash, height);
      appended++;
    }
    return appended;
  }

  /** The target for bits, or undefined when it is invalid for this network. Consecutive headers share bits, so the last one is cached. */
  private targetOf(bits: number): Bn | undefined {
    if (bits === this.cachedBits) return this.cachedTarget;
    let target: Bn | undefined;
    try {
      target = new bsv.Bn().fromBits(bits, { strict: true });
      if (target.isZero() || target.gt(this.limit)) target = undefined;
    } catch {
      target = undefined; // negative bit set
    }
    this.cachedBits = bits;
    this.cachedTarget = target;
    return target;
  }
}

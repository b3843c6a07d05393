// Shared fixtures for the data-message tests: real mainnet bytes and seeded random samples.
import { PayloadWriter } from '../../lib/encoding/writer.js';
import type { BlockHeader } from '../../lib/messages/block-header.js';
import { rawTransaction, serializeTransaction, type RawTransaction } from '../../lib/messages/transaction.js';

/** The mainnet genesis coinbase (204 bytes). */
export const GENESIS_COINBASE_HEX =
  '01000000' +
  '01' +
  '0000000000000000000000000000000000000000000000000000000000000000' +
  'ffffffff' +
  '4d' +
  '04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73' +
  'ffffffff' +
  '01' +
  '00f2052a01000000' +
  '43' +
  '4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac' +
  '00000000';

export const GENESIS_HEADER_HEX =
  '01000000' +
  '0000000000000000000000000000000000000000000000000000000000000000' +
  '3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a' +
  '29ab5f49' +
  'ffff001d' +
  '1dac2b7c';

/** The 285-byte mainnet genesis block. */
export const GENESIS_BLOCK_HEX = GENESIS_HEADER_HEX + '01' + GENESIS_COINBASE_HEX;
export const GENESIS_BLOCK_HASH = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f';
export const GENESIS_COINBASE_TXID = '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b';

import { seededRandom } from '../helpers/prng.js';

export { seededRandom };

export class Samples {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  u32(): number {
    return this.int(0x100000000);
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  hash(): Buffer {
    return this.bytes(32);
  }
  header(): BlockHeader {
    return {
      version: this.u32() | 0,
      prevBlock: this.hash(),
      merkleRoot: this.hash(),
      timestamp: this.u32(),
      bits: this.u32(),
      nonce: this.u32(),
    };
  }
  /** A small random transaction: 0-2 inputs, 0-2 outputs, short scripts. */
  tx(maxScript = 12): RawTransaction {
    const inputs = Array.from({ length: this.int(3) }, () => ({
      prevTxid: this.hash(),
      vout: this.u32(),
      script: this.bytes(this.int(maxScript)),
      sequence: this.u32(),
    }));
    const outputs = Array.from({ length: this.int(3) }, () => ({
      value: BigInt(this.u32()) * BigInt(this.int(1000)),
      script: this.bytes(this.int(maxScript)),
    }));
    return rawTransaction(serializeTransaction({ version: this.int(3), inputs, outputs, lockTime: this.u32() }));
  }
}

/** The smallest transaction: no inputs, no outputs (10 bytes). */
export const EMPTY_TX: RawTransaction = rawTransaction(Buffer.from('01000000' + '00' + '00' + '00000000', 'hex'));

/** A CompactSize as bytes, for hand-built hostile payloads. */
export function compactSize(n: number): Buffer {
  return new PayloadWriter('fixture').varint('n', n).render();
}

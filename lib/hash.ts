import { createHash, hash } from 'node:crypto';

/** One-shot sha256; `crypto.hash` avoids a hash object per call (Node >= 20.12). */
export function sha256(data: Buffer): Buffer {
  return hash('sha256', data, 'buffer');
}

/** Double sha256, as used for txids, block hashes and frame checksums. */
export function sha256d(data: Buffer): Buffer {
  return hash('sha256', hash('sha256', data, 'buffer'), 'buffer');
}

/** Incremental sha256d for data that arrives in chunks (block checksums). */
export class Sha256dStream {
  private readonly inner = createHash('sha256');
  update(chunk: Buffer): void {
    this.inner.update(chunk);
  }
  digest(): Buffer {
    return sha256(this.inner.digest());
  }
}

/** Wire-order hash to the reversed hex that explorers show. */
export function toDisplayHex(wireOrder: Buffer): string {
  return Buffer.from(wireOrder).reverse().toString('hex');
}

/** Explorer hex to a wire-order hash. */
export function fromDisplayHex(hex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new TypeError(`not a 32-byte hex hash: ${hex}`);
  return Buffer.from(hex, 'hex').reverse();
}

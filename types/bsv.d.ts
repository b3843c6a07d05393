// Minimal typings for the parts of the `bsv` 2.x package that bsv-wire uses (interop only).
declare module 'bsv' {
  class Tx {
    static fromBuffer(buf: Buffer): Tx;
    toBuffer(): Buffer;
    /** Wire-order double sha256 of the serialisation. */
    hash(): Buffer;
    /** Display-order hex txid. */
    id(): string;
    versionBytesNum: number;
    nLockTime: number;
    txIns: unknown[];
    txOuts: unknown[];
  }
  class BlockHeader {
    static fromBuffer(buf: Buffer): BlockHeader;
    toBuffer(): Buffer;
    versionBytesNum: number;
    prevBlockHashBuf: Buffer;
    merkleRootBuf: Buffer;
    time: number;
    bits: number;
    nonce: number;
  }
  /** bn.js with bitcoin helpers (compact "bits" targets). */
  class Bn {
    constructor(n?: number | string);
    fromBits(bits: number, opts?: { strict?: boolean }): Bn;
    fromBuffer(buf: Buffer, opts?: { endian?: 'big' | 'little' }): Bn;
    lte(other: Bn): boolean;
    gt(other: Bn): boolean;
    isZero(): boolean;
    toString(base?: number): string;
  }
  const bsv: {
    readonly Tx: typeof Tx;
    readonly BlockHeader: typeof BlockHeader;
    readonly Bn: typeof Bn;
  };
  export default bsv;
  export type { Tx, BlockHeader, Bn };
}

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
  const bsv: {
    readonly Tx: typeof Tx;
    readonly BlockHeader: typeof BlockHeader;
  };
  export default bsv;
  export type { Tx, BlockHeader };
}

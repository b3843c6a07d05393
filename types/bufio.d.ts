// Minimal typings for the parts of bufio that bsv-wire uses.
declare module 'bufio' {
  export class BufferReader {
    constructor(data: Buffer, zeroCopy?: boolean);
    offset: number;
    left(): number;
    readU8(): number;
    readU16(): number;
    readU16BE(): number;
    readU32(): number;
    readI32(): number;
    readBigU64(): bigint;
    readBigI64(): bigint;
    readVarint(): number;
    readBytes(size: number, zeroCopy?: boolean): Buffer;
  }
  export class BufferWriter {
    constructor();
    getSize(): number;
    writeU8(value: number): this;
    writeU16(value: number): this;
    writeU16BE(value: number): this;
    writeU32(value: number): this;
    writeI32(value: number): this;
    writeBigU64(value: bigint): this;
    writeBigI64(value: bigint): this;
    writeVarint(value: number): this;
    writeBytes(value: Buffer): this;
    writeVarBytes(value: Buffer): this;
    render(): Buffer;
  }
  export function sizeVarint(value: number): number;
}

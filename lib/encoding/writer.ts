import bufio from 'bufio';
import { EncodeError } from '../errors.js';

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** Payload writer that range-checks values and names the field that is out of range. */
export class PayloadWriter {
  private readonly bw = new bufio.BufferWriter();

  constructor(readonly command: string) {}

  private check(field: string, ok: boolean, detail: string): void {
    if (!ok) throw new EncodeError(this.command, field, detail);
  }
  private int(field: string, v: number, min: number, max: number): void {
    this.check(field, Number.isInteger(v) && v >= min && v <= max, `${v} not an integer in [${min}, ${max}]`);
  }

  u8(field: string, v: number): this {
    this.int(field, v, 0, 0xff);
    this.bw.writeU8(v);
    return this;
  }
  u16(field: string, v: number): this {
    this.int(field, v, 0, 0xffff);
    this.bw.writeU16(v);
    return this;
  }
  u16be(field: string, v: number): this {
    this.int(field, v, 0, 0xffff);
    this.bw.writeU16BE(v);
    return this;
  }
  u32(field: string, v: number): this {
    this.int(field, v, 0, 0xffffffff);
    this.bw.writeU32(v);
    return this;
  }
  i32(field: string, v: number): this {
    this.int(field, v, -0x80000000, 0x7fffffff);
    this.bw.writeI32(v);
    return this;
  }
  u64(field: string, v: bigint): this {
    this.check(field, typeof v === 'bigint' && v >= 0n && v <= U64_MAX, `${v} not a u64 bigint`);
    this.bw.writeBigU64(v);
    return this;
  }
  i64(field: string, v: bigint): this {
    this.check(field, typeof v === 'bigint' && v >= I64_MIN && v <= I64_MAX, `${v} not an i64 bigint`);
    this.bw.writeBigI64(v);
    return this;
  }
  bool(field: string, v: boolean): this {
    return this.u8(field, v ? 1 : 0);
  }
  bytes(field: string, b: Buffer, exactLength?: number): this {
    this.check(field, Buffer.isBuffer(b), 'not a Buffer');
    if (exactLength !== undefined) this.check(field, b.length === exactLength, `length ${b.length}, expected ${exactLength}`);
    this.bw.writeBytes(b);
    return this;
  }
  hash(field: string, b: Buffer): this {
    return this.bytes(field, b, 32);
  }
  varint(field: string, v: number): this {
    this.int(field, v, 0, 0xffffffff);
    this.bw.writeVarint(v);
    return this;
  }
  /** A CompactSize count followed by each item, written by `writeItem`. */
  list<T>(field: string, items: readonly T[], writeItem: (item: T, i: number) => void): this {
    this.varint(field, items.length);
    items.forEach(writeItem);
    return this;
  }
  varBytes(field: string, b: Buffer, max = 0xffffffff): this {
    this.check(field, Buffer.isBuffer(b), 'not a Buffer');
    this.check(field, b.length <= max, `${b.length} bytes, at most ${max}`);
    this.bw.writeVarBytes(b);
    return this;
  }
  varStr(field: string, s: string, max = 0xffffffff): this {
    return this.varBytes(field, Buffer.from(s, 'latin1'), max);
  }
  render(): Buffer {
    return this.bw.render();
  }
}

import bufio from 'bufio';
import { DecodeError } from '../errors.js';

/** BSV's MAX_SIZE: CompactSize values above it are "size too large". */
export const MAX_COMPACT_SIZE = 0xffffffff;

/**
 * Bounds-checked payload reader. Every read names its field, so a short or
 * malformed payload becomes a DecodeError that says where it broke.
 */
export class PayloadReader {
  private readonly br: bufio.BufferReader;

  constructor(
    readonly data: Buffer,
    readonly command: string,
  ) {
    this.br = new bufio.BufferReader(data, true);
  }

  get offset(): number {
    return this.br.offset;
  }

  get remaining(): number {
    return this.data.length - this.br.offset;
  }

  fail(field: string, reason: DecodeError['reason'], detail?: string): never {
    throw new DecodeError(this.command, field, reason, detail);
  }

  private need(field: string, size: number): void {
    if (this.remaining < size) this.fail(field, 'truncated', `need ${size} bytes, have ${this.remaining}`);
  }

  u8(field: string): number {
    this.need(field, 1);
    return this.br.readU8();
  }
  u16(field: string): number {
    this.need(field, 2);
    return this.br.readU16();
  }
  u16be(field: string): number {
    this.need(field, 2);
    return this.br.readU16BE();
  }
  u32(field: string): number {
    this.need(field, 4);
    return this.br.readU32();
  }
  i32(field: string): number {
    this.need(field, 4);
    return this.br.readI32();
  }
  u64(field: string): bigint {
    this.need(field, 8);
    return this.br.readBigU64();
  }
  i64(field: string): bigint {
    this.need(field, 8);
    return this.br.readBigI64();
  }
  bool(field: string): boolean {
    return this.u8(field) !== 0;
  }

  /** Zero-copy view of the next `size` bytes. */
  bytes(field: string, size: number): Buffer {
    this.need(field, size);
    return this.br.readBytes(size, true);
  }

  /** Steps over `size` bytes another reader of `data` has already read (a fast path's bytes). */
  skip(field: string, size: number): void {
    this.need(field, size);
    this.br.readBytes(size, true);
  }

  /** 32-byte hash in wire order. */
  hash(field: string): Buffer {
    return this.bytes(field, 32);
  }

  /** CompactSize, canonical and at most MAX_COMPACT_SIZE. */
  varint(field: string): number {
    this.need(field, 1);
    const first = this.data[this.br.offset]!;
    const size = first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
    this.need(field, size);
    if (size === 9) {
      const big = this.data.readBigUInt64LE(this.br.offset + 1);
      if (big > BigInt(MAX_COMPACT_SIZE)) this.fail(field, 'too-large', `CompactSize ${big} exceeds 2^32-1`);
      this.fail(field, 'non-canonical', 'CompactSize 0xff prefix for a value below 2^32');
    }
    try {
      return this.br.readVarint();
    } catch {
      return this.fail(field, 'non-canonical', 'CompactSize not minimally encoded');
    }
  }

  /**
   * A CompactSize item count, refused before any allocation when `count * minItemSize`
   * exceeds what is left, or when it exceeds `max`.
   */
  count(field: string, minItemSize: number, max = MAX_COMPACT_SIZE): number {
    const n = this.varint(field);
    if (n > max) this.fail(field, 'too-large', `${n} entries, at most ${max}`);
    if (n * minItemSize > this.remaining) {
      this.fail(field, 'truncated', `${n} entries of >= ${minItemSize} bytes need ${n * minItemSize}, have ${this.remaining}`);
    }
    return n;
  }

  /**
   * A CompactSize count followed by that many items, each read by `readItem`; the count is
   * bounded by `count` before anything is allocated.
   */
  list<T>(field: string, minItemSize: number, readItem: (i: number) => T): T[] {
    const n = this.count(field, minItemSize);
    const items: T[] = [];
    for (let i = 0; i < n; i++) items.push(readItem(i));
    return items;
  }

  /** CompactSize length plus bytes; `max` bounds the length. Zero-copy. */
  varBytes(field: string, max = MAX_COMPACT_SIZE): Buffer {
    const n = this.varint(field);
    if (n > max) this.fail(field, 'too-large', `${n} bytes, at most ${max}`);
    return this.bytes(field, n);
  }

  /** var_str decoded as latin1 so that any byte sequence round-trips. */
  varStr(field: string, max = MAX_COMPACT_SIZE): string {
    return this.varBytes(field, max).toString('latin1');
  }

  /** Whatever is left, zero-copy. */
  rest(): Buffer {
    return this.bytes('rest', this.remaining);
  }

  /** Refuse trailing bytes for messages whose layout is fixed. */
  end(): void {
    if (this.remaining !== 0) this.fail('end', 'trailing-bytes', `${this.remaining} unexpected bytes`);
  }
}

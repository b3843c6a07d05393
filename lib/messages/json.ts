import { EncodeError } from '../errors.js';
import { fromDisplayHex, toDisplayHex } from '../hash.js';

/** The CLI's JSON form: bigints as decimal strings, hashes as display hex, bytes as hex. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const toJson = {
  hash: (b: Buffer): string => toDisplayHex(b),
  bytes: (b: Buffer): string => b.toString('hex'),
  big: (v: bigint): string => v.toString(10),
};

/** Typed field readers for `fromJSON`; a bad field is an EncodeError naming it. */
export class JsonFields {
  constructor(
    readonly command: string,
    private readonly obj: JsonObject,
  ) {}

  private bad(field: string, want: string): never {
    throw new EncodeError(this.command, field, `expected ${want}, got ${JSON.stringify(this.obj[field])}`);
  }
  has(field: string): boolean {
    return this.obj[field] !== undefined;
  }
  raw(field: string): Json {
    const v = this.obj[field];
    if (v === undefined) this.bad(field, 'a value');
    return v;
  }
  number(field: string): number {
    const v = this.obj[field];
    return typeof v === 'number' && Number.isFinite(v) ? v : this.bad(field, 'a number');
  }
  boolean(field: string): boolean {
    const v = this.obj[field];
    return typeof v === 'boolean' ? v : this.bad(field, 'a boolean');
  }
  string(field: string): string {
    const v = this.obj[field];
    return typeof v === 'string' ? v : this.bad(field, 'a string');
  }
  big(field: string): bigint {
    const v = this.obj[field];
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    return this.bad(field, 'a decimal integer string');
  }
  bytes(field: string): Buffer {
    const v = this.obj[field];
    if (typeof v === 'string' && v.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(v)) return Buffer.from(v, 'hex');
    return this.bad(field, 'hex bytes');
  }
  hash(field: string): Buffer {
    return this.hashOf(field, this.obj[field]);
  }
  /** An array of hashes; a bad element is named `field[i]`. */
  hashes(field: string): Buffer[] {
    return this.array(field).map((v, i) => this.hashOf(`${field}[${i}]`, v));
  }
  private hashOf(field: string, v: Json | undefined): Buffer {
    if (typeof v === 'string' && /^[0-9a-fA-F]{64}$/.test(v)) return fromDisplayHex(v);
    throw new EncodeError(this.command, field, `expected a 64-hex-digit hash, got ${JSON.stringify(v)}`);
  }
  objects(field: string): JsonFields[] {
    const v = this.obj[field];
    if (!Array.isArray(v) || !v.every((e) => e !== null && typeof e === 'object' && !Array.isArray(e))) {
      return this.bad(field, 'an array of objects');
    }
    return (v as JsonObject[]).map((o) => new JsonFields(this.command, o));
  }
  object(field: string): JsonFields {
    const v = this.obj[field];
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return this.bad(field, 'an object');
    return new JsonFields(this.command, v);
  }
  array(field: string): Json[] {
    const v = this.obj[field];
    return Array.isArray(v) ? v : this.bad(field, 'an array');
  }
}

import type { PayloadReader } from '../encoding/reader.js';
import type { PayloadWriter } from '../encoding/writer.js';
import { EncodeError } from '../errors.js';
import { toJson, type JsonFields, type JsonObject } from './json.js';

/** Bytes of a net_addr without time (services 8 + ip 16 + port 2), as in `version`. */
export const NET_ADDRESS_SIZE = 26;

/** A network address as carried in `version` (no time field). The port is big-endian on the wire. */
export interface NetAddress {
  readonly services: bigint;
  /** 16 bytes: IPv6, or IPv4-mapped `::ffff:a.b.c.d`. */
  readonly ip: Buffer;
  readonly port: number;
}

const IPV4_MAPPED_PREFIX = Buffer.from('00000000000000000000ffff', 'hex');

export function readNetAddress(r: PayloadReader, field: string): NetAddress {
  return {
    services: r.u64(`${field}.services`),
    ip: r.bytes(`${field}.ip`, 16),
    port: r.u16be(`${field}.port`),
  };
}

export function writeNetAddress(w: PayloadWriter, a: NetAddress, field: string): void {
  w.u64(`${field}.services`, a.services).bytes(`${field}.ip`, a.ip, 16).u16be(`${field}.port`, a.port);
}

export function netAddressToJSON(a: NetAddress): JsonObject {
  return { services: toJson.big(a.services), ip: netAddressToString(a.ip), port: a.port };
}

export function netAddressFromJSON(f: JsonFields, field: string): NetAddress {
  return {
    services: f.big('services'),
    ip: ipFromJSON(f, 'ip', field),
    port: f.number('port'),
  };
}

/** Reads an ip text field of a JSON object; a bad address is an EncodeError naming the field. */
export function ipFromJSON(f: JsonFields, key: string, field: string): Buffer {
  const text = f.string(key);
  try {
    return parseNetAddress(text);
  } catch {
    throw new EncodeError(f.command, `${field}.${key}`, `expected an IPv4 or IPv6 address, got ${JSON.stringify(text)}`);
  }
}

/** True for `::ffff:a.b.c.d`. */
export function isIPv4Mapped(ip: Buffer): boolean {
  return ip.length === 16 && ip.subarray(0, 12).equals(IPV4_MAPPED_PREFIX);
}

/**
 * Text form of a 16-byte address: dotted quad for IPv4-mapped addresses,
 * otherwise RFC 5952 IPv6 (lower case, longest zero run compressed).
 */
export function netAddressToString(ip: Buffer): string {
  if (ip.length !== 16) throw new RangeError(`an address is 16 bytes, got ${ip.length}`);
  if (isIPv4Mapped(ip)) return `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(ip.readUInt16BE(i));
  // Longest run of two or more zero groups; the first one wins a tie (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : 256));
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const out: number[] = [];
  for (const [i, p] of parts.entries()) {
    if (i === parts.length - 1 && p.includes('.')) {
      const v4 = parseIPv4(p);
      if (!v4) return undefined;
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
      out.push(parseInt(p, 16));
    } else {
      return undefined;
    }
  }
  return out;
}

/**
 * The 16 wire bytes of an address text: "1.2.3.4" becomes IPv4-mapped,
 * IPv6 text ("::1", "2001:db8::1", "::ffff:1.2.3.4") is taken as is.
 * Throws TypeError on anything else.
 */
export function parseNetAddress(text: string): Buffer {
  const v4 = parseIPv4(text);
  if (v4) return Buffer.concat([IPV4_MAPPED_PREFIX, Buffer.from(v4)]);
  const halves = text.split('::');
  let groups: number[] | undefined;
  if (halves.length === 1) {
    groups = parseGroups(text);
    if (groups?.length !== 8) groups = undefined;
  } else if (halves.length === 2) {
    const head = parseGroups(halves[0]!);
    const tail = parseGroups(halves[1]!);
    if (head && tail && head.length + tail.length <= 7) {
      groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
    }
  }
  if (!groups) throw new TypeError(`not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** "1.2.3.4:8333" or "[2001:db8::1]:8333". */
export function formatEndpoint(ip: Buffer, port: number): string {
  const host = netAddressToString(ip);
  return isIPv4Mapped(ip) ? `${host}:${port}` : `[${host}]:${port}`;
}

import { isIPv6 } from 'node:net';

/**
 * IP addresses as 16 bytes (IPv4 mapped into ::ffff:0:0/96, as on the wire) and their text.
 * Pure functions, shared by the message codecs and the peer store.
 */

export const IPV4_MAPPED_PREFIX = Buffer.from('00000000000000000000ffff', 'hex');

/** Strict dotted quad: four decimal parts 0..255, no leading zeros. A hand scan: this is a hot path. */
export function parseIPv4Bytes(text: string): number[] | undefined {
  const out = [0, 0, 0, 0];
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 0x30 || c > 0x39 || (digits > 0 && value === 0)) return undefined;
    value = value * 10 + (c - 0x30);
    if (value > 255) return undefined;
    digits++;
  }
  if (part !== 3 || digits === 0) return undefined;
  out[3] = value;
  return out;
}

/** Parses an IPv4 or IPv6 literal (no zone id, no brackets) to 16 bytes; undefined if it is not one. */
export function parseIp(text: string): Buffer | undefined {
  const v4 = text.includes(':') ? undefined : parseIPv4Bytes(text);
  if (v4) return Buffer.concat([IPV4_MAPPED_PREFIX, Buffer.from(v4)]);
  if (!isIPv6(text) || text.includes('%')) return undefined;

  let body = text;
  let tail: number[] | undefined;
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    // An embedded dotted IPv4 tail stands for the last two groups.
    tail = parseIPv4Bytes(body.slice(lastColon + 1));
    if (!tail) return undefined;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const left = halves[0] === '' ? [] : halves[0].split(':');
  const right = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i];
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    out.writeUInt16BE(parseInt(g, 16), i * 2);
  }
  if (tail) Buffer.from(tail).copy(out, 12);
  return out;
}

/** True for ::ffff:a.b.c.d, the form IPv4 takes in 16 bytes. */
export function isIPv4Mapped(ip: Buffer): boolean {
  return ip.length === 16 && ip.subarray(0, 12).equals(IPV4_MAPPED_PREFIX);
}

/** Canonical text: dotted IPv4 for mapped addresses, RFC 5952 compressed lowercase IPv6 otherwise. */
export function formatIp(ip: Buffer): string {
  if (ip.length !== 16) throw new TypeError(`an IP address is 16 bytes, got ${ip.length}`);
  if (isIPv4Mapped(ip)) return `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(ip.readUInt16BE(i * 2));
  // The longest run of two or more zero groups (the first on a tie) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}


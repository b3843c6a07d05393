import { isIPv6 } from 'node:net';

/**
 * IP addresses as 16 bytes (IPv4 mapped into ::ffff:0:0/96, as on the wire), their canonical text,
 * CIDR subnets and netgroups. Pure functions, no I/O.
 */

const IPV4_MAPPED_PREFIX = Buffer.from('00000000000000000000ffff', 'hex');

/** Strict dotted quad: four decimal parts 0..255, no leading zeros. A hand scan: this is a hot path. */
function parseIPv4Bytes(text: string): number[] | undefined {
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

/** The canonical text of an IP literal, or undefined when `text` is not an IP address. */
export function canonicalIp(text: string): string | undefined {
  if (!text.includes(':')) return parseIPv4Bytes(text) ? text : undefined; // a strict dotted quad is canonical
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}

/** The identity of an address in the store: "1.2.3.4:8333" or "[2001:db8::1]:8333". */
export function addressKey(canonicalHost: string, port: number): string {
  return canonicalHost.includes(':') ? `[${canonicalHost}]:${port}` : `${canonicalHost}:${port}`;
}

/** Splits "host:port" or "[v6]:port"; undefined if the text is not of that form. */
export function splitHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  return { host: m[1], port: Number(m[2]) };
}

/** The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo), so its netgroup is the IPv4 one. */
export function embeddedIPv4(ip: Buffer): Buffer | undefined {
  if (isIPv4Mapped(ip)) return ip.subarray(12, 16);
  if (ip[0] === 0x20 && ip[1] === 0x02) return ip.subarray(2, 6); // 6to4, 2002::/16
  if (ip.readUInt32BE(0) === 0x20010000) {
    // Teredo, 2001::/32: the client's IPv4 is the last 32 bits, inverted.
    return Buffer.from(ip.subarray(12, 16).map((b) => b ^ 0xff));
  }
  return undefined;
}

/** Maps a host to its netgroup. Injectable so tests can give each 127.0.0.x its own group. */
export type NetgroupFunction = (host: string) => string;

/**
 * The default netgroup: the /16 for IPv4 (including IPv4 carried in IPv6), the /32 for IPv6.
 * One operator rarely controls many /16s, so keying buckets by group spreads an attacker thin.
 */
export function defaultNetgroup(host: string): string {
  if (!host.includes(':')) {
    const v4 = parseIPv4Bytes(host); // the common case, without building a Buffer
    return v4 ? `ipv4:${v4[0]}.${v4[1]}` : `name:${host.toLowerCase()}`;
  }
  const ip = parseIp(host);
  if (!ip) return `name:${host.toLowerCase()}`;
  const v4 = embeddedIPv4(ip);
  if (v4) return `ipv4:${v4[0]}.${v4[1]}`;
  return `ipv6:${ip.subarray(0, 4).toString('hex')}`;
}

/** A CIDR subnet over 16-byte addresses; IPv4 prefixes are stored as prefix + 96. */
export interface Subnet {
  readonly base: Buffer;
  readonly prefixBits: number;
}

/** Parses "1.2.3.4", "10.0.0.0/8", "2001:db8::/32" or "2001:db8::1"; host bits are cleared. */
export function parseSubnet(text: string): Subnet | undefined {
  const slash = text.indexOf('/');
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(ipText);
  if (!ip) return undefined;
  const isV4 = !ipText.includes(':');
  let prefixBits = 128;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText)) return undefined;
    const length = Number(lengthText);
    if (length > (isV4 ? 32 : 128)) return undefined;
    prefixBits = isV4 ? length + 96 : length;
  }
  const base = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) base[i] = ip[i] & maskByte(prefixBits, i);
  return { base, prefixBits };
}

function maskByte(prefixBits: number, index: number): number {
  const bits = Math.max(0, Math.min(8, prefixBits - index * 8));
  return (0xff << (8 - bits)) & 0xff;
}

/** Canonical CIDR text: "1.2.3.0/24", "2001:db8::/32", "1.2.3.4/32". */
export function formatSubnet(subnet: Subnet): string {
  const v4 = isIPv4Mapped(subnet.base) && subnet.prefixBits >= 96;
  return `${formatIp(subnet.base)}/${v4 ? subnet.prefixBits - 96 : subnet.prefixBits}`;
}

/** True when the 16-byte address lies inside the subnet. */
export function subnetContains(subnet: Subnet, ip: Buffer): boolean {
  for (let i = 0; i < 16; i++) {
    const mask = maskByte(subnet.prefixBits, i);
    if (mask === 0) return true;
    if ((ip[i] & mask) !== subnet.base[i]) return false;
  }
  return true;
}

import { formatIp, isIPv4Mapped, parseIp, parseIPv4Bytes } from '../ip.js';

export { formatIp, isIPv4Mapped, parseIp };

/**
 * IP addresses as 16 bytes (IPv4 mapped into ::ffff:0:0/96, as on the wire), their canonical text,
 * CIDR subnets and netgroups. Pure functions, no I/O.
 */

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

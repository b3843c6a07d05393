import type { PayloadReader } from '../encoding/reader.js';
import type { PayloadWriter } from '../encoding/writer.js';
import { EncodeError } from '../errors.js';
import { formatIp, isIPv4Mapped, parseIp } from '../ip.js';
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
    ip: ipFromJSON(f, field),
    port: f.number('port'),
  };
}

/** The `ip` text of a JSON address; a bad address is an EncodeError naming `field.ip`. */
function ipFromJSON(f: JsonFields, field: string): Buffer {
  const text = f.string('ip');
  const ip = parseIp(text);
  if (!ip) throw new EncodeError(f.command, `${field}.ip`, `expected an IPv4 or IPv6 address, got ${JSON.stringify(text)}`);
  return ip;
}

/**
 * Text form of a 16-byte address: dotted quad for IPv4-mapped addresses,
 * otherwise RFC 5952 IPv6 (lower case, longest zero run compressed).
 */
export function netAddressToString(ip: Buffer): string {
  return formatIp(ip);
}

/**
 * The 16 wire bytes of an address text: "1.2.3.4" becomes IPv4-mapped,
 * IPv6 text ("::1", "2001:db8::1", "::ffff:1.2.3.4") is taken as is.
 * Throws TypeError on anything else.
 */
export function parseNetAddress(text: string): Buffer {
  const ip = parseIp(text);
  if (!ip) throw new TypeError(`not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
  return ip;
}

/** "1.2.3.4:8333" or "[2001:db8::1]:8333". */
export function formatEndpoint(ip: Buffer, port: number): string {
  const host = netAddressToString(ip);
  return isIPv4Mapped(ip) ? `${host}:${port}` : `[${host}]:${port}`;
}

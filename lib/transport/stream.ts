import net from 'node:net';
import type { Duplex } from 'node:stream';
import { sha256 } from '../hash.js';
import { formatIp, parseIp } from '../ip.js';
import { bareHost, isOnionHost } from './address.js';
import { TransportError, formatTarget } from './errors.js';

/** Where a connection leads, as far as the transport knows. */
export interface RemoteEndpoint {
  /**
   * An IP literal. When the transport has no IP for the remote (a .onion or a name resolved by a
   * proxy, an in-memory pair) this is a synthetic IPv6 address derived from the identity, stable
   * for the same identity: fd87:d87e:eb43::/48 (OnionCat) for .onion, fd00::/8 otherwise.
   */
  readonly address: string;
  /** The remote port, 0 when unknown. */
  readonly port: number;
  /** Key used to refuse a second connection to the same remote ("host:port", lower case). */
  readonly identity: string;
  /** True when `address` is synthetic. */
  readonly synthetic: boolean;
  /** The host as dialed or seen (name or IP), when known. */
  readonly host?: string;
}

/** What the caller knows about a stream; it wins over what a socket reports (proxied sockets report the proxy). */
export interface StreamMeta {
  readonly host?: string;
  readonly port?: number;
  /** Override the identity (e.g. a test's name for an in-memory pair). */
  readonly identity?: string;
}

export interface TransportStream {
  readonly stream: Duplex;
  readonly remote: RemoteEndpoint;
}

const ONIONCAT_PREFIX = Buffer.from('fd87d87eeb43', 'hex');
const SYNTHETIC_PREFIX = Buffer.from('fd', 'hex');
let anonymousStreams = 0;

function syntheticAddress(identity: string, onion: boolean): string {
  const prefix = onion ? ONIONCAT_PREFIX : SYNTHETIC_PREFIX;
  const digest = sha256(Buffer.from(identity));
  return formatIp(Buffer.concat([prefix, digest.subarray(0, 16 - prefix.length)]));
}

/**
 * Canonical text of an IP literal (lib/ip.ts): IPv4-mapped IPv6 becomes plain IPv4. A zone id
 * (a link-local peer's "fe80::1%eth0") is kept as reported.
 */
function normalizeIp(address: string): string {
  const zoneAt = address.indexOf('%');
  const ip = parseIp(zoneAt < 0 ? address : address.slice(0, zoneAt));
  if (ip === undefined) return address;
  return zoneAt < 0 ? formatIp(ip) : formatIp(ip) + address.slice(zoneAt);
}

/**
 * Describe a connected stream: the Duplex itself plus its remote endpoint. Works for net.Socket
 * (TCP, inbound or outbound), proxied sockets (pass meta.host/port: the socket only knows the
 * proxy) and any other Duplex.
 */
export function fromStream(stream: Duplex, meta: StreamMeta = {}): TransportStream {
  const socket = stream instanceof net.Socket ? stream : undefined;
  const rawHost = meta.host !== undefined ? bareHost(meta.host) : socket?.remoteAddress;
  const port = meta.port ?? socket?.remotePort ?? 0;

  if (rawHost === undefined || rawHost === '') {
    const identity = (meta.identity ?? `stream:${++anonymousStreams}`).toLowerCase();
    return { stream, remote: { address: syntheticAddress(identity, false), port, identity, synthetic: true } };
  }
  if (net.isIP(rawHost) !== 0) {
    const address = normalizeIp(rawHost);
    const identity = (meta.identity ?? formatTarget(address, port)).toLowerCase();
    return { stream, remote: { address, port, identity, synthetic: false, host: address } };
  }
  const host = rawHost.toLowerCase().replace(/\.$/, '');
  const identity = (meta.identity ?? formatTarget(host, port)).toLowerCase();
  return { stream, remote: { address: syntheticAddress(identity, isOnionHost(host)), port, identity, synthetic: true, host } };
}

/**
 * One live connection per remote identity. Claim before using a connection, release when it
 * closes; a second claim of the same identity is refused.
 */
export class ConnectionRegistry {
  readonly #claimed = new Set<string>();

  /** True if the identity was free and is now claimed; false if it is already connected. */
  claim(identity: string): boolean {
    const key = identity.toLowerCase();
    if (this.#claimed.has(key)) return false;
    this.#claimed.add(key);
    return true;
  }

  /** Like claim, but throws TransportError 'duplicate'. */
  claimOrThrow(identity: string): void {
    if (!this.claim(identity)) throw new TransportError('duplicate', identity, 'already connected');
  }

  /** Free the identity; returns whether it was claimed. */
  release(identity: string): boolean {
    return this.#claimed.delete(identity.toLowerCase());
  }

  has(identity: string): boolean {
    return this.#claimed.has(identity.toLowerCase());
  }

  get size(): number {
    return this.#claimed.size;
  }
}

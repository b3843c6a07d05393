import net from 'node:net';
import { TransportError, formatTarget } from './errors.js';

/** Host as given, minus the brackets users put around IPv6 literals ("[::1]" -> "::1"). */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** True for Tor hidden-service names (also with a trailing root dot). */
export function isOnionHost(host: string): boolean {
  return /\.onion\.?$/i.test(bareHost(host));
}

/** Refuse hosts and ports that can never be dialed, before any socket exists. */
export function checkDialTarget(host: string, port: number): void {
  const target = formatTarget(bareHost(String(host)), port);
  if (typeof host !== 'string' || bareHost(host).length === 0) {
    throw new TransportError('invalid-address', target, 'empty host');
  }
  // RFC 1928 carries a domain name in one length byte.
  if (net.isIP(bareHost(host)) === 0 && Buffer.byteLength(host) > 255) {
    throw new TransportError('invalid-address', target, 'host name longer than 255 bytes');
  }
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) {
    throw new TransportError('invalid-address', target, 'port must be an integer from 1 to 65535');
  }
}

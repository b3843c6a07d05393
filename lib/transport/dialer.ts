import type { Duplex } from 'node:stream';
import { isOnionHost } from './address.js';
import { type SocksProxyOptions, checkSocksProxyOptions, dialSocks } from './socks.js';
import { type DialOptions, dialTcp } from './tcp.js';

export type { DialOptions } from './tcp.js';

/**
 * The single injection point for outbound connections: everything that opens a socket to a
 * peer goes through a Dialer, so the transport (TCP, SOCKS5/Tor, an in-memory pair in tests)
 * is chosen in one place.
 *
 * Contract: resolve with a connected Duplex or reject with a TransportError. The stream may be
 * paused: the caller attaches its reader and calls resume(). The caller attaches an 'error'
 * listener as soon as the promise resolves.
 */
export type Dialer = (host: string, port: number, options: DialOptions) => Promise<Duplex>;

/** Direct TCP (IPv4/IPv6, names resolved locally); refuses .onion. */
export function tcpDialer(): Dialer {
  return (host, port, options) => dialTcp(host, port, options);
}

/** Everything through one SOCKS5 proxy; host names are resolved by the proxy. */
export function socksDialer(proxy: SocksProxyOptions): Dialer {
  checkSocksProxyOptions(proxy);
  return (host, port, options) => dialSocks(proxy, host, port, options);
}

/** .onion hosts through `onion` (a SOCKS dialer to Tor), everything else through `clearnet`. */
export function onionRoutingDialer(clearnet: Dialer, onion: Dialer): Dialer {
  return (host, port, options) => (isOnionHost(host) ? onion : clearnet)(host, port, options);
}

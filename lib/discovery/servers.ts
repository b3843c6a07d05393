import { getServers } from 'node:dns';
import { isIP } from 'node:net';
import { formatTarget } from '../transport/errors.js';
import { DiscoveryError } from './errors.js';

/** A DNS resolver to send queries to. */
export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

export const DNS_PORT = 53;

/**
 * Parse one resolver address in the forms node:dns `getServers()` uses:
 * "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]", "[::1]:5353".
 */
export function parseDnsServer(text: string): DnsServer {
  const bad = (): DiscoveryError =>
    new DiscoveryError('bad-server-address', `bad DNS server address ${JSON.stringify(text)}`, { server: text });
  const s = text.trim();
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw bad();
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw bad();
      portText = rest.slice(1);
    }
    if (isIP(host) !== 6) throw bad();
  } else if (isIP(s) !== 0) {
    host = s;
  } else {
    // Only IPv4 may carry a bare ":port"; a bare IPv6 address is caught by isIP above.
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw bad();
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (isIP(host) !== 4) throw bad();
  }
  let port = DNS_PORT;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) throw bad();
    port = Number(portText);
    if (port < 1 || port > 65535) throw bad();
  }
  return { host, port };
}

/** The resolvers of the system configuration (resolv.conf), as node:dns sees them. */
export function systemDnsServers(): DnsServer[] {
  return getServers().map(parseDnsServer);
}

/** "host:port", with brackets around IPv6 hosts. */
export function formatDnsServer(server: DnsServer): string {
  return formatTarget(server.host, server.port);
}

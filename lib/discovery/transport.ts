// One DNS exchange over UDP or TCP: send a query, wait for the reply that matches it.
import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import type { DecodedPacket } from 'dns-packet';
import { DiscoveryError, abortedLookup } from './errors.js';
import { isReplyTo, tryDecode, type AddressRecordType } from './packet.js';
import { formatDnsServer, type DnsServer } from './servers.js';

/** A query already encoded, with what its reply must echo. */
export interface PendingQuery {
  readonly id: number;
  readonly name: string;
  readonly type: AddressRecordType;
  readonly bytes: Buffer;
}

export interface ExchangeOptions {
  /** How long to wait for a matching reply, from the moment the query is sent (or the TCP dial starts). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** What a transport reports while it waits; the tests and logs use it to see ignored packets. */
export interface ExchangeStats {
  /** Packets that decoded but were not a reply to our question under our id. */
  mismatched: number;
  /** Packets that did not decode as DNS at all. */
  undecodable: number;
}

type Settle = (outcome: { reply: DecodedPacket } | { error: DiscoveryError }) => void;

/**
 * Run `start` until it settles, the timeout fires or the signal aborts; `start` returns its cleanup,
 * which always runs exactly once.
 */
function bounded(server: DnsServer, query: PendingQuery, opts: ExchangeOptions, start: (settle: Settle) => () => void): Promise<DecodedPacket> {
  const where = formatDnsServer(server);
  return new Promise((resolve, reject) => {
    const { signal } = opts;
    if (signal?.aborted) {
      reject(abortedLookup(query.name, signal, where));
      return;
    }
    let done = false;
    let cleanup: () => void = () => {};
    const settle: Settle = (outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      cleanup();
      if ('reply' in outcome) resolve(outcome.reply);
      else reject(outcome.error);
    };
    const onAbort = (): void => settle({ error: abortedLookup(query.name, signal!, where) });
    const timer = setTimeout(
      () =>
        settle({
          error: new DiscoveryError('timeout', `no reply for ${query.type} ${query.name} from ${where} within ${opts.timeoutMs} ms`, {
            queryName: query.name,
            server: where,
          }),
        }),
      opts.timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const stop = start(settle);
      if (done) stop();
      else cleanup = stop;
    } catch (cause) {
      settle({ error: new DiscoveryError('network', `cannot query ${where}: ${String(cause)}`, { queryName: query.name, server: where, cause }) });
    }
  });
}

function networkError(query: PendingQuery, server: DnsServer, what: string, cause?: unknown): DiscoveryError {
  const where = formatDnsServer(server);
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new DiscoveryError('network', `${what} for ${query.type} ${query.name} at ${where}${reason}`, { queryName: query.name, server: where, cause });
}

/**
 * Send `query` in one datagram and wait for the matching reply. Replies with another id or question,
 * and bytes that are not DNS, are counted and ignored: the wait goes on until the timeout.
 */
export function udpExchange(server: DnsServer, query: PendingQuery, opts: ExchangeOptions, stats?: ExchangeStats): Promise<DecodedPacket> {
  return bounded(server, query, opts, (settle) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    socket.on('error', (cause) => settle({ error: networkError(query, server, 'UDP error', cause) }));
    socket.on('message', (bytes) => {
      const packet = tryDecode(bytes);
      if (packet === undefined) {
        if (stats) stats.undecodable++;
        return;
      }
      if (!isReplyTo(packet, query.id, query.name, query.type)) {
        if (stats) stats.mismatched++;
        return;
      }
      settle({ reply: packet });
    });
    // A connected socket only receives datagrams from the resolver's address and port,
    // and reports ICMP "port unreachable" as an error instead of a silent timeout.
    socket.connect(server.port, server.host, () => {
      socket.send(query.bytes, (cause) => {
        if (cause) settle({ error: networkError(query, server, 'UDP send failed', cause) });
      });
    });
    return () => {
      try {
        socket.close();
      } catch {
        // already closed after an error
      }
    };
  });
}

/** The largest DNS message TCP can carry (its length prefix is 16 bits). */
const MAX_TCP_MESSAGE = 0xffff;

/**
 * Send `query` over TCP with the 2-byte length prefix (RFC 1035 §4.2.2) and wait for the matching
 * reply on the same connection. Pending bytes never exceed one message plus its prefix.
 */
export function tcpExchange(server: DnsServer, query: PendingQuery, opts: ExchangeOptions, stats?: ExchangeStats): Promise<DecodedPacket> {
  return bounded(server, query, opts, (settle) => {
    if (query.bytes.length > MAX_TCP_MESSAGE) throw new RangeError('query too large for TCP');
    const socket = connect({ host: server.host, port: server.port });
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(query.bytes.length);
    socket.on('connect', () => socket.write(Buffer.concat([prefix, query.bytes])));
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        const packet = tryDecode(message);
        if (packet === undefined) {
          if (stats) stats.undecodable++;
        } else if (!isReplyTo(packet, query.id, query.name, query.type)) {
          if (stats) stats.mismatched++;
        } else {
          settle({ reply: packet });
          return;
        }
      }
    });
    socket.on('error', (cause) => settle({ error: networkError(query, server, 'TCP error', cause) }));
    socket.on('close', () => settle({ error: networkError(query, server, 'TCP connection closed before a reply') }));
    return () => socket.destroy();
  });
}

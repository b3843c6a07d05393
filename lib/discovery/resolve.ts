// Resolve one DNS name to addresses: A and AAAA in parallel, UDP first, TCP when truncated,
// retries with backoff across the configured resolvers.
import { isIP } from 'node:net';
import pRetry from 'p-retry';
import { DiscoveryError, abortedLookup } from './errors.js';
import { addressesFrom, buildQuery, randomQueryId, rcodeOf, type AddressRecordType } from './packet.js';
import { formatDnsServer, systemDnsServers, type DnsServer } from './servers.js';
import { tcpExchange, udpExchange, type ExchangeStats, type PendingQuery } from './transport.js';

/** Exponential backoff between attempts (passed to p-retry). */
export interface BackoffOptions {
  /** Delay before the first retry. Default 100 ms. */
  readonly minMs?: number;
  /** Cap on any delay. Default 1000 ms. */
  readonly maxMs?: number;
  /** Growth per retry. Default 2. */
  readonly factor?: number;
  /** Multiply each delay by a random factor in [1, 2) so many clients do not retry in step. Default true. */
  readonly randomize?: boolean;
}

export interface ResolveOptions {
  /** Resolvers, tried in turn: attempt n goes to servers[(n - 1) % servers.length]. Default: the system's. */
  readonly servers?: readonly DnsServer[];
  /** Wait for one attempt's reply (UDP, and TCP again if truncated). Default 2000 ms. */
  readonly timeoutMs?: number;
  /** Extra attempts per record type after the first fails with a transient error. Default 2. */
  readonly retries?: number;
  /** Record types to ask for, in parallel. Default ['A', 'AAAA']. */
  readonly types?: readonly AddressRecordType[];
  readonly backoff?: BackoffOptions;
  readonly signal?: AbortSignal;
}

/** One address with where it came from. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
  readonly type: AddressRecordType;
  /** Seconds the resolver says this record stays valid. */
  readonly ttl: number;
  /** The resolver that answered. */
  readonly server: DnsServer;
  readonly transport: 'udp' | 'tcp';
}

/** The reply to one record type's query (NOERROR or NXDOMAIN). */
export interface QueryAnswer {
  readonly type: AddressRecordType;
  /** "NOERROR" or "NXDOMAIN"; NXDOMAIN is an answer with no addresses, not an error. */
  readonly rcode: string;
  readonly server: DnsServer;
  readonly transport: 'udp' | 'tcp';
  /** Attempts used, 1 when the first one succeeded. */
  readonly attempts: number;
  readonly addresses: readonly ResolvedAddress[];
  /** Packets ignored while waiting: wrong id or question, or not DNS at all. */
  readonly ignored: { readonly mismatched: number; readonly undecodable: number };
}

/** A record type whose query failed on every attempt. */
export interface QueryFailure {
  readonly type: AddressRecordType;
  readonly error: DiscoveryError;
}

export interface SeedResolution {
  /** The name that was queried. */
  readonly name: string;
  /** All addresses of every answered type, A first, in answer order. */
  readonly addresses: readonly ResolvedAddress[];
  /** "NOERROR" if any type answered NOERROR, else the first answer's rcode (e.g. "NXDOMAIN"). */
  readonly rcode: string;
  readonly answers: readonly QueryAnswer[];
  /** Types that failed while others answered (when all fail, resolveSeed throws instead). */
  readonly failures: readonly QueryFailure[];
}

/** ResolveOptions validated, with defaults filled in. */
export interface ResolveSettings {
  readonly servers: readonly DnsServer[];
  readonly timeoutMs: number;
  readonly retries: number;
  readonly types: readonly AddressRecordType[];
  readonly backoff: Required<BackoffOptions>;
  readonly signal?: AbortSignal;
}

/** Validate options once and fill in defaults. */
export function resolveSettings(opts: ResolveOptions = {}): ResolveSettings {
  const servers = opts.servers ?? systemDnsServers();
  if (servers.length === 0) throw new DiscoveryError('no-servers', 'no DNS servers configured');
  for (const s of servers) {
    if (isIP(s.host) === 0 || !Number.isInteger(s.port) || s.port < 1 || s.port > 65535) {
      throw new DiscoveryError('bad-server-address', `bad DNS server ${JSON.stringify(s)}: host must be an IP address`, { server: `${s.host}:${s.port}` });
    }
  }
  const timeoutMs = opts.timeoutMs ?? 2000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  const retries = opts.retries ?? 2;
  if (!Number.isInteger(retries) || retries < 0 || retries > 20) throw new RangeError(`retries must be an integer in 0..20, got ${retries}`);
  const types = opts.types ?? ['A', 'AAAA'];
  if (types.length === 0 || types.some((t) => t !== 'A' && t !== 'AAAA')) throw new RangeError(`types must be a non-empty list of 'A' and 'AAAA'`);
  const backoff = {
    minMs: opts.backoff?.minMs ?? 100,
    maxMs: opts.backoff?.maxMs ?? 1000,
    factor: opts.backoff?.factor ?? 2,
    randomize: opts.backoff?.randomize ?? true,
  };
  if (!(backoff.minMs >= 0) || !(backoff.maxMs >= backoff.minMs) || !(backoff.factor >= 1)) {
    throw new RangeError('backoff needs 0 <= minMs <= maxMs and factor >= 1');
  }
  return { servers, timeoutMs, retries, types: [...new Set(types)], backoff, signal: opts.signal };
}

function rcodeError(rcode: string, name: string, server: DnsServer): DiscoveryError {
  const code = rcode === 'SERVFAIL' ? 'servfail' : rcode === 'REFUSED' ? 'refused' : 'server-error';
  return new DiscoveryError(code, `${formatDnsServer(server)} answered ${rcode} for ${name}`, { queryName: name, server: formatDnsServer(server), rcode });
}

/** Ask for one record type until an answer, a permanent error, or the retries run out. */
async function queryType(name: string, type: AddressRecordType, s: ResolveSettings): Promise<QueryAnswer> {
  const ignored: ExchangeStats = { mismatched: 0, undecodable: 0 };
  const attempt = async (attemptNumber: number): Promise<QueryAnswer> => {
    const server = s.servers[(attemptNumber - 1) % s.servers.length];
    // A fresh id per attempt: a late reply to an earlier attempt cannot be taken for this one.
    const id = randomQueryId();
    const query: PendingQuery = { id, name, type, bytes: buildQuery(id, name, type) };
    const exchange = { timeoutMs: s.timeoutMs, signal: s.signal };
    let transport: 'udp' | 'tcp' = 'udp';
    let reply = await udpExchange(server, query, exchange, ignored);
    if (reply.flag_tc) {
      transport = 'tcp';
      reply = await tcpExchange(server, query, exchange, ignored);
    }
    const rcode = rcodeOf(reply);
    if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') throw rcodeError(rcode, name, server);
    const addresses = rcode === 'NXDOMAIN' ? [] : addressesFrom(reply, name, type);
    return {
      type,
      rcode,
      server,
      transport,
      attempts: attemptNumber,
      ignored: { ...ignored },
      addresses: addresses.map((a) => ({ ...a, family: type === 'A' ? 4 : 6, type, server, transport })),
    };
  };
  try {
    return await pRetry(attempt, {
      retries: s.retries,
      minTimeout: s.backoff.minMs,
      maxTimeout: s.backoff.maxMs,
      factor: s.backoff.factor,
      randomize: s.backoff.randomize,
      signal: s.signal,
      shouldRetry: (error) => error instanceof DiscoveryError && error.transient,
    });
  } catch (error) {
    if (s.signal?.aborted) throw error instanceof DiscoveryError && error.code === 'aborted' ? error : abortedLookup(name, s.signal);
    if (error instanceof DiscoveryError) throw error;
    throw new DiscoveryError('network', `lookup of ${type} ${name} failed: ${String(error)}`, { queryName: name, cause: error });
  }
}

/**
 * Resolve `name` to addresses by asking the resolvers directly with dns-packet (no getaddrinfo),
 * so every record keeps its TTL and the resolver that gave it.
 *
 * Record types are queried in parallel. NXDOMAIN is an empty answer with its rcode recorded. If some
 * types fail, their errors are in `failures`; if every type fails, the first failure is thrown.
 * Time is bounded: per type at most (retries + 1) attempts of timeoutMs each (twice that when a
 * truncated UDP reply sends the attempt to TCP), plus the backoff delays.
 */
export async function resolveSeed(name: string, opts: ResolveOptions = {}): Promise<SeedResolution> {
  const s = resolveSettings(opts);
  return resolveWithSettings(name, s);
}

/** resolveSeed with options already validated (discoverSeeds validates once for all its seeds). */
export async function resolveWithSettings(name: string, s: ResolveSettings): Promise<SeedResolution> {
  const outcomes = await Promise.allSettled(s.types.map((type) => queryType(name, type, s)));
  const answers: QueryAnswer[] = [];
  const failures: QueryFailure[] = [];
  outcomes.forEach((outcome, i) => {
    const type = s.types[i];
    if (outcome.status === 'fulfilled') answers.push(outcome.value);
    else {
      const error = outcome.reason instanceof DiscoveryError ? outcome.reason : new DiscoveryError('network', String(outcome.reason), { queryName: name, cause: outcome.reason });
      failures.push({ type, error });
    }
  });
  if (answers.length === 0) throw failures[0].error;
  const rcode = answers.some((a) => a.rcode === 'NOERROR') ? 'NOERROR' : answers[0].rcode;
  return { name, addresses: answers.flatMap((a) => a.addresses), rcode, answers, failures };
}

/** Why a DNS lookup or a seed discovery failed. */
export type DiscoveryErrorCode =
  /** No matching reply arrived within the timeout, on every attempt. */
  | 'timeout'
  /** The resolver answered SERVFAIL (it could not reach the seed's name servers). */
  | 'servfail'
  /** The resolver answered REFUSED. */
  | 'refused'
  /** The resolver answered with another error rcode (FORMERR, NOTIMP, ...). */
  | 'server-error'
  /** A socket error: ICMP port unreachable, connection refused or reset, TCP closed early. */
  | 'network'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** No resolver configured and none found in the system configuration. */
  | 'no-servers'
  /** A resolver address that is not "ip", "ip:port" or "[ipv6]:port". */
  | 'bad-server-address'
  /** Every seed of a network failed (see `causes`). */
  | 'all-seeds-failed';

/** Codes worth another attempt (with backoff, possibly at the next resolver). */
const TRANSIENT: ReadonlySet<DiscoveryErrorCode> = new Set(['timeout', 'servfail', 'refused', 'server-error', 'network']);

/** A DNS discovery failure with a machine-readable code, the name asked and the resolver that failed. */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';
  constructor(
    readonly code: DiscoveryErrorCode,
    message: string,
    readonly details: {
      /** The DNS name being resolved, when there is one. */
      readonly queryName?: string;
      /** "host:port" of the resolver that produced this error. */
      readonly server?: string;
      /** The rcode of the reply, for server errors. */
      readonly rcode?: string;
      /** Per-seed errors, for 'all-seeds-failed'. */
      readonly causes?: readonly Error[];
      readonly cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get queryName(): string | undefined {
    return this.details.queryName;
  }

  get server(): string | undefined {
    return this.details.server;
  }

  get rcode(): string | undefined {
    return this.details.rcode;
  }

  get causes(): readonly Error[] {
    return this.details.causes ?? [];
  }

  /** True when retrying (later, or at another resolver) may succeed. */
  get transient(): boolean {
    return TRANSIENT.has(this.code);
  }
}

/** The error every lookup gives when the caller's signal fires; `server` when one was being asked. */
export function abortedLookup(name: string, signal: AbortSignal, server?: string): DiscoveryError {
  return new DiscoveryError('aborted', `lookup of ${name} aborted`, { queryName: name, server, cause: signal.reason });
}

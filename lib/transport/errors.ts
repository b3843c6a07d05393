/** Why a connection could not be made (or accepted). */
export type TransportErrorCode =
  /** No answer within the connect timeout. */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** The remote (or, through a proxy, the proxy on its behalf) refused the connection. */
  | 'refused'
  /** No route to the host or network. */
  | 'unreachable'
  /** The connection was reset or closed while being set up. */
  | 'reset'
  /** A host name could not be resolved. */
  | 'dns'
  /** The SOCKS proxy could not be reached, or failed the negotiation. */
  | 'proxy'
  /** The SOCKS proxy refused our credentials (or offered no method we support). */
  | 'proxy-auth'
  /** A .onion host can only be reached through a SOCKS proxy (Tor). */
  | 'onion-needs-proxy'
  /** A host or port that cannot be dialed at all. */
  | 'invalid-address'
  /** A listener could not bind its address. */
  | 'address-in-use'
  /** A second connection to a remote that already has one. */
  | 'duplicate'
  /** Any other socket error; `cause` holds the original. */
  | 'failed';

const TRANSIENT: ReadonlySet<TransportErrorCode> = new Set<TransportErrorCode>([
  'timeout',
  'refused',
  'unreachable',
  'reset',
  'dns',
  'proxy',
  'failed',
]);

/** A dial, proxy or listen failure with a code the connection manager can act on. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  /** True when trying again later may succeed (the retry policy keys off this). */
  readonly transient: boolean;
  constructor(
    readonly code: TransportErrorCode,
    /** The target as the caller named it: "host:port" (IPv6 in brackets). */
    readonly target: string,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(`${target}: ${code}${detail ? ` (${detail})` : ''}`, options);
    this.transient = TRANSIENT.has(code);
  }
}

/** "host:port", with IPv6 literals in brackets. */
export function formatTarget(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Map a Node socket error code (errno name) to a transport error code. */
export function codeFromSocketError(err: unknown): TransportErrorCode {
  const errno = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  switch (errno) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return 'unreachable';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return 'dns';
    case 'EADDRINUSE':
      return 'address-in-use';
    default:
      return 'failed';
  }
}

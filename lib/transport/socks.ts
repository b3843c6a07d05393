import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { SocksClient } from 'socks';
import { bareHost, checkDialTarget } from './address.js';
import { TransportError, type TransportErrorCode, formatTarget } from './errors.js';
import { type DialOptions, checkDialOptions, dialTcp } from './tcp.js';

/** A SOCKS5 proxy (e.g. Tor at 127.0.0.1:9050). */
export interface SocksProxyOptions {
  readonly proxyHost: string;
  readonly proxyPort: number;
  /** Username/password authentication (RFC 1929); give both or neither. */
  readonly username?: string;
  readonly password?: string;
  /**
   * Stream isolation: send fresh random credentials on every connection, so Tor
   * (IsolateSOCKSAuth, on by default) puts each peer on its own circuit.
   * Cannot be combined with a fixed username/password.
   */
  readonly isolate?: boolean;
}

export interface SocksCredentials {
  readonly username: string;
  readonly password: string;
}

/** Random credentials for one isolated connection. */
export function isolationCredentials(): SocksCredentials {
  return { username: randomBytes(12).toString('hex'), password: randomBytes(12).toString('hex') };
}

/** Validate proxy options once; throws TypeError/RangeError for a configuration mistake. */
export function checkSocksProxyOptions(proxy: SocksProxyOptions): void {
  checkDialTarget(proxy.proxyHost, proxy.proxyPort);
  const hasUser = proxy.username !== undefined;
  const hasPassword = proxy.password !== undefined;
  if (hasUser !== hasPassword) throw new TypeError('SOCKS username and password must be given together');
  if (proxy.isolate && hasUser) throw new TypeError('SOCKS isolate generates its own credentials; drop username/password');
  for (const [field, value] of [['username', proxy.username], ['password', proxy.password]] as const) {
    // RFC 1929: each is 1 to 255 bytes.
    if (value !== undefined && (Buffer.byteLength(value) < 1 || Buffer.byteLength(value) > 255)) {
      throw new RangeError(`SOCKS ${field} must be 1 to 255 bytes`);
    }
  }
}

/** Per-connection credentials: the fixed ones, fresh ones when isolating, or none. */
function credentialsFor(proxy: SocksProxyOptions): SocksCredentials | undefined {
  if (proxy.isolate) return isolationCredentials();
  if (proxy.username !== undefined && proxy.password !== undefined) {
    return { username: proxy.username, password: proxy.password };
  }
  return undefined;
}

/** Map a `socks` package error message (its only signal) to our codes. */
function codeFromSocksMessage(message: string): TransportErrorCode {
  if (/Authentication failed|no accepted authentication type/i.test(message)) return 'proxy-auth';
  if (/ConnectionRefused/.test(message)) return 'refused';
  if (/HostUnreachable|NetworkUnreachable/.test(message)) return 'unreachable';
  if (/TTLExpired|timed out/i.test(message)) return 'timeout';
  return 'proxy';
}

/**
 * Connect to host:port through a SOCKS5 proxy. Host names (including .onion) are sent to the
 * proxy as names (address type DOMAINNAME) and resolved there: nothing is looked up locally.
 *
 * The socket comes back paused, like dialTcp's. Any bytes the remote sent together with the
 * proxy's final reply are kept and read first.
 */
export async function dialSocks(
  proxy: SocksProxyOptions,
  host: string,
  port: number,
  options: DialOptions,
): Promise<net.Socket> {
  checkDialOptions(options);
  checkSocksProxyOptions(proxy);
  checkDialTarget(host, port);
  const destination = bareHost(host);
  const target = formatTarget(destination, port);
  const started = Date.now();

  let socket: net.Socket;
  try {
    socket = await dialTcp(proxy.proxyHost, proxy.proxyPort, options);
  } catch (err) {
    if (err instanceof TransportError && (err.code === 'timeout' || err.code === 'aborted')) {
      throw new TransportError(err.code, target, `while connecting to the proxy: ${err.message}`, { cause: err });
    }
    const detail = err instanceof Error ? err.message : String(err);
    throw new TransportError('proxy', target, `proxy unreachable: ${detail}`, { cause: err });
  }

  const remainingMs = Math.max(1, options.timeoutMs - (Date.now() - started));
  const credentials = credentialsFor(proxy);
  // The socks package cannot be cancelled; destroying the socket under it is how we stop it.
  let stopped: TransportErrorCode | null = null;
  const stop = (code: TransportErrorCode): void => {
    stopped ??= code;
    socket.destroy();
  };
  const onAbort = (): void => stop('aborted');
  const timer = setTimeout(() => stop('timeout'), remainingMs);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const cleanup = (): void => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  };

  // dialTcp hands sockets over paused; the socks package reads with a 'data' listener.
  socket.resume();
  try {
    await SocksClient.createConnection({
      command: 'connect',
      destination: { host: destination, port },
      proxy: {
        host: proxy.proxyHost,
        port: proxy.proxyPort,
        type: 5,
        ...(credentials ? { userId: credentials.username, password: credentials.password } : {}),
      },
      existing_socket: socket,
      // Our own timer fires first and gives the typed error.
      timeout: remainingMs + 1000,
    });
  } catch (err) {
    cleanup();
    socket.destroy();
    if (stopped) throw new TransportError(stopped, target, stopped === 'timeout' ? `no SOCKS connection within ${options.timeoutMs} ms` : undefined);
    const message = err instanceof Error ? err.message : String(err);
    throw new TransportError(codeFromSocksMessage(message), target, `SOCKS5: ${message}`, { cause: err });
  }

  // The socks package re-emits bytes that came with its final reply and resumes the socket on
  // the next turn of the event loop; a reader attached later would miss them. Hold them for
  // that turn, then hand the socket over paused with those bytes at the head of its buffer.
  const early: Buffer[] = [];
  let lateError: Error | null = null;
  const hold = (chunk: Buffer): void => {
    early.push(chunk);
  };
  const onError = (err: Error): void => {
    lateError = err;
  };
  socket.on('data', hold);
  socket.on('error', onError);
  await new Promise<void>((resolve) => setImmediate(resolve));
  socket.pause();
  socket.removeListener('data', hold);
  socket.removeListener('error', onError);
  cleanup();
  if (stopped) {
    socket.destroy();
    throw new TransportError(stopped, target);
  }
  if (lateError || socket.destroyed || socket.readableEnded) {
    socket.destroy();
    throw new TransportError('reset', target, 'closed right after the SOCKS handshake', { cause: lateError ?? undefined });
  }
  if (early.length > 0) socket.unshift(Buffer.concat(early));
  return socket;
}

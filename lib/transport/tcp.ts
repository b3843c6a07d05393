import net from 'node:net';
import { bareHost, checkDialTarget, isOnionHost } from './address.js';
import { TransportError, codeFromSocketError, formatTarget } from './errors.js';

/** Options every dialer accepts. */
export interface DialOptions {
  /** Give up (TransportError 'timeout') if the connection is not ready within this many ms. */
  readonly timeoutMs: number;
  /** Abort the attempt (TransportError 'aborted'). It has no effect once the promise has settled. */
  readonly signal?: AbortSignal;
}

/** TCP keep-alive probes start after this much idle time, so dead peers are noticed by the OS too. */
const KEEPALIVE_INITIAL_DELAY_MS = 60_000;

export function checkDialOptions(options: DialOptions): void {
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new RangeError(`timeoutMs must be a positive number, got ${options.timeoutMs}`);
  }
}

/**
 * Open a TCP connection to an IPv4 or IPv6 literal or a host name (resolved locally).
 * `.onion` hosts are refused: they need a SOCKS proxy (see dialSocks).
 *
 * The socket comes back with Nagle off, keep-alive on, and PAUSED, so no byte is lost before the
 * caller is ready: attach a reader, then call resume() (pipe() and async iteration do it for you).
 * Attach an 'error' listener straight away; after the promise resolves, errors are the caller's.
 */
export async function dialTcp(host: string, port: number, options: DialOptions): Promise<net.Socket> {
  checkDialOptions(options);
  checkDialTarget(host, port);
  const address = bareHost(host);
  const target = formatTarget(address, port);
  if (isOnionHost(address)) {
    throw new TransportError('onion-needs-proxy', target, 'configure a SOCKS5 proxy such as Tor');
  }
  const { signal, timeoutMs } = options;
  if (signal?.aborted) throw new TransportError('aborted', target);

  return await new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    let settled = false;

    const settle = (error: TransportError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('connect', onConnect);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (error) {
        // Reject only once the socket is really closed, so a caller that frees a connection slot on
        // failure never has the OS see the failed socket and its replacement at the same time.
        if (socket.closed) reject(error);
        else {
          socket.once('close', () => reject(error));
          socket.destroy();
        }
      } else {
        socket.pause();
        resolve(socket);
      }
    };
    const onConnect = (): void => settle(null);
    const onError = (err: Error): void =>
      settle(new TransportError(codeFromSocketError(err), target, err.message, { cause: err }));
    const onClose = (): void => settle(new TransportError('reset', target, 'closed while connecting'));
    const onAbort = (): void => settle(new TransportError('aborted', target));
    const timer = setTimeout(() => settle(new TransportError('timeout', target, `no connection within ${timeoutMs} ms`)), timeoutMs);

    socket.once('connect', onConnect);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

import pRetry from 'p-retry';
import { tcpDialer, type Dialer } from '../transport/index.js';
import { PeerConnection, type PeerConnectionOptions } from '../peer/connection.js';
import { PeerError } from '../peer/reasons.js';
import { DEFAULT_TIMEOUTS } from '../peer/protocol.js';
import { logHook } from '../logger.js';

export interface ConnectPeerOptions extends Omit<PeerConnectionOptions, 'direction' | 'remote'> {
  readonly host: string;
  readonly port?: number;
  /** The single injection point for outbound sockets: TCP by default, SOCKS5 via socksDialer(). */
  readonly dialer?: Dialer;
  readonly connectTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Dial, run the handshake, and resolve with a ready PeerConnection (or reject with the typed reason). */
export async function connectPeer(opts: ConnectPeerOptions): Promise<PeerConnection> {
  const port = opts.port ?? opts.network.defaultPort;
  const dial = opts.dialer ?? tcpDialer();
  let stream;
  try {
    stream = await dial(opts.host, port, { timeoutMs: opts.connectTimeoutMs ?? 10_000, signal: opts.signal });
  } catch (err) {
    logHook(opts.logger).info('dial failed', () => ({ address: opts.host, port, err: err instanceof Error ? err.message : String(err) }));
    throw err;
  }
  const peer = new PeerConnection(stream, { ...opts, direction: 'outbound', remote: { address: opts.host, port } });
  try {
    // The protocol core enforces the handshake timeout with a typed reason; this timer is only a backstop.
    await peer.ready((opts.timeouts?.handshakeMs ?? DEFAULT_TIMEOUTS.handshakeMs) + 5_000, opts.signal);
  } catch (err) {
    await peer.close('local', 'handshake did not complete');
    throw err;
  }
  return peer;
}

export interface RestartPolicyOptions {
  /** At most this many restarts within `windowMs`. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = Object.freeze({
  maxRestarts: 5,
  windowMs: 10 * 60_000,
  minDelayMs: 1_000,
  maxDelayMs: 60_000,
});

/** Counts restarts in a sliding window; pure, so it is tested with fake time. */
export class RestartBudget {
  private readonly restarts: number[] = [];
  constructor(private readonly policy: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** Record a restart at `now` if the window allows one; false = give up. */
  take(now: number): boolean {
    while (this.restarts.length > 0 && now - this.restarts[0]! >= this.policy.windowMs) this.restarts.shift();
    if (this.restarts.length >= this.policy.maxRestarts) return false;
    this.restarts.push(now);
    return true;
  }
}

/**
 * Keep one outbound connection up: after a transient close, redial with exponential backoff
 * (p-retry), at most `maxRestarts` times within the window. Permanent closes (ban, bad magic,
 * refused user agent) are never retried. Resolves when it gives up or `signal` aborts.
 */
export async function keepConnected(
  opts: ConnectPeerOptions & { readonly restart?: RestartPolicyOptions; readonly onPeer: (peer: PeerConnection) => void },
): Promise<void> {
  const policy = opts.restart ?? DEFAULT_RESTART_POLICY;
  const budget = new RestartBudget(policy);
  const now = (): number => (opts.clock ?? { now: Date.now }).now();
  const log = logHook(opts.logger);
  for (;;) {
    if (opts.signal?.aborted) return;
    let peer: PeerConnection;
    try {
      peer = await pRetry(() => connectPeer(opts), {
        retries: policy.maxRestarts,
        minTimeout: policy.minDelayMs,
        maxTimeout: policy.maxDelayMs,
        signal: opts.signal,
        shouldRetry: (err) => !(err instanceof PeerError) || err.reason.transient,
        onFailedAttempt: (error) => {
          log.info('connect attempt failed', () => ({
            address: opts.host,
            port: opts.port ?? opts.network.defaultPort,
            attempt: error.attemptNumber,
            retriesLeft: error.retriesLeft,
            reason: error instanceof PeerError ? error.reason.code : undefined,
            err: error.message,
          }));
        },
      });
    } catch (err) {
      if (!opts.signal?.aborted) log.warn('gave up connecting', () => ({ address: opts.host, port: opts.port ?? opts.network.defaultPort, err: err instanceof Error ? err.message : String(err) }));
      return;
    }
    opts.onPeer(peer);
    const reason = await new Promise<PeerError['reason']>((resolve) => {
      if (peer.closeReason) resolve(peer.closeReason);
      else peer.once('close', resolve);
    });
    if (!reason.transient || reason.code === 'local') return;
    if (!budget.take(now())) {
      log.warn('restart budget spent', () => ({ address: opts.host, port: opts.port ?? opts.network.defaultPort, reason: reason.code, maxRestarts: policy.maxRestarts, windowMs: policy.windowMs }));
      return;
    }
    log.info('reconnecting', () => ({ address: opts.host, port: opts.port ?? opts.network.defaultPort, reason: reason.code }));
  }
}

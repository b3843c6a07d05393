/**
 * Why a connection closed. `transient` drives retry policy: a transient close may be
 * retried with backoff; a permanent one means forget (or ban) the address.
 */
export type CloseReasonCode =
  | 'local' // we closed it (stop(), app request)
  | 'remote-closed' // the peer closed the socket
  | 'socket-error'
  | 'handshake-timeout'
  | 'ping-timeout'
  | 'inactivity'
  | 'bad-magic'
  | 'protocol-violation' // framing or decode error, bad handshake order
  | 'obsolete-version'
  | 'missing-services'
  | 'user-agent-rejected'
  | 'self-connection'
  | 'duplicate-version'
  | 'over-capacity'
  | 'send-buffer-overflow'
  | 'memory-budget' // the process-wide frame budget was full and this peer gathered the most
  | 'banned';

export interface CloseReason {
  readonly code: CloseReasonCode;
  readonly message: string;
  readonly transient: boolean;
}

const transientCodes: ReadonlySet<CloseReasonCode> = new Set([
  'remote-closed',
  'socket-error',
  'handshake-timeout',
  'ping-timeout',
  'inactivity',
  'over-capacity',
  'send-buffer-overflow',
  'memory-budget',
]);

export function closeReason(code: CloseReasonCode, message: string): CloseReason {
  return { code, message, transient: transientCodes.has(code) };
}

/** A typed error carried by failed promise helpers and `close` events. */
export class PeerError extends Error {
  override readonly name: string = 'PeerError';
  constructor(
    readonly reason: CloseReason,
  ) {
    super(`${reason.code}: ${reason.message}`);
  }
}

/** Why send() did not send a message: the peer would refuse (and ban for) its size, or the connection is closed. */
export type SendRefusalReason = 'oversize' | 'closed';

/** Recorded by PeerConnection.send() when it returns false, and the rejection of a request whose message was refused. */
export class SendRefusedError extends Error {
  override readonly name = 'SendRefusedError';
  constructor(
    readonly reason: SendRefusalReason,
    readonly command: string,
    message: string,
  ) {
    super(message);
  }
}

export class HandshakeError extends PeerError {
  override readonly name = 'HandshakeError';
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly operation: string, readonly timeoutMs: number) {
    super(`${operation} timed out after ${timeoutMs} ms`);
  }
}

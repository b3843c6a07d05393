import type { CloseReason } from './reasons.js';

/**
 * Sees the raw bytes of a connection as they pass the socket, both ways: what was read, before it is
 * decoded, and what is written, as handed to the stream. For wire capture; the tap must not keep or
 * change the buffers' contents beyond reading them. A tap that throws is detached (listenerError).
 */
export interface WireTap {
  /** A returned promise holds reading from the peer paused until it settles (a capture's disk is behind). */
  received(chunk: Buffer): void | Promise<void>;
  sent(chunk: Buffer): void;
  /** The connection closed (with the reason of the ban it asked for, if any); later bytes are not tapped. */
  closed?(reason: CloseReason, ban: string | undefined): void;
}

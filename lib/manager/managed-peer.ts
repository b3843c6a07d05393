import type { Duplex } from 'node:stream';
import type { EventEmitter } from 'eventemitter3';
import { PeerConnection, type PeerConnectionOptions, type PeerEvents } from '../peer/connection.js';
import type { PeerStatsSnapshot } from '../peer/stats.js';
import type { SlotKind } from './slots.js';

/** What the Manager calls with every event a peer emits, to re-emit it with the peer appended. */
export type PeerEventForwarder = (peer: ManagedPeer, event: keyof PeerEvents, args: readonly unknown[]) => void;

/** A getpeerinfo-like row: the peer's own snapshot plus what the Manager knows. */
export interface ManagedPeerSnapshot extends PeerStatsSnapshot {
  /** Why we hold this connection (outbound, inbound, manual, feeler, addr-fetch). */
  readonly type: SlotKind;
  readonly netgroup: string;
  readonly lastBlockAt: number;
  readonly lastTxAt: number;
}

/**
 * A PeerConnection owned by the Manager. Every event it emits is also handed to the Manager, which
 * re-emits it under the same name with the peer appended: one hook instead of a listener per name.
 */
export class ManagedPeer extends PeerConnection {
  readonly type: SlotKind;
  readonly netgroup: string;
  /** Manager clock time of the accept or dial (for eviction; stats carry the peer's own). */
  readonly connectedAt: number;
  /** Last block or transaction received (ms; 0 = never): eviction protects useful peers. */
  lastBlockAt = 0;
  lastTxAt = 0;
  private readonly forwardTo: PeerEventForwarder | undefined;

  constructor(
    stream: Duplex,
    options: PeerConnectionOptions,
    meta: { readonly type: SlotKind; readonly netgroup: string; readonly connectedAt: number; readonly forward: PeerEventForwarder },
  ) {
    super(stream, options);
    this.type = meta.type;
    this.netgroup = meta.netgroup;
    this.connectedAt = meta.connectedAt;
    // Set after super(): the few state events emitted while constructing are not forwarded.
    this.forwardTo = meta.forward;
  }

  override emit<T extends EventEmitter.EventNames<PeerEvents>>(event: T, ...args: EventEmitter.EventArgs<PeerEvents, T>): boolean {
    const handled = super.emit(event, ...args);
    this.forwardTo?.(this, event, args);
    return handled;
  }

  override stats(): ManagedPeerSnapshot {
    return { ...super.stats(), type: this.type, netgroup: this.netgroup, lastBlockAt: this.lastBlockAt, lastTxAt: this.lastTxAt };
  }
}

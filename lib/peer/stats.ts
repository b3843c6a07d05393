import { messageCodecs } from '../messages/index.js';
import type { Clock } from './clock.js';

/**
 * Received commands without a codec are counted under this one key, as the node does: their
 * names are the peer's to choose, and one key per name would grow without bound.
 */
export const OTHER_COMMANDS = '*other*';

export interface CommandCounters {
  readonly messages: number;
  readonly bytes: number;
}

/** A plain snapshot of one connection, like a row of the node's getpeerinfo. */
export interface PeerStatsSnapshot {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly address: string;
  readonly port: number;
  readonly state: string;
  readonly userAgent: string | undefined;
  readonly version: number | undefined;
  readonly services: bigint | undefined;
  readonly startHeight: number | undefined;
  readonly rtt: { readonly lastMs: number | undefined; readonly minMs: number | undefined; readonly meanMs: number | undefined; readonly samples: number };
  readonly misbehaviorScore: number;
  readonly connectedAt: number;
  readonly lastSendAt: number | undefined;
  readonly lastRecvAt: number | undefined;
  /** Socket bytes, framing included. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly sentPerCommand: Readonly<Record<string, CommandCounters>>;
  /** Commands without a codec are counted together under OTHER_COMMANDS ('*other*'). */
  readonly receivedPerCommand: Readonly<Record<string, CommandCounters>>;
}

type Identity = Omit<PeerStatsSnapshot, 'connectedAt' | 'lastSendAt' | 'lastRecvAt' | 'bytesSent' | 'bytesReceived' | 'sentPerCommand' | 'receivedPerCommand'>;

/** Byte and message counters per direction and command. */
export class PeerStats {
  private readonly connectedAt: number;
  private lastSendAt: number | undefined;
  private lastRecvAt: number | undefined;
  private bytesSent = 0;
  private bytesReceived = 0;
  private readonly sentPer = new Map<string, { messages: number; bytes: number }>();
  private readonly receivedPer = new Map<string, { messages: number; bytes: number }>();

  constructor(private readonly clock: Clock) {
    this.connectedAt = clock.now();
  }

  sent(command: string, frameBytes: number): void {
    this.bytesSent += frameBytes;
    this.lastSendAt = this.clock.now();
    bump(this.sentPer, command, frameBytes);
  }

  /** Raw socket bytes as they arrive. */
  received(bytes: number): void {
    this.bytesReceived += bytes;
    this.lastRecvAt = this.clock.now();
  }

  /** A frame header arrived: count the whole frame against its command. */
  receivedMessage(command: string, frameBytes: number): void {
    bump(this.receivedPer, messageCodecs.has(command) ? command : OTHER_COMMANDS, frameBytes);
  }

  snapshot(identity: Identity): PeerStatsSnapshot {
    return {
      ...identity,
      connectedAt: this.connectedAt,
      lastSendAt: this.lastSendAt,
      lastRecvAt: this.lastRecvAt,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      sentPerCommand: Object.fromEntries([...this.sentPer].map(([k, v]) => [k, { ...v }])),
      receivedPerCommand: Object.fromEntries([...this.receivedPer].map(([k, v]) => [k, { ...v }])),
    };
  }
}

function bump(map: Map<string, { messages: number; bytes: number }>, command: string, bytes: number): void {
  const c = map.get(command);
  if (c) {
    c.messages++;
    c.bytes += bytes;
  } else map.set(command, { messages: 1, bytes });
}

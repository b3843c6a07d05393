// The Manager's options, events and stats: its public shape, apart from its behaviour.
import type { Network } from '../networks.js';
import type { BanEntry, NetgroupFunction, PeerStore, PeerStoreCounts } from '../peerstore/index.js';
import type { DnsServer } from '../discovery/index.js';
import type { Dialer, ListenerAddress, SocksProxyOptions } from '../transport/index.js';
import type { PeerConnectionOptions, PeerEvents } from '../peer/connection.js';
import type { Clock } from '../peer/clock.js';
import type { Logger } from '../logger.js';
import type { WireTap } from '../peer/wire-tap.js';
import type { CloseReason } from '../peer/reasons.js';
import type { SlotCounts, SlotKind, SlotLimits } from './slots.js';
import type { EvictionOptions } from './eviction.js';
import type { AddrRateOptions } from './addr-rate.js';
import type { ManagedPeer, ManagedPeerSnapshot } from './managed-peer.js';

export const DEFAULT_OUTBOUND_TARGET = 8;
export const DEFAULT_INBOUND_LIMIT = 117;
export const DEFAULT_FEELER_INTERVAL_MS = 2 * 60_000;
/** Core asks the DNS seeds after 11 s when the address table did not give it outbound peers. */
export const DEFAULT_SEED_FALLBACK_MS = 11_000;

/** Options a peer gets from the Manager; network, direction, endpoint, admission and clock are the Manager's. */
export type ManagedPeerOptions = Omit<PeerConnectionOptions, 'network' | 'direction' | 'remote' | 'admit' | 'clock' | 'id' | 'wireTap'>;

/** Who a wire tap is asked for (ManagerOptions.wireTap). */
export interface WireTapPeer {
  readonly address: string;
  readonly port: number;
  readonly direction: 'inbound' | 'outbound';
  readonly type: SlotKind;
}

export interface ManagerOptions {
  readonly network: Network;
  /** Directory of the PeerStore file. Without it (and without `store`), addresses live in memory only. */
  readonly dataDir?: string;
  /** A PeerStore to use instead of opening one from `dataDir` (the Manager then only flushes it on stop). */
  readonly store?: PeerStore;
  /** Outbound connections to hold (default 8), at most one per netgroup. */
  readonly outbound?: number;
  /** Inbound connections to accept (default 117). */
  readonly inbound?: number;
  /** Accept inbound connections here. No listener without it. */
  readonly listen?: { readonly host: string; readonly port: number };
  /** Manual peers ("host:port", "[v6]:port"), kept connected and redialed with capped backoff. */
  readonly peers?: readonly string[];
  /**
   * Backoff for manual peers (default 1 s doubling up to 60 s, jittered by 1-2x): after failed dials,
   * manualRedialDelay(); after a connection that closed within 10 s, manualReconnectDelay().
   */
  readonly manualBackoff?: { readonly minMs?: number; readonly maxMs?: number };
  /** One feeler connection to a "new" address this often (default 2 min; 0 = none). */
  readonly feelerIntervalMs?: number;
  /** Replace one outbound peer this often, for privacy (default 0 = never). */
  readonly rotateIntervalMs?: number;
  /** How outbound sockets are opened (default TCP; with `proxy`, SOCKS5 through it). */
  readonly dialer?: Dialer;
  /**
   * A SOCKS5 proxy for every outbound connection. The Manager then does no local DNS at all:
   * discovery opens address-fetch connections to the seed names through the proxy.
   */
  readonly proxy?: SocksProxyOptions;
  /** Ask the DNS seeds (or address-fetch them through the proxy). Default: when the outbound target is above 0. */
  readonly discover?: boolean;
  /** Resolvers for DNS seed discovery (default: the system's). */
  readonly dnsServers?: readonly DnsServer[];
  readonly dnsTimeoutMs?: number;
  readonly dnsRetries?: number;
  /** Ask seeds again after this long when fewer than 2 outbound peers are up (default 11 s; 0 = never). */
  readonly seedFallbackMs?: number;
  /** Options for every PeerConnection (user agent, policy, timeouts ...). */
  readonly peerOptions?: ManagedPeerOptions;
  /** Map an IP to its netgroup (test hook: give each 127.0.0.x its own group). */
  readonly netgroup?: NetgroupFunction;
  readonly clock?: Clock;
  readonly connectTimeoutMs?: number;
  /** Skip addresses tried less than this long ago (default the store's 10 min). */
  readonly retryDelayMs?: number;
  /** How long an address-fetch connection waits for `addr` (default 30 s). */
  readonly addrFetchTimeoutMs?: number;
  /** How often slots are topped up besides on every change (default 1 s). */
  readonly maintainIntervalMs?: number;
  readonly eviction?: Partial<EvictionOptions>;
  readonly addrRate?: AddrRateOptions;
  /** Limits for manual, feeler and addr-fetch slots (outbound and inbound come from the options above). */
  readonly slotLimits?: Partial<Pick<SlotLimits, 'manual' | 'feeler' | 'addr-fetch'>>;
  /**
   * Where lifecycle records go: dials, backoff, discovery, evictions, bans, warnings; and, with the
   * peer id as `peer`, each peer's handshake, misbehaviour, ban and close (unless peerOptions has its
   * own logger). Default: nothing is logged.
   */
  readonly logger?: Logger;
  /** Asked once per connection for a tap on its raw bytes (wire capture); undefined = none. */
  readonly wireTap?: (peer: WireTapPeer) => WireTap | undefined;
}

/** Targets that can change while running. */
export interface ManagerTargets {
  readonly outbound?: number;
  readonly inbound?: number;
  readonly manual?: number;
  readonly feeler?: number;
}

export interface DiscoveryEvent {
  readonly method: 'dns' | 'address-fetch';
  /** The seed name (address fetch: one event per seed; DNS: undefined, all seeds at once). */
  readonly seed?: string;
  readonly found: number;
  readonly added: number;
  readonly failures: readonly string[];
  /** DNS only: seeds that answered without any address (rcode NXDOMAIN, or NOERROR with no records). */
  readonly empty?: readonly { readonly seed: string; readonly rcode: string }[];
}

export interface DialFailedEvent {
  readonly host: string;
  readonly port: number;
  readonly type: SlotKind;
  readonly error: unknown;
  /** False when the address can never work (refused user agent, wrong network...): it is forgotten. */
  readonly transient: boolean;
}

export interface EvictionEvent {
  readonly victim: ManagedPeer;
  /** Peer ids kept, and why (netgroup, ping, tx, block, longest, flag). */
  readonly protectedBy: ReadonlyMap<string, string>;
}

export type ForwardedEvents = { [K in keyof PeerEvents]: (...args: [...Parameters<PeerEvents[K]>, ManagedPeer]) => void };

/** Every PeerConnection event with the peer appended, plus the Manager's own. */
export interface ManagerEvents extends ForwardedEvents {
  'peer:ready': (peer: ManagedPeer) => void;
  'peer:close': (peer: ManagedPeer, reason: CloseReason) => void;
  'peer:ban': (peer: ManagedPeer, ban: BanEntry) => void;
  'peer:evict': (event: EvictionEvent) => void;
  discovery: (event: DiscoveryEvent) => void;
  /** An outbound-kind dial or its handshake failed; the Manager retries as its policy says. */
  'dial:failed': (event: DialFailedEvent) => void;
  /** Something failed and the Manager carried on (discovery, flush, a throwing listener). */
  warning: (warning: { readonly code: string; readonly message: string; readonly error?: unknown }) => void;
}

export interface ManagerStats {
  readonly peers: readonly ManagedPeerSnapshot[];
  readonly slots: SlotCounts;
  readonly limits: SlotLimits;
  readonly store: PeerStoreCounts;
  readonly listening: ListenerAddress | undefined;
}


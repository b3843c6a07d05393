/** Manager: connection slots, inbound eviction, addr rate limiting, and the peer pool itself. */
export { ConnectionSlots, DEFAULT_SLOT_LIMITS, SLOT_KINDS, type SlotHandle, type SlotKind, type SlotLimits, type SlotCounts } from './slots.js';
export { selectEvictionVictim, decideEviction, DEFAULT_EVICTION_OPTIONS, type EvictionCandidate, type EvictionOptions, type EvictionDecision, type ProtectionReason } from './eviction.js';
export { AddrRateLimiter, DEFAULT_ADDR_BURST, DEFAULT_ADDR_RATE_PER_SECOND, type AddrRateOptions } from './addr-rate.js';
export { ManagedPeer, type ManagedPeerSnapshot, type PeerEventForwarder } from './managed-peer.js';
export { Manager, INBOUND_REJECTING_ALLOWANCE } from './manager.js';
export { manualRedialDelay, manualReconnectDelay, resolveManualBackoff, DEFAULT_MANUAL_BACKOFF, MANUAL_BACKOFF_DOUBLINGS, type ManualBackoff } from './backoff.js';
export {
  DEFAULT_OUTBOUND_TARGET,
  DEFAULT_INBOUND_LIMIT,
  DEFAULT_FEELER_INTERVAL_MS,
  DEFAULT_SEED_FALLBACK_MS,
  type ManagerOptions,
  type ManagerTargets,
  type ManagerEvents,
  type ManagerStats,
  type ManagedPeerOptions,
  type DiscoveryEvent,
  type EvictionEvent,
  type DialFailedEvent,
  type WireTapPeer,
} from './options.js';

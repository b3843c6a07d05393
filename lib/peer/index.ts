export { PeerConnection, DEFAULT_USER_AGENT, DEFAULT_MAX_UNFLUSHED_BYTES, type PeerConnectionOptions, type PeerEvents, type WaitOptions } from './connection.js';
export { PeerProtocol, DEFAULT_TIMEOUTS, type PeerTimeouts, type LocalVersion, type ProtocolOptions, type ProtocolOutput, type RttStats, type RemotePeerInfo } from './protocol.js';
export type { BlockEnd, BlockHeaderEvent, BlockTransactionEvent } from './block-receiver.js';
export { closeReason, PeerError, HandshakeError, TimeoutError, type CloseReason, type CloseReasonCode } from './reasons.js';
export type { PeerState } from './state.js';
export { DEFAULT_UA_POLICY, ACCEPT_ANY_UA, userAgentAllowed, type UserAgentPolicy } from './user-agent.js';
export { BAN_THRESHOLD, MISBEHAVIOR_POINTS, type MisbehaviorKind } from './misbehavior.js';
export { systemClock, randomNonce, type Clock, type NonceSource } from './clock.js';
export { OTHER_COMMANDS, type PeerStatsSnapshot, type CommandCounters } from './stats.js';

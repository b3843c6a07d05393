// A peer joined to a dialer or a listener. This sits above both lib/peer (which is handed a Duplex
// and never dials) and lib/transport (which knows nothing of the protocol).
export { connectPeer, keepConnected, RestartBudget, DEFAULT_RESTART_POLICY, type ConnectPeerOptions, type RestartPolicyOptions } from './dial.js';
export { acceptPeers, peerOverStream, type InboundPeerOptions } from './accept.js';

// Transports: everything that produces or accepts the Duplex a peer connection runs over.
export { TransportError, type TransportErrorCode, formatTarget } from './errors.js';
export { bareHost, isOnionHost } from './address.js';
export { type DialOptions, dialTcp } from './tcp.js';
export { type SocksProxyOptions, type SocksCredentials, dialSocks, isolationCredentials } from './socks.js';
export { type Dialer, tcpDialer, socksDialer, onionRoutingDialer } from './dialer.js';
export { type RemoteEndpoint, type StreamMeta, type TransportStream, ConnectionRegistry, fromStream } from './stream.js';
export { type Listener, type ListenOptions, type ListenerAddress, listen } from './listener.js';

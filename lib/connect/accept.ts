import type { Duplex } from 'node:stream';
import { ConnectionRegistry, fromStream, listen, type Listener, type ListenOptions, type StreamMeta } from '../transport/index.js';
import { PeerConnection, type PeerConnectionOptions } from '../peer/connection.js';

export type InboundPeerOptions = Omit<PeerConnectionOptions, 'direction' | 'remote'>;

/**
 * Run a PeerConnection over any Duplex (libp2p stream, WebSocket stream, in-memory pair).
 * Without an IP the remote gets a stable synthetic address; a second live connection to the
 * same remote identity is refused (TransportError 'duplicate') when a registry is given.
 */
export function peerOverStream(
  duplex: Duplex,
  meta: StreamMeta,
  opts: PeerConnectionOptions,
  registry?: ConnectionRegistry,
): PeerConnection {
  const { stream, remote } = fromStream(duplex, meta);
  if (registry) {
    registry.claimOrThrow(remote.identity);
  }
  const peer = new PeerConnection(stream, { ...opts, remote: { address: remote.address, port: remote.port } });
  if (registry) peer.once('close', () => registry.release(remote.identity));
  return peer;
}

/** Listen for inbound peers: each accepted socket becomes an inbound PeerConnection handed to `onPeer`. */
export function acceptPeers(
  listenOptions: ListenOptions,
  peerOptions: InboundPeerOptions,
  onPeer: (peer: PeerConnection) => void,
): Promise<Listener> {
  return listen(listenOptions, (socket) => {
    const peer = new PeerConnection(socket, {
      ...peerOptions,
      direction: 'inbound',
      remote: { address: socket.remoteAddress ?? 'unknown', port: socket.remotePort ?? 0 },
    });
    onPeer(peer);
  });
}


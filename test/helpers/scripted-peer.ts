// The far end of a PeerConnection under test, scripted by hand: our own version/verack frames written raw, and a raw
// frame decoder on what the connection sends back (test/peer/huge-tx.test.ts, send-streamed.test.ts,
// test/block/fixtures/huge-tx-child.ts).
import type { Readable, Writable } from 'node:stream';
import { FrameDecoder, encodeMessageFrame } from '../../lib/framing/index.js';
import type { Message, MessageOf } from '../../lib/messages/index.js';
import { regtest } from '../../lib/networks.js';
import type { Socket } from 'node:net';
import { PeerConnection } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';

/** A regtest version message from a scripted peer (protocol 70016); fields given override the defaults. */
export function scriptedVersion(fields: Partial<MessageOf<'version'>> = {}): MessageOf<'version'> {
  return {
    command: 'version', version: 70016, services: 1n, timestamp: 1n,
    addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 },
    addrFrom: { services: 1n, ip: Buffer.alloc(16), port: 0 },
    nonce: 42n, userAgent: '/scripted:1/', startHeight: 5, relay: true,
    ...fields,
  };
}

/** Writes `message` as a regtest frame to `stream` (the scripted side). */
export function sendScripted(stream: Writable, message: Message): boolean {
  return stream.write(encodeMessageFrame(regtest.magic, message, { peerVersion: 70016 }));
}

/**
 * Completes the handshake of `conn` (an inbound connection, which waits for the peer's version) from the scripted
 * side `stream`: our version and verack, then waits until `conn` is ready.
 */
export async function scriptedHandshake(
  stream: Writable,
  conn: PeerConnection,
  version: MessageOf<'version'> = scriptedVersion(),
  timeoutMs = 5000,
): Promise<void> {
  sendScripted(stream, version);
  sendScripted(stream, { command: 'verack' });
  await conn.ready(timeoutMs);
}

/**
 * Decodes every frame the connection writes to `stream` (whole, never streamed) and hands it to `onFrame`; a framing
 * error (bad magic or checksum: interleaved writes) goes to `onError`, or is thrown if none is given.
 */
export function onRawFrames(stream: Readable, onFrame: (command: string, payload: Buffer) => void, onError?: (err: Error) => void): void {
  const decoder = new FrameDecoder({ magic: regtest.magic, shouldStream: () => false });
  stream.on('data', (chunk: Buffer) => {
    try {
      for (const ev of decoder.push(chunk)) if (ev.type === 'frame') onFrame(ev.header.command, ev.payload);
    } catch (err) {
      if (!onError) throw err;
      onError(err as Error);
    }
  });
}

/**
 * A regtest full node's side of an accepted loopback socket, as a PeerConnection the test scripts: it claims
 * `startHeight`, offers NODE_NETWORK (so it is asked for blocks) and keeps its own nonces (both ends live in
 * one process).
 */
export function loopbackFullNodePeer(socket: Socket, startHeight: number): PeerConnection {
  socket.on('error', () => {});
  return new PeerConnection(socket, {
    network: regtest,
    direction: 'inbound',
    userAgentPolicy: ACCEPT_ANY_UA,
    startHeight,
    services: 1n,
    selfNonces: new Set(),
    remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
  });
}

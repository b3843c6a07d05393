// Bad input never crashes: mutated frame streams into a PeerConnection end in a typed close or are ignored.
import t from 'tap';
import { Duplex, PassThrough } from 'node:stream';
import { PeerConnection } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import type { CloseReasonCode } from '../../lib/peer/reasons.js';
import { regtest } from '../../lib/networks.js';
import { encodeMessageFrame } from '../../lib/framing/index.js';
import type { Message } from '../../lib/messages/index.js';
import { seededRandom as prng } from '../helpers/prng.js';

const handshake: Message[] = [
  {
    command: 'version', version: 70016, services: 1n, timestamp: 1n,
    addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 },
    addrFrom: { services: 0n, ip: Buffer.alloc(16), port: 0 },
    nonce: 7n, userAgent: '/fuzz:1/', startHeight: 0, relay: true,
  },
  { command: 'verack' },
];
const traffic: Message[] = [
  { command: 'ping', nonce: 1n },
  { command: 'inv', inventory: [{ type: 1, hash: Buffer.alloc(32, 1) }, { type: 2, hash: Buffer.alloc(32, 2) }] },
  { command: 'headers', headers: [{ version: 1, prevBlock: Buffer.alloc(32), merkleRoot: Buffer.alloc(32, 3), timestamp: 1, bits: 0x207fffff, nonce: 0, txCount: 0 }] },
  { command: 'addr', addresses: [{ time: 1, services: 1n, ip: Buffer.alloc(16), port: 18444 }] },
  { command: 'protoconf', numberOfFields: 2, maxRecvPayloadLength: 2_097_152, streamPolicies: 'Default' },
  { command: 'unknown', name: 'madeup', payload: Buffer.from('hello') },
];

const known: ReadonlySet<CloseReasonCode> = new Set(['bad-magic', 'protocol-violation', 'banned', 'remote-closed', 'socket-error', 'local']);

t.test('300 mutated streams: no exception escapes, every close has a typed reason', async (t) => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  t.teardown(() => void process.off('uncaughtException', onUncaught));
  const rnd = prng(20261123);
  const closes = new Map<string, number>();
  let stayedReady = 0;
  for (let i = 0; i < 300; i++) {
    const toPeer = new PassThrough();
    const fromPeer = new PassThrough();
    fromPeer.resume();
    const stream = Duplex.from({ readable: toPeer, writable: fromPeer });
    const peer = new PeerConnection(stream, { network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set() });
    const body = Buffer.concat(traffic.map((m) => encodeMessageFrame(regtest.magic, m)));
    const mutated = Buffer.from(body);
    const flips = 1 + Math.floor(rnd() * 8);
    for (let f = 0; f < flips; f++) mutated[Math.floor(rnd() * mutated.length)] = Math.floor(rnd() * 256);
    const cut = rnd() < 0.3 ? Math.floor(rnd() * mutated.length) : mutated.length;
    toPeer.write(Buffer.concat(handshake.map((m) => encodeMessageFrame(regtest.magic, m))));
    // Feed in random slices so mutations land across chunk boundaries too.
    for (let p = 0; p < cut; ) {
      const n = 1 + Math.floor(rnd() * 64);
      toPeer.write(mutated.subarray(p, Math.min(cut, p + n)));
      p += n;
    }
    await new Promise((r) => setImmediate(r));
    if (peer.closeReason) {
      closes.set(peer.closeReason.code, (closes.get(peer.closeReason.code) ?? 0) + 1);
      t.ok(known.has(peer.closeReason.code), `iteration ${i}: ${peer.closeReason.code}`);
    } else stayedReady++;
    stream.on('error', () => {});
    await peer.close();
  }
  t.comment(`closed: ${JSON.stringify(Object.fromEntries(closes))}; survived (mutation ignored or scored): ${stayedReady}`);
  t.same(uncaught, [], 'no exception escaped');
});

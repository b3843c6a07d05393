// The receive-side rules of a PeerConnection, driven over in-memory pairs by a raw scripted peer:
// what is read before the handshake completes, and the process-wide frame budget after it.
import t from 'tap';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';
import { PeerConnection, type PeerConnectionOptions } from '../../lib/peer/connection.js';
import { FrameBudget, type FrameBudgetEvictEvent } from '../../lib/peer/frame-budget.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { regtest } from '../../lib/networks.js';
import { FrameDecoder, encodeFrame, encodeFrameHeader, encodeMessageFrame } from '../../lib/framing/index.js';
import { decodeMessage, type Message, type MessageOf } from '../../lib/messages/index.js';
import type { CloseReason } from '../../lib/peer/reasons.js';

/** The far end: raw frames out, decoded messages in, and whether our side closed the stream. */
class RawPeer {
  readonly received: Message[] = [];
  ended = false;
  private readonly decoder = new FrameDecoder({ magic: regtest.magic, shouldStream: () => false });
  constructor(readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      for (const ev of this.decoder.push(chunk)) if (ev.type === 'frame') this.received.push(decodeMessage(ev.header.command, ev.payload));
    });
    stream.on('end', () => (this.ended = true));
    stream.on('close', () => (this.ended = true));
  }
  send(m: Message): void {
    this.stream.write(this.frame(m));
  }
  frame(m: Message): Buffer {
    return encodeMessageFrame(regtest.magic, m, { peerVersion: 70016 });
  }
  version(nonce: bigint): MessageOf<'version'> {
    return {
      command: 'version', version: 70016, services: 1n, timestamp: 1n,
      addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 },
      addrFrom: { services: 1n, ip: Buffer.alloc(16), port: 0 },
      nonce, userAgent: '/raw:1/', startHeight: 0, relay: true,
    };
  }
}

function inbound(opts: Partial<PeerConnectionOptions> = {}): { peer: RawPeer; conn: PeerConnection; events: string[] } {
  const [ours, theirs] = duplexPair();
  const peer = new RawPeer(theirs);
  const conn = new PeerConnection(ours, { network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set(), ...opts });
  const events: string[] = [];
  conn.on('misbehavior', (m) => events.push(`misbehavior:${m.kind}:${m.score}`));
  conn.on('ban', () => events.push('ban'));
  conn.on('close', (r) => events.push(`close:${r.code}`));
  return { peer, conn, events };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const closed = (conn: PeerConnection): Promise<CloseReason> => new Promise((r) => (conn.closeReason ? r(conn.closeReason) : conn.once('close', r)));

async function handshake(peer: RawPeer, conn: PeerConnection, nonce = 7n): Promise<void> {
  peer.send(peer.version(nonce));
  peer.send({ command: 'verack' });
  await conn.ready(5000);
}

t.test('before the handshake a non-handshake frame goes by unread and costs the node\'s 1 point', async (t) => {
  const { peer, conn, events } = inbound();
  const inv = { command: 'inv', inventory: [{ type: 1, hash: Buffer.alloc(32, 1) }] } as Message;
  let invEvents = 0;
  conn.on('inv', () => invEvents++);
  peer.send(inv);
  await tick();
  t.same(events, ['misbehavior:missing-version:1']);
  peer.send(peer.version(8n));
  peer.send(inv); // after version, before verack
  await tick();
  t.same(events, ['misbehavior:missing-version:1', 'misbehavior:missing-verack:2']);
  peer.send({ command: 'verack' });
  await conn.ready(5000);
  peer.send(inv);
  await tick();
  t.equal(invEvents, 1, 'only the inv after the handshake reaches the app');
  t.equal(conn.stats().receivedPerCommand.inv?.messages, 3, 'skipped frames are still counted');
  await conn.close();
});

t.test('a handshake command over the pre-handshake limit is refused at its header: ban and close', async (t) => {
  const { peer, conn, events } = inbound({ preHandshakeMaxPayload: 1000 });
  // Only the 24-byte header is sent: the refusal cannot depend on payload bytes.
  peer.stream.write(encodeFrameHeader(regtest.magic, 'ping', 2000, Buffer.alloc(4)));
  const reason = await closed(conn);
  t.equal(reason.code, 'protocol-violation');
  t.match(reason.message, /before the handshake/);
  t.same(events, ['ban', 'close:protocol-violation']);
});

t.test('a 200 MB tx header before version is refused before its payload is read', async (t) => {
  const { peer, conn, events } = inbound();
  peer.stream.write(Buffer.concat([encodeFrameHeader(regtest.magic, 'tx', 200_000_000, Buffer.alloc(4)), Buffer.alloc(1000)]));
  const reason = await closed(conn);
  t.equal(reason.code, 'protocol-violation');
  t.match(reason.message, /tx.*oversized.*200000000/);
  t.same(events, ['ban', 'close:protocol-violation']);
  await tick();
  t.equal(peer.ended, true, 'the peer sees the stream end');
});

t.test('frames right behind verack in one chunk are judged after the handshake', async (t) => {
  const { peer, conn, events } = inbound();
  let invs = 0;
  conn.on('inv', () => invs++);
  peer.send(peer.version(9n));
  await tick();
  const inv = { command: 'inv', inventory: [{ type: 1, hash: Buffer.alloc(32, 2) }] } as Message;
  peer.stream.write(Buffer.concat([peer.frame({ command: 'verack' }), peer.frame(inv)]));
  await conn.ready(5000);
  await tick();
  t.equal(invs, 1);
  t.same(events, [], 'no point for the inv');
  await conn.close();
});

t.test('the frame budget drops the peer gathering the most and names it', async (t) => {
  const budget = new FrameBudget(1_000_000);
  const evictions: FrameBudgetEvictEvent[] = [];
  budget.on('evict', (e) => evictions.push(e));
  const a = inbound({ frameBudget: budget });
  const b = inbound({ frameBudget: budget });
  await handshake(a.peer, a.conn, 11n);
  await handshake(b.peer, b.conn, 12n);
  const invOf = (n: number): Buffer => encodeFrame(regtest.magic, 'inv', Buffer.alloc(n));
  // a starts gathering 700 kB; b then needs 400 kB: a holds the most and is dropped.
  const aFrame = invOf(700_000);
  a.peer.stream.write(aFrame.subarray(0, 10_000));
  await tick();
  t.equal(budget.usedBytes, 700_000, 'a straddling frame reserves its declared length');
  const bFrame = invOf(400_000);
  b.peer.stream.write(bFrame.subarray(0, 10_000));
  const reason = await closed(a.conn);
  t.equal(reason.code, 'memory-budget');
  t.equal(reason.transient, true);
  t.match(reason.message, /holding 700000 bytes, the most of any peer/);
  t.equal(evictions.length, 1);
  t.equal(evictions[0]!.victim, a.conn, 'the event names the victim');
  t.equal(evictions[0]!.requester, b.conn);
  t.equal(budget.usedBytes, 400_000, 'only b holds a reservation');
  await tick();
  t.equal(a.peer.ended, true, 'the dropped peer sees its stream end');
  // b's frame completes and gives its reservation back (its malformed inv is b's own problem).
  b.peer.stream.write(bFrame.subarray(10_000));
  await tick();
  t.equal(budget.usedBytes, 0);
  t.equal(b.conn.state, 'ready');
  // A frame bigger than the whole budget is refused to its own sender.
  const c = inbound({ frameBudget: budget });
  await handshake(c.peer, c.conn, 13n);
  c.peer.stream.write(invOf(1_500_000).subarray(0, 10_000));
  const cReason = await closed(c.conn);
  t.equal(cReason.code, 'memory-budget');
  t.match(cReason.message, /would exceed the 1000000-byte frame budget/);
  t.equal(b.conn.state, 'ready', 'b is untouched');
  t.equal(budget.usedBytes, 0);
  await b.conn.close();
});

t.test('a closing connection gives back its reservation', async (t) => {
  const budget = new FrameBudget(1_000_000);
  const a = inbound({ frameBudget: budget });
  await handshake(a.peer, a.conn, 14n);
  a.peer.stream.write(encodeFrame(regtest.magic, 'inv', Buffer.alloc(500_000)).subarray(0, 5000));
  await tick();
  t.equal(budget.usedBytes, 500_000);
  await a.conn.close();
  t.equal(budget.usedBytes, 0);
});

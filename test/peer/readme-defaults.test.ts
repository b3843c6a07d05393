// The README's numbers for a PeerConnection (keep-alive, handshake timeout, buffer limits, frame
// budget, huge-tx threshold, user agent) checked as values, not through the constants that hold them,
// so that changing a default without changing the README fails here.
import t from 'tap';
import { duplexPair } from 'node:stream';
import { PeerProtocol, DEFAULT_TIMEOUTS, type ProtocolOutput } from '../../lib/peer/protocol.js';
import { PeerConnection, DEFAULT_USER_AGENT, resolveBufferOptions } from '../../lib/peer/connection.js';
import { defaultFrameBudget, FrameBudget } from '../../lib/peer/frame-budget.js';
import { DEFAULT_HUGE_TX_THRESHOLD } from '../../lib/index.js';
import { regtest } from '../../lib/networks.js';
import type { Message, MessageOf } from '../../lib/messages/index.js';
import { makeProtocol } from './fixtures/protocol.js';

const MINUTE = 60_000;
const MiB = 1024 * 1024;


function peerVersion(version = 70016): MessageOf<'version'> {
  return {
    command: 'version',
    version,
    services: 0x21n,
    timestamp: 1_700_000_000n,
    addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 },
    addrFrom: { services: 0x21n, ip: Buffer.alloc(16), port: 0 },
    nonce: 0xdeadbeefn,
    userAgent: '/Bitcoin SV:1.2.2/',
    startHeight: 800000,
    relay: true,
    associationId: Buffer.alloc(0),
  };
}

const sends = (out: ProtocolOutput[]): Message[] => out.flatMap((o) => (o.type === 'send' ? [o.message] : []));
const closes = (out: ProtocolOutput[]) => out.flatMap((o) => (o.type === 'close' ? [o.reason] : []));

/** Completes the handshake; returns the ping sent at once on ready (as the node does, for an early RTT). */
function handshake(p: PeerProtocol, version = 70016): MessageOf<'ping'> | undefined {
  p.start();
  p.receive(peerVersion(version));
  return sends(p.receive({ command: 'verack' })).find((m) => m.command === 'ping') as MessageOf<'ping'> | undefined;
}

t.test('README: "we ping every 2 min"', (t) => {
  const { p, clock } = makeProtocol();
  const first = handshake(p);
  t.ok(first?.nonce !== undefined, 'a first ping at once on ready');
  clock.t += 5;
  p.receive({ command: 'pong', nonce: first!.nonce! });
  for (let round = 1; round <= 3; round++) {
    clock.t += 2 * MINUTE - 6;
    t.same(sends(p.tick()).map((m) => m.command), [], `round ${round}: no keep-alive ping before 2 min`);
    clock.t += 1;
    const ping = sends(p.tick());
    t.same(ping.map((m) => m.command), ['ping'], `round ${round}: a ping 2 min after the last`);
    clock.t += 5;
    p.receive({ command: 'pong', nonce: (ping[0] as MessageOf<'ping'>).nonce! });
  }
  t.equal(p.rttStats.samples, 4, 'every pong measured');
  t.end();
});

t.test('README: "no pong within 20 min ... closes the connection"', (t) => {
  const { p, clock } = makeProtocol();
  const ping = handshake(p);
  t.equal(ping?.command, 'ping');
  // The peer keeps talking (so inactivity never applies) but never answers the ping.
  for (let minute = 1; minute < 20; minute++) {
    clock.t += MINUTE;
    p.receive({ command: 'inv', inventory: [] } as Message);
    t.same(closes(p.tick()), [], `still open ${minute} min after the ping`);
  }
  clock.t += MINUTE - 1;
  p.receive({ command: 'inv', inventory: [] } as Message);
  t.same(closes(p.tick()), [], 'open 1 ms before 20 min');
  clock.t += 1;
  t.equal(closes(p.tick())[0]?.code, 'ping-timeout', 'closed at 20 min without a pong');
  t.end();
});

t.test('README: "no traffic for 20 min closes the connection" (a pre-BIP31 peer, whose pings are never awaited)', (t) => {
  const { p, clock } = makeProtocol();
  handshake(p, 60000);
  t.equal(p.state, 'ready');
  for (let minute = 1; minute < 20; minute++) {
    clock.t += MINUTE;
    t.same(closes(p.tick()), [], `open after ${minute} silent min`);
  }
  clock.t += MINUTE - 1;
  t.same(closes(p.tick()), [], 'open 1 ms before 20 min');
  clock.t += 1;
  const c = closes(p.tick())[0];
  t.equal(c?.code, 'inactivity', 'closed after 20 min of silence');
  t.end();
});

t.test('README: "Handshake timeout 30 s. All configurable."', (t) => {
  const { p, clock } = makeProtocol({ timeouts: { ...DEFAULT_TIMEOUTS, handshakeMs: 5_000, pingIntervalMs: 1_000, inactivityMs: 3_000 } });
  p.start();
  clock.t += 4_999;
  t.same(closes(p.tick()), []);
  clock.t += 1;
  t.equal(closes(p.tick())[0]?.code, 'handshake-timeout', 'a configured 5 s handshake timeout');
  const { p: q, clock: c2 } = makeProtocol({ timeouts: { ...DEFAULT_TIMEOUTS, pingIntervalMs: 1_000, inactivityMs: 3_000 } });
  handshake(q, 60000);
  c2.t += 1_000;
  t.same(sends(q.tick()).map((m) => m.command), ['ping'], 'a configured 1 s ping interval');
  c2.t += 2_000;
  t.equal(closes(q.tick())[0]?.code, 'inactivity', 'a configured 3 s inactivity limit');
  t.end();
});

t.test('README: the PeerConnection timeouts option reaches the protocol (handshake timeout)', async (t) => {
  const [ours, theirs] = duplexPair();
  theirs.on('data', () => {}); // a peer that reads and never answers
  const conn = new PeerConnection(ours, { network: regtest, direction: 'outbound', timeouts: { handshakeMs: 300 } });
  t.teardown(() => {
    void conn.close();
    theirs.destroy();
  });
  const err = await conn.ready(10_000).catch((e: unknown) => e);
  t.equal(conn.closeReason?.code, 'handshake-timeout', String(err));
});

t.test('README: "a user agent that never contains abc, cash or bch"', (t) => {
  t.notMatch(DEFAULT_USER_AGENT.toLowerCase(), /abc|cash|bch/, 'the default user agent');
  for (const ua of ['/Bitcoin ABC:0.21/', '/bitcoin-cash:1/', '/BCH node/']) {
    const [ours] = duplexPair();
    t.throws(() => new PeerConnection(ours, { network: regtest, direction: 'outbound', userAgent: ua }), RangeError, `${ua} is refused`);
    ours.destroy();
  }
  const [ours] = duplexPair();
  const conn = new PeerConnection(ours, { network: regtest, direction: 'outbound', userAgent: '/my-app:1.0/' });
  t.equal(conn.state, 'awaiting-version', 'any other user agent is sent (our version is out)');
  void conn.close();
  t.end();
});

t.test('README: buffer defaults sendHighWaterMark 1 MiB, maxUnflushedBytes 32 MiB, preHandshakeMaxPayload 1 MiB', (t) => {
  t.same(resolveBufferOptions({}), { sendHighWaterMark: 1 * MiB, maxUnflushedBytes: 32 * MiB, preHandshakeMaxPayload: 1 * MiB });
  t.end();
});

t.test('README: one shared 256 MiB defaultFrameBudget; new FrameBudget(bytes) makes another', (t) => {
  t.equal(defaultFrameBudget.limitBytes, 256 * MiB);
  t.equal(new FrameBudget().limitBytes, 256 * MiB, 'the default size');
  t.equal(new FrameBudget(1000).limitBytes, 1000);
  t.not(new FrameBudget(1000), defaultFrameBudget);
  t.end();
});

t.test('README: hugeTxThreshold default 16 MiB (DEFAULT_HUGE_TX_THRESHOLD)', (t) => {
  t.equal(DEFAULT_HUGE_TX_THRESHOLD, 16 * MiB);
  t.end();
});

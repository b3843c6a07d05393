import t from 'tap';
import { PeerProtocol, DEFAULT_TIMEOUTS, type ProtocolOptions, type ProtocolOutput } from '../../lib/peer/protocol.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { FramingError, DecodeError } from '../../lib/errors.js';
import type { Message, MessageOf } from '../../lib/messages/index.js';
import { makeProtocol } from './fixtures/protocol.js';

function peerVersion(over: Partial<MessageOf<'version'>> = {}): MessageOf<'version'> {
  return {
    command: 'version',
    version: 70016,
    services: 0x21n,
    timestamp: 1_700_000_000n,
    addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 },
    addrFrom: { services: 0x21n, ip: Buffer.alloc(16), port: 0 },
    nonce: 0xdeadbeefn,
    userAgent: '/Bitcoin SV:1.2.2/',
    startHeight: 800000,
    relay: true,
    associationId: Buffer.alloc(0),
    ...over,
  };
}

const sends = (out: ProtocolOutput[]): Message[] => out.flatMap((o) => (o.type === 'send' ? [o.message] : []));
const closes = (out: ProtocolOutput[]) => out.flatMap((o) => (o.type === 'close' ? [o.reason] : []));

function handshake(p: PeerProtocol): void {
  p.start();
  p.receive(peerVersion());
  p.receive({ command: 'verack' });
}

t.test('outbound handshake: version, then verack and protoconf only after the peer version', (t) => {
  const { p } = makeProtocol();
  const first = p.start();
  t.same(sends(first).map((m) => m.command), ['version']);
  const v = sends(first)[0] as MessageOf<'version'>;
  t.equal(v.version, 70016);
  t.equal(v.userAgent, '/bsv-wire:test/');
  t.equal(v.relay, true);
  t.not(v.nonce, 0n);
  t.equal(p.state, 'awaiting-version');
  const afterVersion = p.receive(peerVersion());
  t.same(sends(afterVersion).map((m) => m.command), ['verack', 'protoconf']);
  const pc = sends(afterVersion)[1] as MessageOf<'protoconf'>;
  t.equal(pc.numberOfFields, 2);
  t.equal(pc.maxRecvPayloadLength, 2_097_152);
  t.equal(pc.streamPolicies, 'Default');
  t.equal(p.state, 'awaiting-verack');
  const afterVerack = p.receive({ command: 'verack' });
  t.equal(p.state, 'ready');
  t.ok(afterVerack.some((o) => o.type === 'ready'));
  t.same(sends(afterVerack).map((m) => m.command), ['ping'], 'first ping right after the handshake');
  t.end();
});

t.test('inbound handshake waits for the peer to speak first', (t) => {
  const { p } = makeProtocol({ direction: 'inbound' });
  t.same(sends(p.start()), []);
  t.same(sends(p.receive(peerVersion())).map((m) => m.command), ['version', 'verack', 'protoconf']);
  t.end();
});

t.test('a verack that arrives before the peer version is accepted', (t) => {
  const { p } = makeProtocol();
  p.start();
  p.receive({ command: 'verack' });
  t.equal(p.state, 'awaiting-version');
  p.receive(peerVersion());
  t.equal(p.state, 'ready');
  t.end();
});

t.test('peer validation closes with typed reasons', (t) => {
  const cases: [Partial<MessageOf<'version'>>, Partial<ProtocolOptions>, string][] = [
    [{ version: 31799 }, {}, 'obsolete-version'],
    [{ userAgent: '/Bitcoin ABC:0.21.0/' }, {}, 'user-agent-rejected'],
    [{ userAgent: '/bcash:1.1.1/' }, {}, 'user-agent-rejected'],
    [{ services: 0x20n }, { requiredServices: 1n }, 'missing-services'],
  ];
  for (const [v, opts, code] of cases) {
    const { p } = makeProtocol(opts);
    p.start();
    const out = p.receive(peerVersion(v));
    t.equal(closes(out)[0]?.code, code, code);
    t.equal(p.state, 'failed');
    t.same(sends(out), [], 'nothing sent to a refused peer');
  }
  const { p } = makeProtocol({ userAgentPolicy: ACCEPT_ANY_UA });
  p.start();
  p.receive(peerVersion({ userAgent: '/bcash:1.1.1/' }));
  t.equal(p.state, 'awaiting-verack', 'policy can be switched off');
  t.end();
});

t.test('self-connection is detected by nonce across connections', (t) => {
  const selfNonces = new Set<bigint>();
  const { p: out } = makeProtocol({ selfNonces });
  const { p: inb } = makeProtocol({ selfNonces, direction: 'inbound' });
  const ourVersion = sends(out.start())[0] as MessageOf<'version'>;
  inb.start();
  t.equal(closes(inb.receive(ourVersion))[0]?.code, 'self-connection');
  t.end();
});

t.test('handshake timeout under fake time', (t) => {
  const { p, clock } = makeProtocol();
  p.start();
  clock.advance(29_999);
  t.same(closes(p.tick()), []);
  clock.advance(1);
  const c = closes(p.tick())[0];
  t.equal(c?.code, 'handshake-timeout');
  t.equal(c?.transient, true);
  t.equal(p.state, 'failed');
  t.end();
});

t.test('ping every interval, RTT from the pong, timeout without one', (t) => {
  const { p, clock } = makeProtocol();
  handshake(p);
  const firstPing = p.ping();
  clock.advance(40);
  p.receive({ command: 'pong', nonce: firstPing.nonce });
  t.equal(p.rttStats.lastMs, 40);
  clock.advance(DEFAULT_TIMEOUTS.pingIntervalMs);
  const pings = sends(p.tick());
  t.equal(pings[0]?.command, 'ping');
  clock.advance(10);
  p.receive({ command: 'pong', nonce: 12345n });
  t.equal(p.rttStats.samples, 1, 'a pong with the wrong nonce is ignored');
  p.receive({ command: 'pong', nonce: (pings[0] as MessageOf<'ping'>).nonce! });
  t.equal(p.rttStats.samples, 2);
  t.equal(p.rttStats.minMs, 10);
  t.equal(p.rttStats.meanMs, 25);
  clock.advance(DEFAULT_TIMEOUTS.pingIntervalMs);
  p.tick();
  p.receive({ command: 'inv', inventory: [] } as Message);
  clock.advance(DEFAULT_TIMEOUTS.pingTimeoutMs);
  t.equal(closes(p.tick())[0]?.code, 'ping-timeout');
  t.end();
});

t.test('pings are answered with the same nonce', (t) => {
  const { p } = makeProtocol();
  handshake(p);
  const out = p.receive({ command: 'ping', nonce: 77n });
  t.same(sends(out), [{ command: 'pong', nonce: 77n }]);
  t.end();
});

t.test('a pre-BIP31 ping (no nonce) gets no pong and no points, as the node does', (t) => {
  const { p, clock } = makeProtocol();
  p.start();
  // A protocol-60000 peer: below BIP31, its pings carry no nonce.
  p.receive(peerVersion({ version: 60000 }));
  const early = p.receive({ command: 'ping' });
  t.same(sends(early), [], 'no pong before verack either');
  t.same(early.filter((o) => o.type === 'misbehavior'), [], 'accepted before verack without points');
  t.same(sends(p.receive({ command: 'verack' })), [{ command: 'ping' }], 'our first ping to it is empty too, as the node sends it');
  t.equal(p.state, 'ready');
  clock.advance(1000);
  const out = p.receive({ command: 'ping' });
  t.same(sends(out), [], 'no pong written');
  t.same(out.filter((o) => o.type === 'misbehavior' || o.type === 'close' || o.type === 'ban'), [], 'no misbehaviour, no close');
  t.same(out.filter((o) => o.type === 'message').map((o) => (o as { message: Message }).message), [{ command: 'ping' }], 'the app still sees the ping');
  t.equal(p.score, 0);
  t.equal(p.state, 'ready');
  // The peer stays well: the next ping with a nonce is answered as usual.
  t.same(sends(p.receive({ command: 'ping', nonce: 5n })), [{ command: 'pong', nonce: 5n }]);
  // It never answers our pings, so none is awaited: a busy pre-BIP31 peer outlives the ping timeout.
  const later: Message[] = [];
  for (let elapsed = 0; elapsed <= DEFAULT_TIMEOUTS.pingTimeoutMs + DEFAULT_TIMEOUTS.pingIntervalMs; elapsed += DEFAULT_TIMEOUTS.pingIntervalMs) {
    clock.advance(DEFAULT_TIMEOUTS.pingIntervalMs);
    p.receive({ command: 'inv', inventory: [] } as Message);
    const tick = p.tick();
    t.same(closes(tick), [], `still connected after ${(elapsed + DEFAULT_TIMEOUTS.pingIntervalMs) / 60_000} min`);
    later.push(...sends(tick));
  }
  t.ok(later.length >= 10, `${later.length} keep-alive pings sent`);
  t.ok(later.every((m) => m.command === 'ping' && !('nonce' in m)), 'every one without a nonce');
  t.equal(p.state, 'ready');
  t.end();
});

t.test('an explicit ping() to a pre-BIP31 peer leaves nothing pending, so no ping timeout follows', (t) => {
  const { p, clock } = makeProtocol();
  p.start();
  p.receive(peerVersion({ version: 60000 }));
  p.receive({ command: 'verack' });
  const { nonce, outputs } = p.ping();
  t.same(sends(outputs), [{ command: 'ping', nonce }], 'sent (the peer ignores the nonce)');
  clock.advance(DEFAULT_TIMEOUTS.pingTimeoutMs - 1);
  p.receive({ command: 'inv', inventory: [] } as Message);
  p.noteSent();
  clock.advance(1);
  t.same(closes(p.tick()), [], 'no ping-timeout close');
  t.end();
});

t.test('misbehaviour adds up to a ban', (t) => {
  const { p } = makeProtocol();
  p.start();
  const early = p.receive({ command: 'ping', nonce: 1n });
  t.same(early.filter((o) => o.type === 'misbehavior').map((o) => (o as { kind: string }).kind), ['missing-version']);
  p.receive(peerVersion());
  p.receive({ command: 'verack' });
  const addresses = Array.from({ length: 1001 }, () => ({ time: 0, services: 1n, ip: Buffer.alloc(16), port: 8333 }));
  let out: ProtocolOutput[] = [];
  for (let i = 0; i < 5; i++) out = p.receive({ command: 'addr', addresses } as Message);
  t.equal(p.score, 101);
  t.ok(out.some((o) => o.type === 'ban'));
  t.equal(closes(out)[0]?.code, 'banned');
  t.equal(closes(out)[0]?.transient, false);
  t.end();
});

t.test('protoconf is recorded once; a second or a too-small one closes', (t) => {
  const { p } = makeProtocol();
  handshake(p);
  t.equal(p.remote.maxRecvPayloadLength, 1_048_576, 'legacy limit until protoconf');
  p.receive({ command: 'protoconf', numberOfFields: 2, maxRecvPayloadLength: 4_000_000, streamPolicies: 'BlockPriority,Default' } as Message);
  t.equal(p.remote.maxRecvPayloadLength, 4_000_000);
  t.equal(closes(p.receive({ command: 'protoconf', numberOfFields: 1, maxRecvPayloadLength: 4_000_000 } as Message))[0]?.code, 'protocol-violation');
  const { p: q } = makeProtocol();
  handshake(q);
  t.equal(closes(q.receive({ command: 'protoconf', numberOfFields: 1, maxRecvPayloadLength: 1000 } as Message))[0]?.code, 'protocol-violation');
  t.end();
});

t.test('preferences: sendheaders and sendcmpct', (t) => {
  const { p } = makeProtocol();
  handshake(p);
  p.receive({ command: 'sendheaders' });
  p.receive({ command: 'sendcmpct', announce: false, version: 1n } as Message);
  t.equal(p.remote.prefersHeaders, true);
  t.same(p.remote.compactBlocks, { announce: false, version: 1n });
  const dup = p.receive({ command: 'sendheaders' });
  t.ok(dup.some((o) => o.type === 'misbehavior'));
  t.end();
});

t.test('over capacity: the handshake completes, then a polite close', (t) => {
  const { p } = makeProtocol({ admit: () => false });
  p.start();
  p.receive(peerVersion());
  const out = p.receive({ command: 'verack' });
  t.equal(closes(out)[0]?.code, 'over-capacity');
  t.equal(p.state, 'rejected');
  t.end();
});

t.test('framing errors: wrong magic bans, a bad checksum is dropped, a malformed payload scores', (t) => {
  const { p } = makeProtocol();
  handshake(p);
  t.same(p.protocolError(new FramingError('ping', 'bad-checksum')), []);
  const mal = p.protocolError(new DecodeError('inv', 'count', 'truncated'));
  t.ok(mal.some((o) => o.type === 'misbehavior'));
  t.equal(p.state, 'ready');
  const out = p.protocolError(new FramingError('????', 'bad-magic'));
  t.ok(out.some((o) => o.type === 'ban'));
  t.equal(closes(out)[0]?.code, 'bad-magic');
  t.same(p.receive({ command: 'ping', nonce: 1n }), [], 'a closed peer ignores input');
  t.end();
});

t.test('unknown commands reach the app after the handshake', (t) => {
  const { p } = makeProtocol();
  handshake(p);
  const out = p.receive({ command: 'unknown', name: 'wtxidrelay', payload: Buffer.alloc(0) });
  t.ok(out.some((o) => o.type === 'message' && o.message.command === 'unknown'));
  t.end();
});

t.test('filterload or filteradd to a peer without NODE_BLOOM is a ban, as the node rules', (t) => {
  const { p } = makeProtocol();
  handshake(p);
  const out = p.receive({ command: 'filterload', filter: Buffer.alloc(8), hashFuncs: 1, tweak: 0, flags: 0 } as Message);
  t.ok(out.some((o) => o.type === 'ban'));
  t.equal(closes(out)[0]?.code, 'banned');
  const { p: bloom } = makeProtocol({ local: { protocolVersion: 70016, services: 0x04n, userAgent: '/bsv-wire:test/', startHeight: -1, relay: true } });
  handshake(bloom);
  const ok = bloom.receive({ command: 'filteradd', data: Buffer.alloc(4) } as Message);
  t.same(ok.filter((o) => o.type !== 'message'), [], 'accepted when we offer NODE_BLOOM');
  t.equal(bloom.state, 'ready');
  t.end();
});

// README "PeerConnection": the state sequence with a `state` event per change, and what stats() gives.
import t from 'tap';
import { duplexPair } from 'node:stream';
import { PeerConnection } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { encodeFrame } from '../../lib/framing/index.js';
import { regtest } from '../../lib/networks.js';

function pair(): { out: PeerConnection; inb: PeerConnection; outSide: import('node:stream').Duplex } {
  const [a, b] = duplexPair();
  // Separate nonce sets: with the shared default, the pair would rightly look like a self-connection.
  const out = new PeerConnection(a, { network: regtest, direction: 'outbound', userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set() });
  const inb = new PeerConnection(b, { network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set() });
  return { out, inb, outSide: a };
}

t.test('README: connecting → awaiting-version → awaiting-verack → ready → closing → closed, every change a state event', async (t) => {
  const { out, inb } = pair();
  // Not awaited: a side already closed by its peer waits for its stream's (unref'd) 2 s destroy backstop.
  t.teardown(() => {
    void out.close();
    void inb.close();
  });
  const seen: string[] = [];
  out.on('state', (s) => seen.push(`${s.from}->${s.to}`));
  await Promise.all([out.ready(5000), inb.ready(5000)]);
  await out.close();
  // The first change (connecting -> awaiting-version, our version sent) happens inside the constructor.
  t.same(seen, ['awaiting-version->awaiting-verack', 'awaiting-verack->ready', 'ready->closing', 'closing->closed']);
  t.equal(out.state, 'closed');
});

t.test('README: stats() gives bytes and messages per command both ways, RTT, score and connection times', async (t) => {
  const before = Date.now();
  const { out, inb, outSide } = pair();
  // Not awaited: a side already closed by its peer waits for its stream's (unref'd) 2 s destroy backstop.
  t.teardown(() => {
    void out.close();
    void inb.close();
  });
  await Promise.all([out.ready(5000), inb.ready(5000)]);
  await out.ping(5000);
  const s = out.stats();
  t.ok(s.rtt.samples >= 1 && s.rtt.minMs !== undefined && s.rtt.meanMs !== undefined && s.rtt.lastMs !== undefined, 'RTT last/min/mean');
  t.ok(s.connectedAt >= before && s.connectedAt <= Date.now(), 'connected since');
  t.ok(s.lastSendAt !== undefined && s.lastRecvAt !== undefined, 'last send and receive times');
  t.equal(s.sentPerCommand.ping?.messages !== undefined && s.sentPerCommand.ping.messages >= 1, true, 'pings counted as sent');
  t.ok((s.receivedPerCommand.pong?.messages ?? 0) >= 1, 'pongs counted as received');
  t.equal(s.bytesSent, Object.values(s.sentPerCommand).reduce((n, c) => n + c.bytes, 0), 'sent bytes add up per command');
  t.equal(s.userAgent, '/bsv-wire:0.1.0/');
  t.equal(s.version, 70016);
  t.equal(inb.stats().misbehaviorScore, 0);
  // A malformed ping payload (3 bytes: neither empty nor a nonce) costs the sender points.
  const scored = new Promise<number>((resolve) => inb.once('misbehavior', (m) => resolve(m.score)));
  outSide.write(encodeFrame(regtest.magic, 'ping', Buffer.from('010203', 'hex')));
  const score = await scored;
  t.ok(score > 0, `misbehaviour scored (${score})`);
  t.equal(inb.stats().misbehaviorScore, score, 'the score is in stats()');
});

// Found by the fuzzer (npm run fuzz -- --target protocol): after a close, the peer state machine
// still emitted a ping to send (ping() after a handshake timeout) and still scored misbehaviour
// (an undecodable payload arriving after the close). Closed peers now get neither.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { PeerProtocol, DEFAULT_TIMEOUTS } from '../../lib/peer/protocol.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { regtest } from '../../lib/networks.js';
import { DecodeError, FramingError } from '../../lib/errors.js';
import { protocolTarget } from '../../fuzz/targets.js';

function make(direction: 'inbound' | 'outbound'): { p: PeerProtocol; clock: { now: () => number; t: number } } {
  const clock = { t: 1_000, now: () => clock.t };
  const p = new PeerProtocol({
    network: regtest, direction,
    local: { protocolVersion: 70016, services: 1n, userAgent: '/t/', startHeight: 0, relay: true },
    minPeerVersion: 31800, requiredServices: 0n, userAgentPolicy: ACCEPT_ANY_UA, maxRecvPayloadLength: 2_097_152,
    timeouts: DEFAULT_TIMEOUTS, clock, nonce: () => 42n, selfNonces: new Set(), admit: () => true, banThreshold: 100,
  });
  return { p, clock };
}

t.test('ping() after a handshake timeout sends nothing', async (t) => {
  const { p, clock } = make('outbound');
  p.start();
  clock.t += DEFAULT_TIMEOUTS.handshakeMs;
  const closed = p.tick();
  t.ok(closed.some((o) => o.type === 'close' && o.reason.code === 'handshake-timeout'), 'closed by the handshake timeout');
  const { outputs } = p.ping();
  t.same(outputs.filter((o) => o.type === 'send'), [], 'no ping is sent to the closed peer');
});

t.test('undecodable payloads and framing errors after the close are not scored', async (t) => {
  const { p } = make('inbound');
  p.start();
  p.close('local', 'bye');
  const outputs = [
    ...p.protocolError(new DecodeError('inv', 'count', 'truncated')),
    ...p.protocolError(new FramingError('inv', 'bad-magic')),
  ];
  for (let i = 0; i < 200; i++) outputs.push(...p.protocolError(new FramingError('inv', 'bad-checksum')));
  t.same(outputs, [], 'no misbehaviour, ban or second close');
  t.equal(p.score, 0);
});

t.test('the fuzzer inputs that found it replay clean', async (t) => {
  for (const name of ['protocol-ping-after-close.bin', 'protocol-misbehavior-after-close.bin']) {
    const input = readFileSync(new URL(`./inputs/${name}`, import.meta.url));
    t.doesNotThrow(() => protocolTarget.run(input), name);
  }
});

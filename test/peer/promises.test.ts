// README promises of the PeerConnection helpers that had no test: ping, getHeaders, getBlock and
// getTx honour their timeout and AbortSignal and leave no timer, listener or waiter behind; a
// message above 1 MiB is sent once the peer's protoconf raised its limit, and refused before
// and beyond it.
import t, { type Test } from 'tap';
import { getEventListeners } from 'node:events';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { TimeoutError } from '../../lib/peer/reasons.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { regtest } from '../../lib/networks.js';
import { FrameDecoder, encodeMessageFrame } from '../../lib/framing/index.js';
import { decodeMessage, type Message, type MessageOf } from '../../lib/messages/index.js';

/** The other end, speaking raw frames: it completes the handshake and then answers nothing. */
class SilentPeer {
  readonly received: { command: string; bytes: number }[] = [];
  private readonly decoder = new FrameDecoder({ magic: regtest.magic, shouldStream: () => false, limits: { default: 16 * 1024 * 1024 } });
  constructor(readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      for (const ev of this.decoder.push(chunk)) {
        if (ev.type !== 'frame') continue;
        this.received.push({ command: ev.header.command, bytes: ev.payload.length });
        const m = decodeMessage(ev.header.command, ev.payload);
        if (m.command === 'version') {
          this.send(version);
          this.send({ command: 'verack' });
        }
      }
    });
  }
  send(m: Message): void {
    this.stream.write(encodeMessageFrame(regtest.magic, m, { peerVersion: 70016 }));
  }
}

const version: MessageOf<'version'> = {
  command: 'version', version: 70016, services: 1n, timestamp: 1n,
  addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 }, addrFrom: { services: 1n, ip: Buffer.alloc(16), port: 0 },
  nonce: 4242n, userAgent: '/silent:1/', startHeight: 5, relay: true,
};

async function readyPair(t: Test): Promise<{ conn: PeerConnection; peer: SilentPeer }> {
  const [ours, theirs] = duplexPair();
  const peer = new SilentPeer(theirs);
  const conn = new PeerConnection(ours, { network: regtest, direction: 'outbound', userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set() });
  t.teardown(() => conn.close());
  await conn.ready(5000);
  return { conn, peer };
}

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const waiterCount = (conn: PeerConnection): number => {
  const w = (conn as unknown as { replyWaiters: { eventNames(): (string | symbol)[]; listenerCount(e: string | symbol): number } }).replyWaiters;
  return w.eventNames().reduce((n, e) => n + w.listenerCount(e), 0);
};

type Helper = (conn: PeerConnection, timeoutMs: number, signal?: AbortSignal) => Promise<unknown>;
const helpers: Record<string, Helper> = {
  ping: (conn, timeoutMs, signal) => conn.ping(timeoutMs, signal),
  getHeaders: (conn, timeoutMs, signal) => conn.getHeaders([Buffer.alloc(32, 1)], undefined, { timeoutMs, signal }),
  getBlock: (conn, timeoutMs, signal) => conn.getBlock(Buffer.alloc(32, 2), { timeoutMs, signal }),
  getTx: (conn, timeoutMs, signal) => conn.getTx(Buffer.alloc(32, 3), { timeoutMs, signal }),
};

for (const [name, call] of Object.entries(helpers)) {
  t.test(`${name}: a silent peer times it out, an abort cancels it, nothing is left behind`, async (t) => {
    const { conn } = await readyPair(t);
    const baseTimers = timers();
    const baseWaiters = waiterCount(conn);

    const started = performance.now();
    const err = await call(conn, 150).then(() => undefined, (e: unknown) => e);
    const took = performance.now() - started;
    t.type(err, TimeoutError, 'rejects with TimeoutError');
    t.ok(took >= 145, `after the timeout (${Math.round(took)} ms)`);
    t.equal(timers(), baseTimers, 'no timer left after the timeout');
    t.equal(waiterCount(conn), baseWaiters, 'no reply waiter left after the timeout');

    const ac = new AbortController();
    const reason = new Error('changed my mind');
    const pending = call(conn, 60_000, ac.signal);
    t.equal(timers(), baseTimers + 1, 'one timer while it waits');
    setTimeout(() => ac.abort(reason), 20);
    await t.rejects(pending, reason, 'rejects with the abort reason');
    t.equal(timers(), baseTimers, 'its 60 s timer is cleared by the abort');
    t.equal(waiterCount(conn), baseWaiters, 'no reply waiter left after the abort');
    t.equal(getEventListeners(ac.signal, 'abort').length, 0, 'no listener left on the signal');

    const already = AbortSignal.abort(new Error('before'));
    await t.rejects(call(conn, 60_000, already), { message: 'before' }, 'an aborted signal rejects at once');
    t.equal(timers(), baseTimers, 'and starts no timer');
    t.equal(conn.state, 'ready', 'the connection stays open throughout');
  });
}

t.test('a 1.5 MiB message is refused until the peer protoconf raises its limit, then sent; beyond the new limit refused again', async (t) => {
  const { conn, peer } = await readyPair(t);
  const big: Message = { command: 'unknown', name: 'bigdata', payload: Buffer.alloc(1_572_864, 7) };
  t.equal(conn.remote.maxRecvPayloadLength, 1_048_576, 'the limit is 1 MiB before protoconf');
  t.equal(conn.send(big), false, 'refused while the peer accepts 1 MiB');
  t.match(conn.lastSendRefusal, { name: 'SendRefusedError', reason: 'oversize', command: 'bigdata' }, 'and says why');
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(peer.received.some((m) => m.command === 'bigdata'), 'nothing reached the peer');

  peer.send({ command: 'protoconf', numberOfFields: 2, maxRecvPayloadLength: 2_097_152, streamPolicies: 'Default' });
  const until = performance.now() + 5000;
  while (conn.remote.maxRecvPayloadLength !== 2_097_152 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  t.equal(conn.remote.maxRecvPayloadLength, 2_097_152, 'protoconf raised it to 2 MiB');
  t.equal(conn.send(big), true, 'sent');
  while (!peer.received.some((m) => m.command === 'bigdata') && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  t.same(peer.received.filter((m) => m.command === 'bigdata'), [{ command: 'bigdata', bytes: 1_572_864 }], 'the peer got all 1,572,864 bytes');

  t.equal(conn.send({ command: 'unknown', name: 'bigdata', payload: Buffer.alloc(2_097_153) }), false, 'one byte over the raised limit is refused');
  t.equal(conn.lastSendRefusal?.reason, 'oversize');
  t.equal(conn.state, 'ready');
});

t.test('send() reports every refusal the same way: false, with the reason in lastSendRefusal, never a throw', async (t) => {
  const { conn } = await readyPair(t);
  t.equal(conn.send({ command: 'unknown', name: 'bigdata', payload: Buffer.alloc(1_048_577) }), false, 'oversize: false');
  t.equal(conn.lastSendRefusal?.reason, 'oversize');
  await conn.close();
  t.equal(conn.send({ command: 'ping', nonce: 1n } as Message), false, 'closed: false');
  t.match(conn.lastSendRefusal, { reason: 'closed', command: 'ping' });
});

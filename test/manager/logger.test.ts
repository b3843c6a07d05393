// The Manager's logger: its peers' records carry the peer id (through child() when the logger has it, as
// fields of each record when it has not), and the Manager's own records: start, dial failures and backoff,
// bans with reason, score and address, closes, stop. Two Managers over loopback TCP.
import t from 'tap';
import { Manager, type ManagedPeer } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import type { Message } from '../../lib/messages/index.js';
import type { Logger } from '../../lib/logger.js';
import { recordingLogger, type RecordingLogger } from '../helpers/recording-logger.js';
import { closedPort } from '../helpers/ports.js';
import { waitUntil } from './fixtures/peers.js';

const network = defineNetwork({ name: 'manager-logger', magic: 'a1b2c3e5', defaultPort: 18998 });

/** A recording logger with child(): each child adds its bindings to the records, as pino's does. */
function childLogger(root: RecordingLogger, bindings: Record<string, unknown>, children: Record<string, unknown>[]): Logger {
  return {
    debug: (o, m) => root.debug({ ...bindings, ...o }, m),
    info: (o, m) => root.info({ ...bindings, ...o }, m),
    warn: (o, m) => root.warn({ ...bindings, ...o }, m),
    error: (o, m) => root.error({ ...bindings, ...o }, m),
    child: (more) => {
      children.push(more);
      return childLogger(root, { ...bindings, ...more }, children);
    },
  };
}

t.test("peer records carry the peer id; the Manager logs dials, backoff, the ban and the close", async (t) => {
  const listenerLog = recordingLogger();
  const dialerLog = recordingLogger();
  const children: Record<string, unknown>[] = [];
  const listener = new Manager({
    network,
    outbound: 0,
    listen: { host: '127.0.0.1', port: 0 },
    discover: false,
    feelerIntervalMs: 0,
    // Its own nonce set: both Managers share the process, and the default set would look like a self-connection.
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set() },
    logger: listenerLog,
  });
  t.teardown(() => listener.stop());
  await listener.start();
  const dead = await closedPort();
  const dialer = new Manager({
    network,
    outbound: 0,
    peers: [`127.0.0.1:${listener.listenAddress!.port}`, `127.0.0.1:${dead}`],
    discover: false,
    feelerIntervalMs: 0,
    manualBackoff: { minMs: 50, maxMs: 200 },
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
    logger: childLogger(dialerLog, {}, children),
  });
  t.teardown(() => dialer.stop());
  const dialerReady: ManagedPeer[] = [];
  dialer.on('peer:ready', (p) => dialerReady.push(p));
  await dialer.start();
  await waitUntil(() => dialerReady.length === 1 && listener.peers.some((p) => p.state === 'ready'), 10_000, 'both ends ready');
  await waitUntil(() => dialerLog.find('redial scheduled').length > 0, 10_000, 'a redial of the dead port');

  const inbound = listener.peers[0]!;
  const outbound = dialerReady[0]!;
  t.match(listenerLog.find('manager started')[0]?.fields, { network: 'manager-logger', outbound: 0, manual: 0 });
  t.match(listenerLog.find('handshake done')[0]?.fields, { peer: inbound.id, direction: 'inbound', address: '127.0.0.1', userAgent: '/bsv-wire:0.1.0/' });
  t.match(dialerLog.find('handshake done')[0]?.fields, { peer: outbound.id, direction: 'outbound', address: '127.0.0.1', port: listener.listenAddress!.port });
  t.ok(children.some((b) => b.peer === outbound.id), "the dialer's peer got a child logger bound to its id");
  const failed = dialerLog.find('dial failed').find((r) => r.fields.port === dead);
  t.match(failed?.fields, { address: '127.0.0.1', port: dead, type: 'manual', transient: true });
  t.match(String(failed?.fields.err), /ECONNREFUSED|refused/i, 'the dial error');
  t.match(dialerLog.find('redial scheduled')[0]?.fields, { address: '127.0.0.1', port: dead, failures: 1 });
  t.type(dialerLog.find('redial scheduled')[0]?.fields.delayMs, 'number');

  // The dialer sends a filterload the listener never offered bloom for: 100 points, banned.
  const closed = new Promise<void>((resolve) => listener.once('peer:close', () => resolve()));
  outbound.send({ command: 'filterload', filter: Buffer.alloc(8), hashFuncs: 1, tweak: 0, flags: 0 } as Message);
  await closed;
  const peerRecords = listenerLog.records.filter((r) => ['handshake done', 'misbehavior', 'ban', 'peer closed'].includes(r.msg ?? ''));
  t.same(peerRecords.map((r) => r.msg), ['handshake done', 'misbehavior', 'ban', 'peer closed'], 'the peer records in order');
  t.ok(peerRecords.every((r) => r.fields.peer === inbound.id), 'every peer record carries the peer id');
  t.match(listenerLog.find('ban')[0]?.fields, { peer: inbound.id, score: 100, address: '127.0.0.1', reason: /misbehaviour score 100/ });
  t.match(listenerLog.find('address banned')[0]?.fields, { peer: inbound.id, address: '127.0.0.1', score: 100, reason: /misbehaviour score 100/ });
  t.type(listenerLog.find('address banned')[0]?.fields.until, 'string');
  t.match(listenerLog.find('peer closed')[0]?.fields, { peer: inbound.id, reason: 'banned', address: '127.0.0.1' });
  t.equal(listenerLog.find('address banned')[0]?.level, 'warn');

  // The dialer sees its peer closed by the far end and schedules a reconnect.
  await waitUntil(() => dialerLog.find('peer closed').some((r) => r.fields.peer === outbound.id), 10_000, "the dialer's close record");
  t.match(dialerLog.find('peer closed').find((r) => r.fields.peer === outbound.id)?.fields, { reason: 'remote-closed', direction: 'outbound' });
  await waitUntil(() => dialerLog.find('reconnect scheduled').length > 0, 10_000, 'a reconnect after the close');
  t.match(dialerLog.find('reconnect scheduled')[0]?.fields, { address: '127.0.0.1', port: listener.listenAddress!.port, quickCloses: 1 });

  await dialer.stop();
  await listener.stop();
  t.equal(listenerLog.find('manager stopped').length, 1);
  t.equal(dialerLog.find('manager stopped').length, 1);
});

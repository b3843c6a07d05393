// The logger hook of a PeerConnection, over an in-memory pair to a scripted peer: the handshake,
// misbehaviour, ban and close records with their fields; a failed handshake; pino as the logger (its
// child() binds the peer id); and a logger that throws, which must not break the connection.
import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { duplexPair } from '../helpers/duplex-pair.js';
import { onRawFrames, scriptedVersion, sendScripted } from '../helpers/scripted-peer.js';
import { recordingLogger, throwingLogger } from '../helpers/recording-logger.js';
import { PeerConnection, type PeerConnectionOptions } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { regtest } from '../../lib/networks.js';
import { encodeFrameHeader } from '../../lib/framing/index.js';
import type { Logger } from '../../lib/logger.js';
import type { CloseReason } from '../../lib/peer/reasons.js';

const REMOTE = { address: '127.0.0.9', port: 18444 };

/** An inbound connection (it waits for the scripted peer's version) and the scripted side's stream. */
function scripted(logger: Logger | undefined, opts: Partial<PeerConnectionOptions> = {}) {
  const [ours, theirs] = duplexPair();
  const received: string[] = [];
  onRawFrames(theirs, (command) => received.push(command), () => {});
  const conn = new PeerConnection(ours, { network: regtest, direction: 'inbound', remote: REMOTE, userAgentPolicy: ACCEPT_ANY_UA, logger, ...opts });
  const closed = new Promise<CloseReason>((resolve) => conn.once('close', resolve));
  return { conn, theirs, received, closed };
}

async function handshake(s: ReturnType<typeof scripted>): Promise<void> {
  sendScripted(s.theirs, scriptedVersion({ userAgent: '/scripted:7/', startHeight: 123, services: 0x25n }));
  sendScripted(s.theirs, { command: 'verack' });
  await s.conn.ready(5000);
}

t.test('handshake, misbehaviour, ban for an oversized header, and close: each a record with its fields', async (t) => {
  const logger = recordingLogger();
  const s = scripted(logger);
  t.teardown(() => s.conn.close());
  await handshake(s);

  const [done] = logger.find('handshake done');
  t.ok(done, 'a handshake record');
  t.equal(done!.level, 'info');
  t.match(done!.fields, {
    peer: s.conn.id,
    address: '127.0.0.9',
    port: 18444,
    direction: 'inbound',
    version: 70016,
    userAgent: '/scripted:7/',
    services: '0x25',
    startHeight: 123,
  });
  t.type(done!.fields.handshakeMs, 'number');

  // A second version after the handshake: the node's 1 point.
  sendScripted(s.theirs, scriptedVersion());
  await t.resolves(new Promise<void>((resolve) => s.conn.once('misbehavior', () => resolve())));
  const [misbehavior] = logger.find('misbehavior');
  t.equal(misbehavior?.level, 'warn');
  t.match(misbehavior?.fields, { peer: s.conn.id, kind: 'duplicate-version', points: 1, score: 1, address: '127.0.0.9' });

  // A header that declares 100 MB for an inv: banned at once, as the node does.
  s.theirs.write(encodeFrameHeader(regtest.magic, 'inv', 100_000_000, Buffer.alloc(4)));
  const reason = await s.closed;
  t.equal(reason.code, 'protocol-violation');

  const [ban] = logger.find('ban');
  t.equal(ban?.level, 'warn');
  t.match(ban?.fields, { peer: s.conn.id, score: 1, address: '127.0.0.9', port: 18444, direction: 'inbound' });
  t.match(String(ban?.fields.reason), /100000000/, 'the ban reason names the declared length');

  const [close] = logger.find('peer closed');
  t.equal(close?.level, 'info');
  t.match(close?.fields, { peer: s.conn.id, reason: 'protocol-violation', transient: false, address: '127.0.0.9', score: 1 });
  t.equal(close?.fields.bytesIn, s.conn.stats().bytesReceived, 'bytes in as the connection counted them');
  t.equal(close?.fields.bytesOut, s.conn.stats().bytesSent, 'bytes out as the connection counted them');
  t.ok((close?.fields.bytesIn as number) > 0 && (close?.fields.bytesOut as number) > 0, 'bytes both ways');
  t.type(close?.fields.durationMs, 'number');
  t.same(logger.find('handshake failed'), [], 'a peer that completed its handshake has no handshake failure');
  // Order: what happened first is logged first.
  t.same(
    logger.records.map((r) => r.msg),
    ['handshake done', 'misbehavior', 'ban', 'peer closed'],
  );
});

t.test('a score that reaches 100 bans: misbehaviour with its points, ban with score, close reason banned', async (t) => {
  const logger = recordingLogger();
  const s = scripted(logger);
  t.teardown(() => s.conn.close());
  await handshake(s);
  // filterload to a peer that never offered NODE_BLOOM: 100 points.
  sendScripted(s.theirs, { command: 'filterload', filter: Buffer.alloc(8), hashFuncs: 1, tweak: 0, flags: 0 });
  const reason = await s.closed;
  t.equal(reason.code, 'banned');
  t.match(logger.find('misbehavior')[0]?.fields, { kind: 'unsolicited-filterload', points: 100, score: 100 });
  t.match(logger.find('ban')[0]?.fields, { score: 100, address: '127.0.0.9', reason: /misbehaviour score 100/ });
  t.match(logger.find('peer closed')[0]?.fields, { reason: 'banned', score: 100, address: '127.0.0.9' });
});

t.test('a failed handshake is a warn record with its reason code, then the close record', async (t) => {
  const logger = recordingLogger();
  const s = scripted(logger);
  t.teardown(() => s.conn.close());
  sendScripted(s.theirs, scriptedVersion({ version: 31799 }));
  const reason = await s.closed;
  t.equal(reason.code, 'obsolete-version');
  const [failed] = logger.find('handshake failed');
  t.equal(failed?.level, 'warn');
  t.match(failed?.fields, { peer: s.conn.id, reason: 'obsolete-version', address: '127.0.0.9', direction: 'inbound' });
  t.match(logger.find('peer closed')[0]?.fields, { reason: 'obsolete-version' });
  t.same(logger.find('handshake done'), []);
});

t.test('pino as the logger: its child() binds the peer id, and every line is JSON with pino fields', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  const base = pino({ level: 'debug' }, sink);
  let children = 0;
  const logger: Logger = {
    debug: (o, m) => base.debug(o, m),
    info: (o, m) => base.info(o, m),
    warn: (o, m) => base.warn(o, m),
    error: (o, m) => base.error(o, m),
    child: (bindings) => {
      children++;
      return base.child(bindings);
    },
  };
  const s = scripted(logger);
  await handshake(s);
  await s.conn.close();
  t.equal(children, 1, 'one child per connection');
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(records.map((r) => r.msg), ['handshake done', 'peer closed']);
  for (const r of records) {
    t.equal(r.peer, s.conn.id, `${String(r.msg)}: the peer id bound by child()`);
    t.type(r.level, 'number');
    t.type(r.time, 'number');
  }
  t.match(records[0], { level: 30, userAgent: '/scripted:7/', services: '0x25' });
  t.match(records[1], { reason: 'local', detail: 'closed by us' });
  // pino's own Logger fits the option's type as it is.
  const direct: Logger = base;
  t.ok(direct);
});

t.test('a logger that throws does not break the connection, nor does anything throw out of an event handler', async (t) => {
  const logger = throwingLogger();
  const s = scripted(logger);
  t.teardown(() => s.conn.close());
  const listenerErrors: unknown[] = [];
  s.conn.on('listenerError', (err) => listenerErrors.push(err));
  s.conn.on('ready', () => {
    throw new Error('app listener failure');
  });
  await handshake(s);
  t.equal(s.conn.state, 'ready', 'the handshake completed');
  t.ok(s.received.includes('verack'), 'the peer got our verack');
  t.equal(listenerErrors.length, 1, 'the throwing app listener was still reported');
  // The connection still works: a ping is answered.
  sendScripted(s.theirs, { command: 'ping', nonce: 7n });
  for (let i = 0; i < 200 && !s.received.includes('pong'); i++) await new Promise((r) => setTimeout(r, 25));
  t.ok(s.received.includes('pong'), 'a ping is answered');
  sendScripted(s.theirs, { command: 'filterload', filter: Buffer.alloc(8), hashFuncs: 1, tweak: 0, flags: 0 });
  const reason = await s.closed;
  t.equal(reason.code, 'banned', 'misbehaviour still bans and closes');
  t.ok(logger.calls >= 4, `the logger was called (and threw) ${logger.calls} times`);
});

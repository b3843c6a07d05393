// dialSocks against a real SOCKS5 server (the npm @pondwader/socks5-server; microsocks as an
// optional cross-check when it is on PATH) and an in-process recording one.
import type net from 'node:net';
import t, { type Test } from 'tap';
import { TransportError } from '../../lib/transport/errors.js';
import { dialSocks, isolationCredentials } from '../../lib/transport/socks.js';
import { socksDialer } from '../../lib/transport/dialer.js';
import { type Listener, listen } from '../../lib/transport/listener.js';
import { rejection } from '../helpers/transport-error.js';
import { closedPort } from '../helpers/ports.js';
import { microsocksSkip, startMicrosocks, startRecordingSocks, startSocks5Server, type RecordingSocksServer, type SocksServer } from '../helpers/socks.js';

const TIMEOUT_MS = 5000;

/** Echo server that first greets every client with "hi:<n>" (bytes the client did not ask for). */
async function greetingEchoServer(host: string, port = 0, counter = { accepted: 0 }): Promise<Listener> {
  return listen({ host, port }, (socket) => {
    socket.on('error', () => {});
    socket.write(`hi:${++counter.accepted};`);
    socket.pipe(socket);
    socket.resume();
  });
}

/** Round trip through a dialed socket: read the greeting, echo a line. */
async function exchange(socket: net.Socket, text: string): Promise<string> {
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString();
  });
  socket.resume();
  socket.write(text);
  for (let i = 0; i < 200 && !received.endsWith(text); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return received;
}

/** Connections the echo servers accepted: what actually got through a proxy. */
const reached = { accepted: 0 };
let server: Listener | undefined;
let serverV6: Listener | undefined;
t.teardown(async () => {
  await server?.close({ destroyConnections: true });
  await serverV6?.close({ destroyConnections: true });
});
server = await greetingEchoServer('127.0.0.1', 0, reached);
// 'localhost' may resolve to ::1 first on some machines; serve the same port there too.
serverV6 = await greetingEchoServer('::1', server.address.port, reached);
const port = server.address.port;

/** Start a proxy with its stop() registered on `t` before it starts. */
async function proxyFor(t: Test, start: () => Promise<SocksServer>): Promise<SocksServer> {
  let proxy: SocksServer | undefined;
  t.teardown(() => proxy?.stop());
  proxy = await start();
  return proxy;
}

/** Without auth: an IPv4 literal, a name the proxy resolves, the dialer, isolation, a refused destination. */
async function checkWithoutAuth(t: Test, proxy: SocksServer): Promise<void> {
  const options = { proxyHost: proxy.host, proxyPort: proxy.port };

  const direct = await dialSocks(options, '127.0.0.1', port, { timeoutMs: TIMEOUT_MS });
  direct.on('error', () => {});
  t.teardown(() => direct.destroy());
  t.equal(direct.isPaused(), true, 'handed over paused');
  // The greeting may arrive with the proxy's reply; it must not be lost before we read.
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.match(await exchange(direct, 'ping\n'), /^hi:\d+;ping\n$/, 'greeting kept, then echo');

  const named = await dialSocks(options, 'localhost', port, { timeoutMs: TIMEOUT_MS });
  named.on('error', () => {});
  t.teardown(() => named.destroy());
  t.match(await exchange(named, 'name\n'), /^hi:\d+;name\n$/, 'the proxy resolved "localhost" and reached our server');

  const viaDialer = await socksDialer(options)('127.0.0.1', port, { timeoutMs: TIMEOUT_MS });
  viaDialer.destroy();

  const isolated = await dialSocks({ ...options, isolate: true }, '127.0.0.1', port, { timeoutMs: TIMEOUT_MS });
  isolated.destroy();
  t.pass('isolation credentials are harmless on a proxy without auth');

  const refused = await rejection(dialSocks(options, '127.0.0.1', await closedPort(), { timeoutMs: TIMEOUT_MS }));
  t.equal(refused.code, 'refused', 'the proxy reports the destination refused');
}

/** With username/password: the right ones get through, a wrong or missing password is a TransportError and reaches nothing. */
async function checkWithAuth(t: Test, proxy: SocksServer): Promise<void> {
  const base = { proxyHost: proxy.host, proxyPort: proxy.port };
  const before = reached.accepted;

  const good = await dialSocks({ ...base, username: 'alice', password: 's3cret' }, '127.0.0.1', port, { timeoutMs: TIMEOUT_MS });
  good.on('error', () => {});
  t.teardown(() => good.destroy());
  t.match(await exchange(good, 'auth\n'), /auth\n$/);

  const wrong = await rejection(dialSocks({ ...base, username: 'alice', password: 'nope' }, '127.0.0.1', port, { timeoutMs: TIMEOUT_MS }));
  t.ok(wrong instanceof TransportError, 'wrong password: a TransportError');
  t.equal(wrong.code, 'proxy-auth', 'wrong password');
  t.equal(wrong.transient, false);

  const missing = await rejection(dialSocks(base, '127.0.0.1', port, { timeoutMs: TIMEOUT_MS }));
  t.equal(missing.code, 'proxy-auth', 'no credentials');
  // Give a wrongly admitted connection time to arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(reached.accepted - before, 1, 'only the authenticated connection reached the server');
}

t.test('through the npm SOCKS5 server without auth: IPv4 literal and a name resolved by the proxy', async (t) => {
  const proxy = await proxyFor(t, () => startSocks5Server());
  await checkWithoutAuth(t, proxy);
});

t.test('through the npm SOCKS5 server with username/password: it refuses a wrong or missing password', async (t) => {
  let proxy: Awaited<ReturnType<typeof startSocks5Server>> | undefined;
  t.teardown(() => proxy?.stop());
  proxy = await startSocks5Server({ auth: { username: 'alice', password: 's3cret' } });
  await checkWithAuth(t, proxy);
  t.equal(proxy.connections(), 3, 'three connections reached the proxy');
  t.same(proxy.requests.map((r) => r.username), ['alice'], 'only the good credentials got as far as a CONNECT request');
});

t.test('through the npm SOCKS5 server: .onion and seed names are resolved by the proxy, never locally', async (t) => {
  const onion = 'expyuzz4wqqyqhjn.onion';
  const seed = 'seed.bsv-wire.invalid';
  let proxy: Awaited<ReturnType<typeof startSocks5Server>> | undefined;
  t.teardown(() => proxy?.stop());
  proxy = await startSocks5Server({ names: { [onion]: '127.0.0.1', [seed]: '127.0.0.1' } });
  const options = { proxyHost: proxy.host, proxyPort: proxy.port };
  // Neither name can resolve outside the proxy (RFC 7686 .onion, RFC 6761 .invalid): a local
  // lookup would fail with 'dns' before any byte reached the proxy.
  for (const name of [onion, seed]) {
    const socket = await dialSocks(options, name, port, { timeoutMs: TIMEOUT_MS });
    socket.on('error', () => {});
    t.teardown(() => socket.destroy());
    t.match(await exchange(socket, `${name}\n`), new RegExp(`^hi:\\d+;${name.replaceAll('.', '\\.')}\n$`), `${name} reached our server`);
  }
  const unknown = await rejection(dialSocks(options, 'other.bsv-wire.invalid', port, { timeoutMs: TIMEOUT_MS }));
  t.equal(unknown.code, 'unreachable', 'a name the proxy cannot resolve');
  t.same(
    proxy.requests.map(({ host, port: p, dialed }) => ({ host, port: p, dialed })),
    [
      { host: onion, port, dialed: '127.0.0.1' },
      { host: seed, port, dialed: '127.0.0.1' },
      { host: 'other.bsv-wire.invalid', port, dialed: undefined },
    ],
    'the proxy got the names as names',
  );
});

t.test('cross-check: through microsocks without auth', { skip: microsocksSkip() }, async (t) => {
  await checkWithoutAuth(t, await proxyFor(t, () => startMicrosocks()));
});

t.test('cross-check: through microsocks with username/password', { skip: microsocksSkip() }, async (t) => {
  await checkWithAuth(t, await proxyFor(t, () => startMicrosocks({ username: 'alice', password: 's3cret' })));
});

t.test('names go to the proxy as names (no local lookup); literals as addresses', async (t) => {
  let proxy: RecordingSocksServer | undefined;
  t.teardown(() => proxy?.stop());
  proxy = await startRecordingSocks({ target: { host: '127.0.0.1', port } });
  const options = { proxyHost: proxy.host, proxyPort: proxy.port };

  // ".invalid" can never resolve (RFC 6761): a local lookup would fail with 'dns'.
  const named = await dialSocks(options, 'peer.invalid', 8333, { timeoutMs: TIMEOUT_MS });
  named.on('error', () => {});
  t.teardown(() => named.destroy());
  t.match(await exchange(named, 'x\n'), /x\n$/, 'connected through the proxy');
  const onion = await dialSocks(options, 'expyuzz4wqqyqhjn.onion', 8333, { timeoutMs: TIMEOUT_MS });
  onion.destroy();
  (await dialSocks(options, '127.0.0.1', 8333, { timeoutMs: TIMEOUT_MS })).destroy();
  (await dialSocks(options, '[::1]', 18444, { timeoutMs: TIMEOUT_MS })).destroy();

  t.same(
    proxy.requests.map(({ addressType, host, port: p }) => ({ addressType, host, port: p })),
    [
      { addressType: 'domain', host: 'peer.invalid', port: 8333 },
      { addressType: 'domain', host: 'expyuzz4wqqyqhjn.onion', port: 8333 },
      { addressType: 'ipv4', host: '127.0.0.1', port: 8333 },
      { addressType: 'ipv6', host: '0:0:0:0:0:0:0:1', port: 18444 },
    ],
  );
  t.ok(proxy.requests.every((r) => r.methods.includes(0) && r.username === undefined), 'no credentials offered by default');
});

t.test('isolate sends fresh random credentials on every connection', async (t) => {
  const a = isolationCredentials();
  const b = isolationCredentials();
  t.not(a.username, b.username);
  t.not(a.password, b.password);

  let proxy: RecordingSocksServer | undefined;
  t.teardown(() => proxy?.stop());
  proxy = await startRecordingSocks({ target: { host: '127.0.0.1', port }, requireAuth: true });
  const dial = socksDialer({ proxyHost: proxy.host, proxyPort: proxy.port, isolate: true });
  for (let i = 0; i < 3; i++) (await dial('peer.invalid', 8333, { timeoutMs: TIMEOUT_MS })).destroy();
  t.equal(proxy.requests.length, 3);
  const usernames = new Set(proxy.requests.map((r) => r.username));
  const passwords = new Set(proxy.requests.map((r) => r.password));
  t.equal(usernames.size, 3, 'three distinct usernames');
  t.equal(passwords.size, 3, 'three distinct passwords');
  t.ok(proxy.requests.every((r) => r.methods.includes(2) && (r.username ?? '').length > 0), 'username/password offered');
});

t.test('a stalled proxy times out, an abort cancels, an absent proxy is a proxy error', async (t) => {
  let proxy: RecordingSocksServer | undefined;
  t.teardown(() => proxy?.stop());
  proxy = await startRecordingSocks({ stall: true });
  const options = { proxyHost: proxy.host, proxyPort: proxy.port };

  const timedOut = await rejection(dialSocks(options, 'peer.invalid', 8333, { timeoutMs: 200 }));
  t.equal(timedOut.code, 'timeout');
  t.equal(timedOut.target, 'peer.invalid:8333', 'the error names the destination');

  const controller = new AbortController();
  const pending = dialSocks(options, 'peer.invalid', 8333, { timeoutMs: 30_000, signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  t.equal((await rejection(pending)).code, 'aborted');

  const absent = await rejection(dialSocks({ proxyHost: '127.0.0.1', proxyPort: await closedPort() }, 'peer.invalid', 8333, { timeoutMs: TIMEOUT_MS }));
  t.equal(absent.code, 'proxy');
  t.equal(absent.transient, true);
  t.match(absent.message, /proxy unreachable/);
});

t.test('proxy options are checked once', async (t) => {
  t.throws(() => socksDialer({ proxyHost: '127.0.0.1', proxyPort: 9050, username: 'u' }), TypeError);
  t.throws(() => socksDialer({ proxyHost: '127.0.0.1', proxyPort: 9050, username: 'u', password: 'p', isolate: true }), TypeError);
  t.throws(() => socksDialer({ proxyHost: '127.0.0.1', proxyPort: 9050, username: '', password: 'p' }), RangeError);
  t.throws(() => socksDialer({ proxyHost: '127.0.0.1', proxyPort: 0 }), TransportError);
  await t.rejects(dialSocks({ proxyHost: '127.0.0.1', proxyPort: 9050 }, 'x'.repeat(256), 8333, { timeoutMs: 1000 }), { code: 'invalid-address' });
});

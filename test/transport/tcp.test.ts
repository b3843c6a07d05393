import net from 'node:net';
import { Duplex } from 'node:stream';
import { once } from 'node:events';
import t from 'tap';
import { dialTcp } from '../../lib/transport/tcp.js';
import { tcpDialer, onionRoutingDialer, type Dialer } from '../../lib/transport/dialer.js';
import { listen } from '../../lib/transport/listener.js';
import { rejection } from '../helpers/transport-error.js';
import { closedPort, startUnresponsiveListener } from '../helpers/ports.js';

/** An echo server on loopback through lib/transport/listener. */
async function echoServer(host: string) {
  return listen({ host, port: 0 }, (socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
    socket.resume();
  });
}

for (const host of ['127.0.0.1', '::1']) {
  t.test(`dialTcp reaches a local server over ${host}, handed over paused`, async (t) => {
    const server = await echoServer(host);
    t.teardown(() => server.close({ destroyConnections: true }));
    t.equal(server.address.host, host);

    const socket = await dialTcp(host === '::1' ? '[::1]' : host, server.address.port, { timeoutMs: 5000 });
    socket.on('error', () => {});
    t.teardown(() => socket.destroy());
    t.equal(socket.remoteAddress, host);
    t.equal(socket.remotePort, server.address.port);
    t.equal(socket.isPaused(), true, 'handed over paused');

    socket.write('hello');
    // Nothing is lost while paused: the echo waits in the buffer until we read.
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.resume();
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    t.equal(chunk.toString(), 'hello');
  });
}

t.test('a closed loopback port gives a transient "refused"', async (t) => {
  const port = await closedPort();
  const error = await rejection(dialTcp('127.0.0.1', port, { timeoutMs: 5000 }));
  t.equal(error.code, 'refused');
  t.equal(error.transient, true);
  t.equal(error.target, `127.0.0.1:${port}`);
});

t.test('a connect that hangs times out, and an abort cancels it', async (t) => {
  const blackhole = await startUnresponsiveListener();
  t.teardown(() => blackhole.stop());

  const timedOut = await rejection(dialTcp(blackhole.host, blackhole.port, { timeoutMs: 200 }));
  t.equal(timedOut.code, 'timeout');
  t.equal(timedOut.transient, true);

  const controller = new AbortController();
  const pending = dialTcp(blackhole.host, blackhole.port, { timeoutMs: 30_000, signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  const aborted = await rejection(pending);
  t.equal(aborted.code, 'aborted');
  t.equal(aborted.transient, false);

  const already = await rejection(dialTcp('127.0.0.1', 1, { timeoutMs: 1000, signal: AbortSignal.abort() }));
  t.equal(already.code, 'aborted', 'an already-aborted signal never dials');
});

t.test('.onion hosts and impossible targets are refused before any socket exists', async (t) => {
  const onion = await rejection(dialTcp('expyuzz4wqqyqhjn.onion', 8333, { timeoutMs: 1000 }));
  t.equal(onion.code, 'onion-needs-proxy');
  t.equal(onion.transient, false);
  t.equal((await rejection(dialTcp('ABCDEFGHIJKLMNOP.ONION.', 8333, { timeoutMs: 1000 }))).code, 'onion-needs-proxy');
  t.equal((await rejection(dialTcp('127.0.0.1', 0, { timeoutMs: 1000 }))).code, 'invalid-address');
  t.equal((await rejection(dialTcp('127.0.0.1', 70000, { timeoutMs: 1000 }))).code, 'invalid-address');
  t.equal((await rejection(dialTcp('', 8333, { timeoutMs: 1000 }))).code, 'invalid-address');
  await t.rejects(dialTcp('127.0.0.1', 8333, { timeoutMs: 0 }), RangeError, 'a non-positive timeout is a programming error');
});

t.test('onionRoutingDialer sends .onion to the onion dialer and the rest to clearnet', async (t) => {
  const seen: string[] = [];
  const recording =
    (name: string): Dialer =>
    async (host) => {
      seen.push(`${name}:${host}`);
      return new Duplex({ read() {}, write(_chunk, _encoding, done) { done(); } });
    };
  const dial = onionRoutingDialer(recording('tcp'), recording('tor'));
  await dial('1.2.3.4', 8333, { timeoutMs: 1000 });
  await dial('abc.onion', 8333, { timeoutMs: 1000 });
  t.same(seen, ['tcp:1.2.3.4', 'tor:abc.onion']);

  const server = await echoServer('127.0.0.1');
  t.teardown(() => server.close({ destroyConnections: true }));
  const stream = await tcpDialer()('127.0.0.1', server.address.port, { timeoutMs: 5000 });
  t.ok(stream instanceof net.Socket, 'tcpDialer gives a net.Socket');
  stream.destroy();
});

t.test('listen: reports its address, refuses a taken port with a typed error, close stops accepting', async (t) => {
  const accepted: net.Socket[] = [];
  const server = await listen({ host: '127.0.0.1', port: 0 }, (socket) => {
    socket.on('error', () => {});
    accepted.push(socket);
  });
  t.equal(server.address.family, 'IPv4');
  t.ok(server.address.port > 0);

  const taken = await rejection(listen({ host: '127.0.0.1', port: server.address.port }, () => {}));
  t.equal(taken.code, 'address-in-use');

  const client = await dialTcp('127.0.0.1', server.address.port, { timeoutMs: 5000 });
  client.on('error', () => {});
  for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(accepted.length, 1);
  t.equal(accepted[0].isPaused(), true, 'inbound sockets arrive paused');
  t.equal(server.connections, 1);

  const clientClosed = once(client, 'close');
  client.resume();
  await server.close({ destroyConnections: true });
  await clientClosed;
  t.equal(server.connections, 0, 'destroyConnections closed the accepted socket');
  const refused = await rejection(dialTcp('127.0.0.1', server.address.port, { timeoutMs: 5000 }));
  t.equal(refused.code, 'refused', 'no longer accepting');
});

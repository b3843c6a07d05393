import { once } from 'node:events';
import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import t from 'tap';
import { ConnectionRegistry, fromStream } from '../../lib/transport/stream.js';
import { dialTcp } from '../../lib/transport/tcp.js';
import { listen } from '../../lib/transport/listener.js';

/** Two connected in-memory Duplex ends (stream.duplexPair needs Node 22). */
function memoryPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const end = (readable: PassThrough, writable: PassThrough): Duplex =>
    new Duplex({
      read() {
        readable.resume();
      },
      write(chunk, _encoding, done) {
        writable.write(chunk, done);
      },
      final(done) {
        writable.end();
        done();
      },
    });
  const a = end(bToA, aToB);
  const b = end(aToB, bToA);
  bToA.on('data', (chunk: Buffer) => a.push(chunk));
  aToB.on('data', (chunk: Buffer) => b.push(chunk));
  bToA.on('end', () => a.push(null));
  aToB.on('end', () => b.push(null));
  return [a, b];
}

t.test('an in-memory pair gets a synthetic, per-stream identity and still carries bytes', async (t) => {
  const [a, b] = memoryPair();
  const left = fromStream(a);
  const right = fromStream(b);
  t.equal(left.stream, a, 'the stream itself is passed through');
  t.equal(left.remote.synthetic, true);
  t.equal(left.remote.port, 0);
  t.match(left.remote.identity, /^stream:\d+$/);
  t.not(left.remote.identity, right.remote.identity, 'each anonymous stream is its own remote');
  t.not(left.remote.address, right.remote.address);
  t.equal(net.isIPv6(left.remote.address), true, 'synthetic addresses are valid IPv6');
  t.match(left.remote.address, /^fd/, 'inside fd00::/8');

  const received = once(b, 'data');
  a.write(Buffer.from('version'));
  const [chunk] = (await received) as [Buffer];
  t.equal(chunk.toString(), 'version');
});

t.test('synthetic addresses are stable for the same identity', async (t) => {
  const [a] = memoryPair();
  const first = fromStream(a, { identity: 'Test-Peer' });
  const second = fromStream(a, { identity: 'test-peer' });
  t.equal(first.remote.identity, 'test-peer', 'identities are case-insensitive');
  t.equal(first.remote.address, second.remote.address);
  t.not(first.remote.address, fromStream(a, { identity: 'other-peer' }).remote.address);

  const onion = fromStream(a, { host: 'ExpYuzz4wqqyqhjn.onion', port: 8333 });
  t.equal(onion.remote.identity, 'expyuzz4wqqyqhjn.onion:8333');
  t.equal(onion.remote.host, 'expyuzz4wqqyqhjn.onion');
  t.equal(onion.remote.synthetic, true);
  t.match(onion.remote.address, /^fd87:d87e:eb43:/, 'onions map into the OnionCat range');
  t.equal(fromStream(a, { host: 'expyuzz4wqqyqhjn.onion', port: 8333 }).remote.address, onion.remote.address);

  const named = fromStream(a, { host: 'seed.example', port: 8333 });
  t.match(named.remote.address, /^fd/);
  t.notMatch(named.remote.address, /^fd87:d87e:eb43:/, 'only onions use the OnionCat range');
});

t.test('IP literals are kept (normalised), and meta wins over what a socket reports', async (t) => {
  const [a] = memoryPair();
  const mapped = fromStream(a, { host: '::ffff:10.0.0.1', port: 8333 });
  t.same(mapped.remote, { address: '10.0.0.1', port: 8333, identity: '10.0.0.1:8333', synthetic: false, host: '10.0.0.1' });
  const v6 = fromStream(a, { host: '[2001:DB8:0:0::1]', port: 18333 });
  t.equal(v6.remote.address, '2001:db8::1');
  t.equal(v6.remote.identity, '[2001:db8::1]:18333');
  // A link-local peer's socket reports its zone id; it is kept, and the address is still canonical.
  const linkLocal = fromStream(a, { host: 'FE80:0:0::1%eth0', port: 8333 });
  t.equal(linkLocal.remote.address, 'fe80::1%eth0');
  t.equal(linkLocal.remote.synthetic, false);

  const server = await listen({ host: '127.0.0.1', port: 0 }, (socket) => socket.on('error', () => {}));
  t.teardown(() => server.close({ destroyConnections: true }));
  const socket = await dialTcp('127.0.0.1', server.address.port, { timeoutMs: 5000 });
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  const direct = fromStream(socket);
  t.equal(direct.remote.address, '127.0.0.1');
  t.equal(direct.remote.port, server.address.port);
  t.equal(direct.remote.synthetic, false);
  // A proxied socket is connected to the proxy; the caller says where it really leads.
  const proxied = fromStream(socket, { host: 'peer.example', port: 8333 });
  t.equal(proxied.remote.identity, 'peer.example:8333');
  t.equal(proxied.remote.synthetic, true);
});

t.test('ConnectionRegistry refuses a second connection to the same identity', async (t) => {
  const registry = new ConnectionRegistry();
  t.equal(registry.claim('127.0.0.1:18444'), true);
  t.equal(registry.claim('127.0.0.1:18444'), false, 'duplicate refused');
  t.equal(registry.has('127.0.0.1:18444'), true);
  t.equal(registry.claim('127.0.0.1:18445'), true, 'another port is another remote');
  t.equal(registry.size, 2);

  const onion = fromStream(memoryPair()[0], { host: 'ABC.onion', port: 8333 }).remote.identity;
  registry.claimOrThrow(onion);
  t.throws(() => registry.claimOrThrow('abc.ONION:8333'), { name: 'TransportError', code: 'duplicate' });

  t.equal(registry.release('127.0.0.1:18444'), true);
  t.equal(registry.release('127.0.0.1:18444'), false, 'releasing twice is harmless');
  t.equal(registry.claim('127.0.0.1:18444'), true, 'free again after release');
  t.equal(registry.size, 3);
});

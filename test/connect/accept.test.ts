import t from 'tap';
import { duplexPair } from '../helpers/duplex-pair.js';
import { acceptPeers, peerOverStream } from '../../lib/connect/accept.js';
import { connectPeer, keepConnected, RestartBudget } from '../../lib/connect/dial.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import type { PeerConnection } from '../../lib/peer/connection.js';
import { ConnectionRegistry } from '../../lib/transport/index.js';
import { regtest } from '../../lib/networks.js';

const opts = { network: regtest, userAgentPolicy: ACCEPT_ANY_UA } as const;

t.test('a PeerConnection over an arbitrary Duplex gets a stable synthetic address; duplicates are refused', async (t) => {
  const registry = new ConnectionRegistry();
  const [a, b] = duplexPair();
  const out = peerOverStream(a, { identity: 'libp2p:QmPeerA' }, { ...opts, direction: 'outbound', selfNonces: new Set() }, registry);
  const inb = peerOverStream(b, { identity: 'libp2p:QmPeerB' }, { ...opts, direction: 'inbound', selfNonces: new Set() });
  await Promise.all([out.ready(5000), inb.ready(5000)]);
  t.match(out.remoteAddress, /^fd/, 'synthetic IPv6 address in fd00::/8');
  const again = peerOverStream(duplexPair()[0], { identity: 'libp2p:QmPeerA' }, { ...opts, direction: 'inbound' }, new ConnectionRegistry());
  t.equal(again.remoteAddress, out.remoteAddress, 'same identity, same address');
  await again.close();
  t.throws(() => peerOverStream(duplexPair()[0], { identity: 'LIBP2P:qmpeera' }, { ...opts, direction: 'outbound' }, registry), { name: 'TransportError' });
  await out.close();
  t.equal(registry.has('libp2p:QmPeerA'), false, 'released on close');
  await inb.close();
});

t.test('acceptPeers hands accepted sockets to inbound PeerConnections', async (t) => {
  const inbound: PeerConnection[] = [];
  const listener = await acceptPeers({ host: '127.0.0.1', port: 0 }, { ...opts, selfNonces: new Set() }, (p) => inbound.push(p));
  t.teardown(() => listener.close());
  const peer = await connectPeer({ ...opts, host: '127.0.0.1', port: listener.address.port });
  t.equal(peer.state, 'ready');
  t.equal(inbound.length, 1);
  await inbound[0]!.ready(5000);
  t.equal(inbound[0]!.direction, 'inbound');
  t.equal(inbound[0]!.remoteAddress, '127.0.0.1');
  await peer.close();
});

t.test('RestartBudget allows N restarts per sliding window (fake time)', (t) => {
  const budget = new RestartBudget({ maxRestarts: 2, windowMs: 1000, minDelayMs: 1, maxDelayMs: 2 });
  t.equal(budget.take(0), true);
  t.equal(budget.take(100), true);
  t.equal(budget.take(200), false, 'third within the window refused');
  t.equal(budget.take(1000), true, 'the first one left the window');
  t.equal(budget.take(1050), false);
  t.end();
});

t.test('keepConnected redials after transient closes, then gives up when the budget is spent', async (t) => {
  let accepted = 0;
  const listener = await acceptPeers({ host: '127.0.0.1', port: 0 }, { ...opts, selfNonces: new Set() }, (p) => {
    accepted++;
    p.once('ready', () => void p.close('local', 'test server hangs up'));
  });
  t.teardown(() => listener.close());
  const seen: string[] = [];
  await keepConnected({
    ...opts,
    host: '127.0.0.1',
    port: listener.address.port,
    restart: { maxRestarts: 3, windowMs: 60_000, minDelayMs: 10, maxDelayMs: 20 },
    onPeer: (p) => seen.push(p.id),
  });
  t.equal(seen.length, 4, 'the first connection plus 3 restarts');
  t.equal(new Set(seen).size, 4, 'each with its own uuid');
  t.equal(accepted, 4);
});

t.test('keepConnected never retries a permanent refusal', async (t) => {
  let accepted = 0;
  // Our own server advertises a user agent the client's default policy accepts; make the client refuse it.
  const listener = await acceptPeers({ host: '127.0.0.1', port: 0 }, { ...opts, selfNonces: new Set(), userAgent: '/refused-agent:1/' }, () => accepted++);
  t.teardown(() => listener.close());
  const peers: string[] = [];
  await keepConnected({
    network: regtest,
    userAgentPolicy: { deny: ['refused-agent'], allow: [] },
    host: '127.0.0.1',
    port: listener.address.port,
    restart: { maxRestarts: 3, windowMs: 60_000, minDelayMs: 10, maxDelayMs: 20 },
    onPeer: (p) => peers.push(p.id),
  });
  t.equal(peers.length, 0);
  t.equal(accepted, 1, 'dialled once, not retried');
});

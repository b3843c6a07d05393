// The connect helpers' logger over loopback: keepConnected logs each failed dial, each retry and when it gives
// up; acceptPeers hands its logger to the peers it accepts, connectPeer to the one it dials.
import t from 'tap';
import { acceptPeers } from '../../lib/connect/accept.js';
import { connectPeer, keepConnected } from '../../lib/connect/dial.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import type { PeerConnection } from '../../lib/peer/connection.js';
import { regtest } from '../../lib/networks.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { closedPort } from '../helpers/ports.js';

const opts = { network: regtest, userAgentPolicy: ACCEPT_ANY_UA } as const;

t.test('keepConnected to a port nobody listens on: a record per failed dial and attempt, then one "gave up"', async (t) => {
  const logger = recordingLogger();
  const port = await closedPort();
  await keepConnected({
    ...opts,
    host: '127.0.0.1',
    port,
    logger,
    restart: { maxRestarts: 2, windowMs: 60_000, minDelayMs: 10, maxDelayMs: 20 },
    onPeer: () => t.fail('no peer expected'),
  });
  t.equal(logger.find('dial failed').length, 3, 'three dials (one try and two retries)');
  t.match(logger.find('dial failed')[0]?.fields, { address: '127.0.0.1', port, err: /ECONNREFUSED/ });
  t.same(logger.find('connect attempt failed').map((r) => [r.fields.attempt, r.fields.retriesLeft]), [[1, 2], [2, 1], [3, 0]]);
  t.equal(logger.find('gave up connecting').length, 1);
  t.equal(logger.find('gave up connecting')[0]?.level, 'warn');
});

t.test('acceptPeers and connectPeer pass their logger to the peers: both ends log the handshake', async (t) => {
  const serverLog = recordingLogger();
  const clientLog = recordingLogger();
  const inbound: PeerConnection[] = [];
  const listener = await acceptPeers({ host: '127.0.0.1', port: 0 }, { ...opts, selfNonces: new Set(), logger: serverLog }, (p) => inbound.push(p));
  t.teardown(() => listener.close({ destroyConnections: true }));
  const peer = await connectPeer({ ...opts, host: '127.0.0.1', port: listener.address.port, logger: clientLog });
  await inbound[0]!.ready(5000);
  t.match(clientLog.find('handshake done')[0]?.fields, { peer: peer.id, direction: 'outbound', port: listener.address.port });
  t.match(serverLog.find('handshake done')[0]?.fields, { peer: inbound[0]!.id, direction: 'inbound', address: '127.0.0.1' });
  await peer.close();
  t.match(clientLog.find('peer closed')[0]?.fields, { peer: peer.id, reason: 'local' });
});

import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { Manager, type EvictionEvent, type ManagedPeer } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import type { PeerConnection } from '../../lib/peer/connection.js';
import type { CloseReason } from '../../lib/peer/reasons.js';
import { PeerStore } from '../../lib/peerstore/index.js';
import { parseIp } from '../../lib/peerstore/ip.js';
import { rawTransaction } from '../../lib/messages/transaction.js';
import type { Message, MessageOf } from '../../lib/messages/index.js';
import { GENESIS_COINBASE_HEX } from '../messages/data-fixtures.js';
import { connectFrom, waitUntil } from './fixtures/peers.js';
import { recordingLogger } from '../helpers/recording-logger.js';

const network = defineNetwork({ name: 'manager-inbound', magic: 'a1b2c3d4', defaultPort: 18999 });
const groupOf: Record<string, string> = {
  '127.0.0.10': 'A', '127.0.0.11': 'A', '127.0.0.12': 'A', '127.0.0.13': 'A',
  '127.0.0.20': 'B', '127.0.0.21': 'B', '127.0.0.30': 'C', '127.0.0.40': 'D', '127.0.0.50': 'E',
};
const netgroup = (host: string): string => groupOf[host] ?? `other:${host}`;

function baseOptions(extra: Partial<ConstructorParameters<typeof Manager>[0]> = {}): ConstructorParameters<typeof Manager>[0] {
  return {
    network,
    outbound: 0,
    listen: { host: '127.0.0.1', port: 0 },
    netgroup,
    feelerIntervalMs: 0,
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
    ...extra,
  };
}

t.test('inbound full: protected peers survive, the youngest of the most crowded netgroup is evicted, a new peer gets in', async (t) => {
  // Ping protection is off here: loopback pings are all ~0 ms, so which peer is "fastest" would be chance.
  // The ping round is covered by the pure eviction tests.
  const logger = recordingLogger();
  const manager = new Manager(baseOptions({ inbound: 8, logger, eviction: { protectByNetgroup: 2, protectByPing: 0, protectByTx: 1, protectByBlock: 1, protectLongestFraction: 0.5 } }));
  const clients = new Map<string, PeerConnection>();
  t.teardown(async () => {
    await manager.stop();
    await Promise.all([...clients.values()].map((c) => c.close()));
  });
  await manager.start();
  const { port } = manager.listenAddress!;
  const ready: ManagedPeer[] = [];
  manager.on('peer:ready', (p) => ready.push(p));
  const evictions: EvictionEvent[] = [];
  manager.on('peer:evict', (e) => evictions.push(e));

  const order = ['127.0.0.10', '127.0.0.30', '127.0.0.20', '127.0.0.11', '127.0.0.21', '127.0.0.12', '127.0.0.40', '127.0.0.13'];
  for (const host of order) {
    const n = ready.length;
    clients.set(host, await connectFrom(network, host, '127.0.0.1', port));
    await waitUntil(() => ready.length === n + 1, 5000, `${host} ready`);
    await new Promise((r) => setTimeout(r, 5));
  }
  t.equal(manager.stats().slots.inbound, 8, 'inbound full');

  // .11 relays a transaction: protected as a useful peer.
  const txSeen = new Promise<[MessageOf<'tx'>, ManagedPeer]>((resolve) => manager.once('tx', (tx, peer) => resolve([tx, peer])));
  clients.get('127.0.0.11')!.send({ command: 'tx', ...rawTransaction(Buffer.from(GENESIS_COINBASE_HEX, 'hex')) } as Message);
  const [tx, from] = await txSeen;
  t.equal(from.remoteAddress, '127.0.0.11', "the forwarded 'tx' event carries the peer");
  t.equal(tx.raw.length, GENESIS_COINBASE_HEX.length / 2);

  const newcomer = await connectFrom(network, '127.0.0.50', '127.0.0.1', port);
  clients.set('127.0.0.50', newcomer);
  await newcomer.ready(5000);
  await waitUntil(() => ready.some((p) => p.remoteAddress === '127.0.0.50'), 5000, 'newcomer admitted');
  t.equal(evictions.length, 1, 'one eviction');
  const ev = evictions[0]!;
  const reasons = Object.fromEntries([...ev.protectedBy].map(([id, why]) => [ready.find((p) => p.id === id)!.remoteAddress, why]));
  t.comment(`evicted ${ev.victim.remoteAddress} (netgroup ${ev.victim.netgroup}); protected: ${JSON.stringify(reasons)}`);
  t.equal(ev.victim.remoteAddress, '127.0.0.13', 'the youngest peer of the crowded netgroup A');
  t.equal(reasons['127.0.0.11'], 'tx', 'the transaction relayer was protected');
  t.ok(reasons['127.0.0.10'], '.10, the oldest, was protected');
  t.same(logger.find('peer evicted').map((r) => r.fields), [{ peer: ev.victim.id, address: '127.0.0.13', port: ev.victim.remotePort, netgroup: 'A', protectedPeers: ev.protectedBy.size }], 'the eviction record');
  await waitUntil(() => clients.get('127.0.0.13')!.closeReason !== undefined, 5000, 'victim closed');
  for (const host of order.filter((h) => h !== '127.0.0.13')) t.equal(clients.get(host)!.closeReason, undefined, `${host} still connected`);
  t.equal(manager.stats().slots.inbound, 8, 'still at the limit, never above');

  // Runtime limit of 0: everyone is let go, and the next peer is turned away politely.
  const closes: CloseReason[] = [];
  manager.on('peer:close', (_p, reason) => closes.push(reason));
  manager.setTargets({ inbound: 0 });
  await waitUntil(() => manager.stats().slots.inbound === 0, 5000, 'inbound emptied');
  t.equal(manager.peers.length, 0);
  const late = await connectFrom(network, '127.0.0.40', '127.0.0.1', port);
  clients.set('late', late);
  await waitUntil(() => closes.some((c) => c.code === 'over-capacity'), 5000, 'polite rejection');
  await waitUntil(() => late.closeReason !== undefined, 5000, 'rejected client closed');
  t.pass(`rejected with over-capacity after the handshake (client saw ${late.closeReason!.code})`);
});

t.test('address gossip, misbehaviour and bans, persisted across a restart', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bsv-wire-manager-'));
  const clients: PeerConnection[] = [];
  let manager = new Manager(baseOptions({ dataDir }));
  t.teardown(async () => {
    await manager.stop();
    await Promise.all(clients.map((c) => c.close()));
    await rm(dataDir, { recursive: true, force: true });
  });
  await manager.start();
  const known = Array.from({ length: 100 }, (_, i) => ({ host: `10.${i}.0.1`, port: 8333 }));
  for (const [i, a] of known.entries()) manager.store.add([a], `10.${i}.9.9`);
  const stored = manager.store.size;
  t.ok(stored >= 90, `addresses known (${stored} of 100 placed)`);
  const port = manager.listenAddress!.port;

  const client = await connectFrom(network, '127.0.0.60', '127.0.0.1', port);
  clients.push(client);
  await client.ready(5000);
  const addrs: MessageOf<'addr'>[] = [];
  client.on('addr', (m) => addrs.push(m));
  client.send({ command: 'getaddr' } as Message);
  await waitUntil(() => addrs.length === 1, 5000, 'addr answer');
  t.ok(addrs[0]!.addresses.length > 0 && addrs[0]!.addresses.length <= 23, `a sample of at most 23% (${addrs[0]!.addresses.length})`);
  t.ok(addrs[0]!.addresses.every((a) => a.port === 8333));
  client.send({ command: 'getaddr' } as Message);
  await client.ping(5000);
  t.equal(addrs.length, 1, 'getaddr answered once per peer');

  // Unsolicited addr: the bucket starts with one token.
  const entry = (i: number) => ({ time: Math.floor(Date.now() / 1000), services: 1n, ip: parseIp(`10.200.${i}.1`)!, port: 8333 });
  client.send({ command: 'addr', addresses: Array.from({ length: 5 }, (_, i) => entry(i)) } as Message);
  await client.ping(5000);
  t.equal(manager.store.size, stored + 1, 'rate limited: 1 of 5 taken');

  const misbehaviour: { kind: string; score: number }[] = [];
  manager.on('misbehavior', (m, peer) => {
    if (peer.remoteAddress === '127.0.0.60') misbehaviour.push(m);
  });
  const bans: string[] = [];
  manager.on('peer:ban', (peer, ban) => bans.push(`${peer.remoteAddress} ${ban.subnet} ${ban.reason}`));
  const huge = { command: 'addr', addresses: Array.from({ length: 1001 }, (_, i) => entry(i % 250)) } as Message;
  client.send(huge);
  await waitUntil(() => misbehaviour.length === 1, 5000, 'misbehaviour');
  t.same(misbehaviour[0], { kind: 'oversized-addr', score: 20 }, 'over 1000 entries is misbehaviour');
  t.equal(manager.store.size, stored + 1, 'none of them taken');
  for (let i = 0; i < 4; i++) client.send(huge);
  await waitUntil(() => bans.length === 1, 5000, 'ban');
  t.match(bans[0], /^127\.0\.0\.60 127\.0\.0\.60\/32 misbehaviour score 100/);
  t.ok(manager.store.isBanned('127.0.0.60'));
  await waitUntil(() => client.closeReason !== undefined, 5000, 'banned peer closed');

  // A banned address is not accepted: the socket is closed before any version.
  const refused = await rawConnectFrom('127.0.0.60', port);
  t.equal(refused, 0, 'banned source closed without a byte');

  await manager.stop();
  // stop() flushed: the file has the ban and the addresses.
  const reopened = await PeerStore.open({ dataDir, netgroup, readOnly: true });
  t.ok(reopened.isBanned('127.0.0.60'), 'ban on disk after stop()');
  t.equal(reopened.size, stored + 1, 'addresses on disk after stop()');

  manager = new Manager(baseOptions({ dataDir }));
  await manager.start();
  t.ok(manager.store.isBanned('127.0.0.60'), 'ban loaded after restart');
  t.equal(await rawConnectFrom('127.0.0.60', manager.listenAddress!.port), 0, 'still refused after restart');
  const other = await connectFrom(network, '127.0.0.61', '127.0.0.1', manager.listenAddress!.port);
  clients.push(other);
  await other.ready(5000);
  t.pass('an unbanned peer is accepted');
  // Never dialed either: a banned address in the store is never selected.
  manager.store.add([{ host: '127.0.0.60', port: 18999 }], 'test');
  t.equal(manager.store.get('127.0.0.60:18999'), undefined, 'banned addresses are not even learned');
});

/** Connect from a source address and count the bytes the server sends before closing (bounded). */
function rawConnectFrom(localAddress: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('server kept a banned connection open'));
    }, 5000);
    socket.on('data', (d: Buffer) => (bytes += d.length));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(bytes);
    });
  });
}

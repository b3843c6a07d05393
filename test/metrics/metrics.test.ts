// The metrics collectors over in-memory peers: a Manager dials through a Duplex pair whose far end is another
// PeerConnection, and every scrape is parsed by parse-prometheus-text-format. The far end's own counters are
// what "the other side saw": our sent figures must equal its received ones, command by command.
import t, { type Test } from 'tap';
import type { Duplex } from 'node:stream';
import { Manager } from '../../lib/manager/index.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { regtest } from '../../lib/networks.js';
import { HeaderTree } from '../../lib/chain/header-tree.js';
import { HeaderFollower } from '../../lib/chain/header-follower.js';
import { MempoolWatcher } from '../../lib/chain/mempool-watcher.js';
import { Broadcaster } from '../../lib/chain/broadcaster.js';
import { createManagerMetrics, serveMetrics, wantsOpenMetrics, type BsvWireMetrics } from '../../lib/metrics/index.js';
import type { Message } from '../../lib/messages/index.js';
import { duplexPair } from '../helpers/duplex-pair.js';
import { sendScripted } from '../helpers/scripted-peer.js';
import { regtestGenesis, syntheticChain } from '../helpers/synthetic-headers.js';
import { byLabel, family, httpGet, parseScrape, value, waitFor, type Scrape } from './helpers.js';

interface Rig {
  readonly manager: Manager;
  readonly metrics: BsvWireMetrics;
  /** The far ends, one per dial. */
  readonly far: PeerConnection[];
  readonly raw: Duplex[];
}

/** A Manager with one manual peer, dialed in memory; the far end answers as a PeerConnection unless `silent`. */
function rig(t: Test, options: { silent?: boolean; startHeight?: number; handshakeMs?: number } = {}): Rig {
  const far: PeerConnection[] = [];
  const raw: Duplex[] = [];
  const manager = new Manager({
    network: regtest,
    discover: false,
    outbound: 0,
    feelerIntervalMs: 0,
    peers: ['10.0.0.2:18444'],
    // One dial per test: no redial while it runs.
    manualBackoff: { minMs: 600_000, maxMs: 600_000 },
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA, timeouts: options.handshakeMs ? { handshakeMs: options.handshakeMs } : undefined, tickIntervalMs: 50 },
    dialer: async () => {
      const [ours, theirs] = duplexPair();
      raw.push(theirs);
      if (!options.silent) {
        // Its own nonce set: both ends live in one process, and a shared set would look like a self-connection.
        far.push(new PeerConnection(theirs, { network: regtest, direction: 'inbound', selfNonces: new Set(), userAgentPolicy: ACCEPT_ANY_UA, startHeight: options.startHeight ?? 0 }));
      }
      return ours;
    },
  });
  const metrics = createManagerMetrics(manager);
  t.teardown(async () => {
    metrics.close();
    await manager.stop();
    for (const p of far) await p.close();
  });
  return { manager, metrics, far, raw };
}

async function scrape(metrics: BsvWireMetrics, openMetrics = false): Promise<Scrape> {
  return parseScrape((await metrics.text(openMetrics)).body);
}

/** Both ends counted every byte the other sent (nothing in flight). */
function settled(manager: Manager, far: PeerConnection): boolean {
  const ours = manager.peers[0]?.stats();
  const theirs = far.stats();
  return ours !== undefined && ours.bytesSent === theirs.bytesReceived && ours.bytesReceived === theirs.bytesSent && ours.rtt.samples > 0;
}

t.test('bytes and messages per command equal what the far end counted, each way', async (t) => {
  const { manager, metrics, far } = rig(t);
  await manager.start();
  await waitFor(() => far.length === 1 && settled(manager, far[0]!), 10_000, 'handshake and first ping settled');
  const s = await scrape(metrics);
  const theirs = far[0]!.stats();
  for (const [ours, theirsPer] of [
    ['sent', theirs.receivedPerCommand],
    ['received', theirs.sentPerCommand],
  ] as const) {
    const bytes = byLabel(s, `bsvwire_peer_bytes_${ours}_total`, 'command');
    const messages = byLabel(s, `bsvwire_peer_messages_${ours}_total`, 'command');
    t.same(Object.fromEntries(bytes), Object.fromEntries(Object.entries(theirsPer).map(([c, v]) => [c, v.bytes])), `bytes ${ours} per command`);
    t.same(Object.fromEntries(messages), Object.fromEntries(Object.entries(theirsPer).map(([c, v]) => [c, v.messages])), `messages ${ours} per command`);
  }
  t.ok((byLabel(s, 'bsvwire_peer_messages_sent_total', 'command').get('version') ?? 0) === 1, 'one version sent');
  t.equal(value(s, 'bsvwire_peer_socket_bytes_sent_total'), theirs.bytesReceived, 'socket bytes sent = far end received');
  t.equal(value(s, 'bsvwire_peer_socket_bytes_received_total'), theirs.bytesSent, 'socket bytes received = far end sent');
  t.equal(value(s, 'bsvwire_peers', { direction: 'outbound', type: 'manual', state: 'ready' }), 1, 'one ready manual peer');
  t.equal(value(s, 'bsvwire_peer_slots', { kind: 'manual' }), 1);
  t.equal(value(s, 'bsvwire_peer_handshakes_total', { direction: 'outbound' }), 1);
  const rtt = family(s, 'bsvwire_peer_rtt_seconds');
  t.equal(rtt?.type, 'HISTOGRAM');
  t.equal(Number(rtt?.metrics[0]?.count), manager.peers[0]!.rtt.samples, 'one RTT observation per pong sample');
  t.equal(Number(rtt?.metrics[0]?.buckets?.['+Inf']), manager.peers[0]!.rtt.samples);
});

t.test('counters stay monotonic when a peer closes; the close is counted by reason', async (t) => {
  const { manager, metrics, far } = rig(t);
  await manager.start();
  await waitFor(() => far.length === 1 && settled(manager, far[0]!), 10_000, 'handshake settled');
  const before = await scrape(metrics);
  const sentBefore = byLabel(before, 'bsvwire_peer_bytes_sent_total', 'command');
  const socketBefore = value(before, 'bsvwire_peer_socket_bytes_received_total')!;
  // One more message each way, then the far end hangs up.
  manager.peers[0]!.send({ command: 'ping', nonce: 7n } as Message);
  await waitFor(() => settled(manager, far[0]!), 5_000, 'ping answered');
  const theirs = far[0]!.stats();
  await far[0]!.close('local', 'test hangs up');
  await waitFor(() => manager.peers.length === 0, 5_000, 'peer gone');
  const after = await scrape(metrics);
  const sentAfter = byLabel(after, 'bsvwire_peer_bytes_sent_total', 'command');
  for (const [command, n] of sentBefore) t.ok((sentAfter.get(command) ?? 0) >= n, `${command} did not go down (${n} -> ${sentAfter.get(command)})`);
  t.equal(sentAfter.get('ping'), theirs.receivedPerCommand.ping!.bytes, 'the closed peer still counts, ping included');
  t.equal(value(after, 'bsvwire_peer_socket_bytes_received_total'), theirs.bytesSent, 'socket bytes kept after the close');
  t.ok(value(after, 'bsvwire_peer_socket_bytes_received_total')! >= socketBefore);
  t.equal(value(after, 'bsvwire_peer_closes_total', { reason: 'remote-closed', direction: 'outbound' }), 1, 'closed by the far end');
  t.equal(family(after, 'bsvwire_peer_handshake_failures_total')?.metrics.length ?? 0, 0, 'not a handshake failure');
  t.equal(value(after, 'bsvwire_peers', { direction: 'outbound', type: 'manual', state: 'ready' }), undefined, 'no peer left');
  // A third scrape with nothing live: still the same totals.
  const third = await scrape(metrics);
  t.same(byLabel(third, 'bsvwire_peer_bytes_sent_total', 'command'), sentAfter);
});

t.test('a silent peer is a handshake failure by reason; two Managers keep separate registries', async (t) => {
  const a = rig(t, { silent: true, handshakeMs: 300 });
  const b = rig(t);
  await Promise.all([a.manager.start(), b.manager.start()]);
  await waitFor(async () => value(await scrape(a.metrics), 'bsvwire_peer_handshake_failures_total', { reason: 'handshake-timeout', direction: 'outbound' }) === 1, 10_000, 'handshake timeout counted');
  const s = await scrape(a.metrics);
  t.equal(value(s, 'bsvwire_peer_closes_total', { reason: 'handshake-timeout', direction: 'outbound' }), 1);
  t.equal(value(s, 'bsvwire_dial_failures_total', { type: 'manual' }), 1, 'the manual dial is reported failed');
  t.equal(value(s, 'bsvwire_peer_socket_bytes_received_total'), 0, 'the silent peer sent nothing');
  await waitFor(() => b.far.length === 1 && settled(b.manager, b.far[0]!), 10_000, 'second manager handshake');
  const sb = await scrape(b.metrics);
  t.equal(value(sb, 'bsvwire_peer_handshake_failures_total', { reason: 'handshake-timeout', direction: 'outbound' }), undefined, "the other Manager's registry has no failure");
  t.equal(value(sb, 'bsvwire_peer_handshakes_total', { direction: 'outbound' }), 1);
  t.not(a.metrics.registry, b.metrics.registry);
});

t.test('misbehaviour is counted by kind: a message before the version', async (t) => {
  const { manager, metrics, raw } = rig(t, { silent: true });
  await manager.start();
  await waitFor(() => raw.length === 1, 5_000, 'dialed');
  sendScripted(raw[0]!, { command: 'ping', nonce: 1n } as Message);
  await waitFor(async () => value(await scrape(metrics), 'bsvwire_peer_misbehavior_total', { kind: 'missing-version' }) === 1, 5_000, 'scored');
  const s = await scrape(metrics);
  t.equal(value(s, 'bsvwire_peer_messages_received_total', { command: 'ping' }), 1, 'the frame is counted as received');
});

t.test('a peer that sends a frame with the wrong magic is banned, and counted as a ban and a bad-magic close', async (t) => {
  const { manager, metrics, far, raw } = rig(t);
  await manager.start();
  await waitFor(() => far.length === 1 && settled(manager, far[0]!), 10_000, 'handshake settled');
  // A 24-byte header with another network's magic, written under the far PeerConnection.
  const bad = Buffer.alloc(24);
  Buffer.from('e3e1f3e8', 'hex').copy(bad, 0);
  bad.write('ping', 4, 'ascii');
  raw[0]!.write(bad);
  await waitFor(() => manager.peers.length === 0, 5_000, 'peer closed');
  const s = await scrape(metrics);
  t.equal(value(s, 'bsvwire_peer_bans_total', { direction: 'outbound' }), 1);
  t.equal(value(s, 'bsvwire_peer_closes_total', { reason: 'bad-magic', direction: 'outbound' }), 1);
  t.equal(value(s, 'bsvwire_bans_active'), 1, 'the ban is in the store');
});

t.test('header follower: tip, lag behind a peer that claims more, stalls, and a reorg with its depth', async (t) => {
  // The far end claims height 50 and never answers getheaders: 50 blocks of lag, then a stall.
  const { manager, metrics, far } = rig(t, { startHeight: 50 });
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const follower = new HeaderFollower({ manager, tree, responseTimeoutMs: 1500, tickIntervalMs: 50 });
  metrics.watchHeaderFollower(follower);
  t.teardown(() => follower.stop());
  follower.start();
  const ready = new Promise((resolve) => manager.once('peer:ready', resolve));
  await manager.start();
  await ready;
  let s = await scrape(metrics);
  t.equal(value(s, 'bsvwire_headers_tip_height'), 0, 'at genesis');
  t.equal(value(s, 'bsvwire_headers_lag'), 50, 'the peer claims 50');
  await waitFor(() => manager.peers.length === 0, 10_000, 'the silent sync peer dropped');
  s = await scrape(metrics);
  t.equal(value(s, 'bsvwire_headers_stalls_total'), 1, 'one stall');
  t.equal(value(s, 'bsvwire_headers_drops_total', { ban: 'false' }), 1);
  t.equal(value(s, 'bsvwire_headers_lag'), 0, 'no peer, no lag');
  t.equal(far.length, 1);
});

t.test('header follower: a real reorg through the wire is counted with its depth', async (t) => {
  const { manager, metrics, far } = rig(t);
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const follower = new HeaderFollower({ manager, tree, tickIntervalMs: 50 });
  metrics.watchHeaderFollower(follower);
  t.teardown(() => follower.stop());
  follower.start();
  await manager.start();
  await waitFor(() => far.length === 1 && far[0]!.state === 'ready', 10_000, 'far end ready');
  const a = syntheticChain(3, 1);
  const b = syntheticChain(5, 2);
  // Branch a as the answer to the first getheaders, then branch b (more work, from genesis) as an announcement.
  far[0]!.send({ command: 'headers', headers: a.map((h) => ({ ...h.header, txCount: 0 })) } as Message);
  await waitFor(() => follower.best.height === 3, 5_000, 'branch a');
  far[0]!.send({ command: 'headers', headers: b.map((h) => ({ ...h.header, txCount: 0 })) } as Message);
  await waitFor(() => follower.best.height === 5, 5_000, 'branch b');
  const s = await scrape(metrics);
  t.equal(value(s, 'bsvwire_headers_tip_height'), 5);
  t.equal(value(s, 'bsvwire_headers_reorgs_total'), 1);
  const depth = family(s, 'bsvwire_headers_reorg_depth')?.metrics[0];
  t.equal(Number(depth?.count), 1);
  t.equal(Number(depth?.sum), 3, 'three blocks disconnected');
  t.equal(Number(depth?.buckets?.['2']), 0);
  t.equal(Number(depth?.buckets?.['3']), 1);
});

t.test('mempool watcher: txs seen, fetched, and duplicate announcements avoided', async (t) => {
  const { manager, metrics, far } = rig(t);
  const watcher = new MempoolWatcher({ manager });
  metrics.watchMempoolWatcher(watcher);
  t.teardown(() => watcher.stop());
  watcher.start();
  await manager.start();
  await waitFor(() => far.length === 1 && far[0]!.state === 'ready', 10_000, 'far end ready');
  const txid = Buffer.alloc(32, 9);
  const asked: Buffer[] = [];
  far[0]!.on('getdata', (m) => asked.push(...m.inventory.map((i) => i.hash)));
  // The same txid announced three times: asked for once.
  for (let i = 0; i < 3; i++) far[0]!.send({ command: 'inv', inventory: [{ type: 1, hash: txid }] } as Message);
  await waitFor(() => asked.length === 1, 5_000, 'getdata');
  await new Promise((r) => setTimeout(r, 100));
  const s = await scrape(metrics);
  t.equal(asked.length, 1, 'the far end was asked once');
  t.equal(value(s, 'bsvwire_mempool_txs_seen_total'), 1);
  t.equal(value(s, 'bsvwire_mempool_tx_requests_total'), asked.length, 'requests = getdata items the far end got');
  t.equal(value(s, 'bsvwire_mempool_duplicates_avoided_total'), 2);
  t.equal(value(s, 'bsvwire_mempool_txs_fetched_total'), 0, 'nothing delivered yet');
  t.equal(value(s, 'bsvwire_mempool_txs_in_flight'), 1);
});

t.test('broadcaster: a transaction the peer rejects is a rejected outcome', async (t) => {
  const { manager, metrics, far } = rig(t);
  const broadcaster = new Broadcaster({ manager, tickIntervalMs: 50 });
  metrics.watchBroadcaster(broadcaster);
  t.teardown(() => broadcaster.stop());
  broadcaster.start();
  await manager.start();
  await waitFor(() => far.length === 1 && settled(manager, far[0]!), 10_000, 'far end ready');
  // Whatever we announce, the far end rejects.
  far[0]!.on('inv', (m) => {
    for (const item of m.inventory) far[0]!.send({ command: 'reject', message: 'tx', code: 0x10, reason: 'bad-txns', hash: item.hash } as Message);
  });
  const tx = Buffer.from('01000000' + '01' + '11'.repeat(32) + '00000000' + '00' + 'ffffffff' + '01' + 'e803000000000000' + '0151' + '00000000', 'hex');
  const result = broadcaster.broadcastTx(tx, { until: 'settled' });
  // Read in the same tick (a scrape's collects run before its first await): the reject cannot have come yet.
  let s = await scrape(metrics);
  t.equal(value(s, 'bsvwire_broadcasts_active'), 1, 'one in flight');
  t.equal((await result).status, 'rejected');
  s = await scrape(metrics);
  t.equal(value(s, 'bsvwire_broadcast_outcomes_total', { outcome: 'rejected' }), 1);
  t.equal(value(s, 'bsvwire_broadcast_outcomes_total', { outcome: 'propagated' }), undefined, 'never propagated');
  t.equal(value(s, 'bsvwire_broadcasts_active'), 0);
});

t.test('OpenMetrics on request, Prometheus text otherwise, over HTTP; one does not rename the other', async (t) => {
  const { manager, metrics, far } = rig(t);
  const server = await serveMetrics(metrics, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  await manager.start();
  await waitFor(() => far.length === 1 && settled(manager, far[0]!), 10_000, 'handshake settled');
  const om = await httpGet(server.url, 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1');
  t.equal(om.status, 200);
  t.match(om.contentType, /^application\/openmetrics-text; version=1\.0\.0/);
  t.match(om.body, /\n# EOF\n$/, 'ends with # EOF');
  t.match(om.body, /^# TYPE bsvwire_peer_bytes_sent counter$/m, 'counter family without _total');
  t.match(om.body, /^bsvwire_peer_bytes_sent_total\{command="version"\} \d+$/m, 'sample with _total');
  const prom = await httpGet(server.url);
  t.equal(prom.status, 200);
  t.match(prom.contentType, /^text\/plain; version=0\.0\.4/);
  t.match(prom.body, /^# TYPE bsvwire_peer_bytes_sent_total counter$/m, 'Prometheus text keeps _total after an OpenMetrics scrape');
  t.notMatch(prom.body, /# EOF/);
  const parsed = parseScrape(prom.body);
  t.equal(family(parsed, 'bsvwire_peer_bytes_sent_total')?.type, 'COUNTER');
  t.ok(parsed.every((f) => f.name.startsWith('bsvwire_')), 'every name has the bsvwire_ prefix');
  t.ok(parsed.every((f) => f.metrics.every((m) => !('address' in (m.labels ?? {})))), 'no per-peer address label');
  t.equal((await httpGet(server.url.replace('/metrics', '/nope'))).status, 404);
  t.equal(wantsOpenMetrics('text/plain'), false);
  t.equal(wantsOpenMetrics('application/openmetrics-text;q=0'), false);
  t.equal(wantsOpenMetrics('Application/OpenMetrics-Text'), true);
});

t.test('metrics attached after a peer is ready: its close is not a handshake failure', async (t) => {
  const { manager, far } = rig(t);
  await manager.start();
  await waitFor(() => far.length === 1 && settled(manager, far[0]!), 10_000, 'handshake settled');
  const late = createManagerMetrics(manager);
  t.teardown(() => late.close());
  await far[0]!.close('local', 'test hangs up');
  await waitFor(() => manager.peers.length === 0, 5_000, 'peer gone');
  const after = await scrape(late);
  t.equal(value(after, 'bsvwire_peer_closes_total', { reason: 'remote-closed', direction: 'outbound' }), 1, 'the close is counted');
  t.equal(family(after, 'bsvwire_peer_handshake_failures_total')?.metrics.length ?? 0, 0, 'not a handshake failure');
});

t.test('a ban through manager.ban() (as the chain followers ban) is counted as a ban of that peer', async (t) => {
  const { manager, metrics, far } = rig(t);
  await manager.start();
  await waitFor(() => far.length === 1 && settled(manager, far[0]!), 10_000, 'handshake settled');
  manager.ban(manager.peers[0]!.remoteAddress, { reason: 'test' });
  await waitFor(() => manager.peers.length === 0, 5_000, 'peer gone');
  const after = await scrape(metrics);
  t.equal(value(after, 'bsvwire_peer_bans_total', { direction: 'outbound' }), 1, 'one ban');
  t.equal(value(after, 'bsvwire_peer_closes_total', { reason: 'banned', direction: 'outbound' }), 1, 'closed as banned');
});

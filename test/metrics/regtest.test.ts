// Metrics against a real bcash regtest node, scraped over loopback and parsed with parse-prometheus-text-format:
// - `bsv-wire connect --metrics` (the built CLI) talks to the node through a loopback relay that counts every
//   frame per command each way; our per-command counters must equal the relay's, and our socket byte counters
//   the node's own getpeerinfo bytessent/bytesrecv (bcash 1.1.1 has no per-command figures);
// - the header and block followers' tip, cursor and lag move as blocks are mined (generatetoaddress);
// - optionally a real Prometheus scrapes the endpoint (skipped, with the reason, when `prometheus` is not on PATH).
import t from 'tap';
import net from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Manager } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { messageCodecs } from '../../lib/messages/index.js';
import { OTHER_COMMANDS } from '../../lib/peer/stats.js';
import { HeaderTree } from '../../lib/chain/header-tree.js';
import { HeaderFollower } from '../../lib/chain/header-follower.js';
import { BlockFollower } from '../../lib/chain/block-follower.js';
import { createManagerMetrics, serveMetrics, type MetricsServer } from '../../lib/metrics/index.js';
import { startRegtestNode, type RegtestNode } from '../helpers/regtest.js';
import { freePort } from '../helpers/ports.js';
import { stopChild } from '../helpers/child.js';
import { regtestGenesis } from '../helpers/synthetic-headers.js';
import { startCli, tempDir, type CliRun } from '../cli/fixtures/run-cli.js';
import { byLabel, httpGet, parseScrape, value, waitFor, type Scrape } from './helpers.js';

let node: RegtestNode;
t.before(async () => {
  node = await startRegtestNode();
  await node.mine(5);
});
t.teardown(() => node?.stop());

type Counts = Map<string, { messages: number; bytes: number }>;

/**
 * A loopback TCP relay to the node that reads the 24-byte frame headers going each way and counts frames and
 * bytes per command: an observer outside bsv-wire. Commands bsv-wire has no codec for are filed as it files them.
 */
async function startCountingRelay(target: number): Promise<{ port: number; toNode: Counts; fromNode: Counts; localPorts: number[]; close(): Promise<void> }> {
  const toNode: Counts = new Map();
  const fromNode: Counts = new Map();
  const localPorts: number[] = [];
  const sockets = new Set<net.Socket>();
  const counter = (counts: Counts): ((chunk: Buffer) => void) => {
    let header = Buffer.alloc(0);
    let skip = 0;
    return (chunk) => {
      let at = 0;
      while (at < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - at);
          skip -= n;
          at += n;
          continue;
        }
        const need = 24 - header.length;
        header = Buffer.concat([header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (header.length < 24) return;
        const name = header.subarray(4, 16).toString('ascii').replace(/\0+$/, '');
        const length = header.readUInt32LE(16);
        const command = messageCodecs.has(name) ? name : OTHER_COMMANDS;
        const c = counts.get(command) ?? { messages: 0, bytes: 0 };
        c.messages++;
        c.bytes += 24 + length;
        counts.set(command, c);
        skip = length;
        header = Buffer.alloc(0);
      }
    };
  };
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    outbound.once('connect', () => localPorts.push(outbound.localPort!));
    const countIn = counter(toNode);
    const countOut = counter(fromNode);
    inbound.on('data', (d: Buffer) => {
      countIn(d);
      outbound.write(d);
    });
    outbound.on('data', (d: Buffer) => {
      countOut(d);
      inbound.write(d);
    });
    const end = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    for (const s of [inbound, outbound]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    toNode,
    fromNode,
    localPorts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function scrapeUrl(url: string): Promise<Scrape> {
  const r = await httpGet(url);
  if (r.status !== 200) throw new Error(`scrape ${url}: HTTP ${r.status}`);
  return parseScrape(r.body);
}

interface PeerInfo {
  addr: string;
  bytessent: number;
  bytesrecv: number;
}

t.test('connect --metrics: per-command counters equal a frame-counting relay, socket bytes equal getpeerinfo', async (t) => {
  let relay: Awaited<ReturnType<typeof startCountingRelay>> | undefined;
  let run: CliRun | undefined;
  t.teardown(async () => {
    if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
    await relay?.close();
  });
  relay = await startCountingRelay(node.p2pPort);
  const metricsPort = await freePort();
  const url = `http://127.0.0.1:${metricsPort}/metrics`;
  run = startCli(['connect', '--network', 'regtest', '--json', '--datadir', tempDir(t), '--peer', `127.0.0.1:${relay.port}`, '--metrics', `127.0.0.1:${metricsPort}`], { killAfterMs: 240_000 });
  await run.waitForLine((l) => l.includes('"event":"handshake"'), 30_000, 'handshake');
  await waitFor(async () => value(await scrapeUrl(url), 'bsvwire_headers_tip_height') === 5, 30_000, 'headers synced to 5');

  // Quiet traffic: two scrapes around the node's getpeerinfo and the relay's counts agree.
  let compared = false;
  for (let attempt = 0; attempt < 20 && !compared; attempt++) {
    const before = await scrapeUrl(url);
    const infos = (await node.rpc('getpeerinfo')) as PeerInfo[];
    const toNode = structuredClone(Object.fromEntries(relay.toNode));
    const fromNode = structuredClone(Object.fromEntries(relay.fromNode));
    const after = await scrapeUrl(url);
    const total = (s: Scrape, d: 'sent' | 'received'): number | undefined => value(s, `bsvwire_peer_socket_bytes_${d}_total`);
    if (total(before, 'sent') !== total(after, 'sent') || total(before, 'received') !== total(after, 'received')) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    compared = true;
    const info = infos.find((i) => relay!.localPorts.some((p) => i.addr.endsWith(`:${p}`)));
    t.ok(info, `the node lists our connection (${infos.map((i) => i.addr).join(', ')})`);
    t.equal(total(after, 'received'), info!.bytessent, `socket bytes received = node's bytessent (${info!.bytessent})`);
    t.equal(total(after, 'sent'), info!.bytesrecv, `socket bytes sent = node's bytesrecv (${info!.bytesrecv})`);
    for (const [d, relayCounts] of [
      ['sent', toNode],
      ['received', fromNode],
    ] as const) {
      t.same(Object.fromEntries(byLabel(after, `bsvwire_peer_bytes_${d}_total`, 'command')), Object.fromEntries(Object.entries(relayCounts).map(([c, v]) => [c, v.bytes])), `bytes ${d} per command = the relay's count`);
      t.same(Object.fromEntries(byLabel(after, `bsvwire_peer_messages_${d}_total`, 'command')), Object.fromEntries(Object.entries(relayCounts).map(([c, v]) => [c, v.messages])), `messages ${d} per command = the relay's count`);
      const sum = [...byLabel(after, `bsvwire_peer_bytes_${d}_total`, 'command').values()].reduce((a, b) => a + b, 0);
      t.equal(sum, d === 'sent' ? info!.bytesrecv : info!.bytessent, `per-command bytes ${d} add up to the node's figure`);
    }
    t.ok((byLabel(after, 'bsvwire_peer_messages_received_total', 'command').get('headers') ?? 0) >= 1, 'headers received from the node');
  }
  t.ok(compared, 'traffic was quiet for one comparison');

  await node.mine(3);
  await waitFor(async () => value(await scrapeUrl(url), 'bsvwire_headers_tip_height') === 8, 30_000, 'tip height 8 after mining 3');
  const s = await scrapeUrl(url);
  t.equal(value(s, 'bsvwire_peers', { direction: 'outbound', type: 'manual', state: 'ready' }), 1);
  t.equal(value(s, 'bsvwire_headers_lag'), 0, 'caught up');
  t.ok(Number(s.find((f) => f.name === 'bsvwire_peer_rtt_seconds')?.metrics[0]?.count) >= 1, 'an RTT sample');

  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, `graceful exit; stderr: ${result.stderr}`);
  t.match(result.stderr, new RegExp(`^metrics: ${url.replace(/[.]/g, '\\.')}$`, 'm'), 'the endpoint is named on stderr');
  await t.rejects(fetch(url), 'the endpoint closed with the command');
});

t.test('followers: tip height, blocks lag and cursor move as blocks are mined', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bsv-wire-metrics-'));
  let server: MetricsServer | undefined;
  const manager = new Manager({
    network: regtest,
    discover: false,
    outbound: 0,
    feelerIntervalMs: 0,
    peers: [`127.0.0.1:${node.p2pPort}`],
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
  });
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  const headers = new HeaderFollower({ manager, tree });
  // The app's handler waits for the test's word: the cursor stays put while the headers move on.
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  const blocks = new BlockFollower({ manager, tree, headers, dir, fromHeight: 1, onBlock: () => gate });
  const metrics = createManagerMetrics(manager).watchHeaderFollower(headers).watchBlockFollower(blocks);
  t.teardown(async () => {
    release();
    await blocks.stop();
    headers.stop();
    await manager.stop();
    metrics.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  server = await serveMetrics(metrics, { host: '127.0.0.1', port: 0 });
  const base = (await node.rpc('getblockcount')) as number;
  headers.start();
  blocks.start();
  await manager.start();
  await waitFor(async () => value(await scrapeUrl(server!.url), 'bsvwire_headers_tip_height') === base, 30_000, `tip at ${base}`);
  let s = await scrapeUrl(server.url);
  t.equal(value(s, 'bsvwire_blocks_cursor_height'), 0, 'no block acknowledged while the handler waits');
  t.equal(value(s, 'bsvwire_blocks_lag'), base, `lag ${base}`);

  await node.mine(4);
  await waitFor(async () => value(await scrapeUrl(server!.url), 'bsvwire_headers_tip_height') === base + 4, 30_000, 'tip moved by 4');
  s = await scrapeUrl(server.url);
  t.equal(value(s, 'bsvwire_blocks_lag'), base + 4, 'the lag grew by the 4 mined blocks');
  t.equal(value(s, 'bsvwire_headers_lag'), 0, 'headers are not behind the peer');

  release();
  gate = Promise.resolve();
  await waitFor(async () => value(await scrapeUrl(server!.url), 'bsvwire_blocks_cursor_height') === base + 4, 60_000, 'every block delivered');
  s = await scrapeUrl(server.url);
  t.equal(value(s, 'bsvwire_blocks_lag'), 0, 'no lag once delivered');
  t.equal(value(s, 'bsvwire_blocks_delivered_total'), base + 4);
  t.ok((value(s, 'bsvwire_blocks_received_total', { verdict: 'valid' }) ?? 0) >= base + 4, 'blocks streamed in, all valid');
  const blockBytes = value(s, 'bsvwire_block_bytes_received_total')!;
  t.ok(blockBytes > 0, `block bytes counted (${blockBytes})`);
  t.equal(blockBytes + 24 * value(s, 'bsvwire_blocks_received_total', { verdict: 'valid' })!, byLabel(s, 'bsvwire_peer_bytes_received_total', 'command').get('block'), 'block payload bytes + headers = block frame bytes');

  await node.mine(2);
  await waitFor(async () => value(await scrapeUrl(server!.url), 'bsvwire_blocks_cursor_height') === base + 6, 60_000, 'two more delivered');
  s = await scrapeUrl(server.url);
  t.equal(value(s, 'bsvwire_headers_tip_height'), base + 6);
  t.equal(value(s, 'bsvwire_blocks_lag'), 0);
});

/** The prometheus binary on PATH, or undefined. */
function prometheusBin(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  const bin = which.stdout.trim();
  return which.status === 0 && bin !== '' ? bin : undefined;
}
const prometheus = prometheusBin();

t.test(
  'a real Prometheus scrapes the endpoint (optional cross-check)',
  { skip: prometheus ? false : 'prometheus is not on PATH (Debian: apt-get install prometheus): no cross-check with a real Prometheus scrape' },
  async (t) => {
  const bin = prometheus!;
  const dir = mkdtempSync(join(tmpdir(), 'bsv-wire-prometheus-'));
  let child: ChildProcess | undefined;
  let server: MetricsServer | undefined;
  const manager = new Manager({ network: regtest, discover: false, outbound: 0, feelerIntervalMs: 0, peers: [`127.0.0.1:${node.p2pPort}`], peerOptions: { userAgentPolicy: ACCEPT_ANY_UA } });
  const metrics = createManagerMetrics(manager);
  t.teardown(async () => {
    if (child) await stopChild(child, 5_000);
    await manager.stop();
    metrics.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // Which format each scrape asked for: Prometheus negotiates OpenMetrics through its Accept header.
  const formats: boolean[] = [];
  server = await serveMetrics({ text: (openMetrics) => (formats.push(openMetrics), metrics.text(openMetrics)) }, { host: '127.0.0.1', port: 0 });
  await manager.start();
  const webPort = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: bsvwire\n    static_configs:\n      - targets: ['127.0.0.1:${server.port}']\n`,
  );
  child = spawn(bin, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`], { stdio: 'ignore' });
  const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const r = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => undefined);
    if (!r?.ok) return [];
    return ((await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
  };
  await waitFor(async () => (await query('bsvwire_peers{state="ready"}')).length > 0, 60_000, 'Prometheus has scraped a ready peer');
  const up = await query('up{job="bsvwire"}');
  t.equal(up[0]?.value[1], '1', 'the target is up');
  const versions = await query('bsvwire_peer_messages_sent_total{command="version"}');
  t.equal(versions[0]?.value[1], '1', 'one version sent, as Prometheus read it');
  t.ok(formats.includes(true), `Prometheus asked for OpenMetrics (${formats.length} scrapes)`);
  },
);

t.test('follow and sync --metrics: the block cursor and mempool metrics are served while they run', async (t) => {
  let run: CliRun | undefined;
  t.teardown(() => {
    if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
  });
  const dataDir = tempDir(t);
  const metricsPort = await freePort();
  const url = `http://127.0.0.1:${metricsPort}/metrics`;
  run = startCli(['follow', '--network', 'regtest', '--datadir', dataDir, '--peer', `127.0.0.1:${node.p2pPort}`, '--metrics', `127.0.0.1:${metricsPort}`], { killAfterMs: 240_000 });
  await run.waitForLine((l) => l.includes('"event":"following"'), 60_000, 'following');
  const tip = (await node.rpc('getblockcount')) as number;
  const [mined] = await node.mine(2);
  await run.waitForLine((l) => l.includes('"event":"block"') && l.includes(`"height":${tip + 2}`), 30_000, 'the second mined block');
  t.ok(mined, 'mined');
  await waitFor(async () => value(await scrapeUrl(url), 'bsvwire_blocks_cursor_height') === tip + 2, 30_000, 'cursor at the tip');
  const s = await scrapeUrl(url);
  t.equal(value(s, 'bsvwire_headers_tip_height'), tip + 2);
  t.equal(value(s, 'bsvwire_blocks_lag'), 0);
  t.equal(value(s, 'bsvwire_blocks_delivered_total'), 2, 'the two new blocks');
  t.equal(value(s, 'bsvwire_mempool_txs_seen_total'), 0, 'mempool metrics are there (no transaction on this chain)');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, `graceful exit; stderr: ${result.stderr}`);
  await t.rejects(fetch(url), 'the endpoint closed with follow');

  // sync --to: the endpoint lives for the run and is named on stderr; the run ends by itself.
  const syncPort = await freePort();
  const sync = startCli(['sync', '--network', 'regtest', '--datadir', tempDir(t), '--peer', `127.0.0.1:${node.p2pPort}`, '--from', '1', '--to', '3', '--json', '--metrics', `127.0.0.1:${syncPort}`], { killAfterMs: 120_000 });
  const done = await sync.done;
  t.equal(done.code, 0, `sync exits 0; stderr: ${done.stderr}`);
  t.match(done.stderr, `metrics: http://127.0.0.1:${syncPort}/metrics`);
  await t.rejects(fetch(`http://127.0.0.1:${syncPort}/metrics`), 'the endpoint closed with sync');
});

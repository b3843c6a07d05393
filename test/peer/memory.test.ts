// Hostile peers against a PeerConnection in a child process, over real loopback TCP. Each test
// counts from outside: the child's RSS, what the attacker could write, which sockets died.
import t from 'tap';
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { stopChild } from '../helpers/child.js';
import { transpileForChild } from '../helpers/plain-node.js';
import { WireClient, pingFrame } from './fixtures/wire-client.js';
import { encodeFrameHeader } from '../../lib/framing/index.js';
import { regtest } from '../../lib/networks.js';

const MB = 1e6;
const MiB = 1024 * 1024;

interface Report {
  baselineRss: number;
  maxSampledRss: number;
  peakRss: number;
  closes: { port: number; code: string; message: string }[];
  evictions: { victimPort: number; victimBytes: number; requesterPort: number }[];
  misbehavior: Record<string, number>;
  open: number;
  readingPaused: number;
}

/** The child's stdout as JSON lines, one awaited at a time. */
class Child {
  private readonly pending: ((value: unknown) => void)[] = [];
  private readonly queued: unknown[] = [];
  constructor(readonly process: ChildProcess) {
    createInterface({ input: process.stdout! }).on('line', (line) => {
      const value: unknown = JSON.parse(line);
      const next = this.pending.shift();
      if (next) next(value);
      else this.queued.push(value);
    });
  }
  next<T>(): Promise<T> {
    if (this.queued.length > 0) return Promise.resolve(this.queued.shift() as T);
    return new Promise((resolve) => this.pending.push(resolve as (v: unknown) => void));
  }
  report(): Promise<Report> {
    const r = this.next<Report>();
    this.process.stdin!.write('report\n');
    return r;
  }
}

async function startChild(t: Test, options: object = {}): Promise<{ child: Child; port: number; baselineRss: number }> {
  // Plain node, not tsx: the loader thread would add ~40 MB to the RSS being measured.
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const dir = transpileForChild(root, ['test/peer/fixtures/hostile-child.ts']);
  let proc: ChildProcess | undefined;
  t.teardown(async () => {
    if (proc) await stopChild(proc, 2000);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  proc = spawn(process.execPath, [`${dir}/test/peer/fixtures/hostile-child.js`, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const child = new Child(proc);
  const { port, baselineRss } = await child.next<{ port: number; baselineRss: number }>();
  return { child, port, baselineRss };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const fmt = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

t.test('a million pings from a peer that reads no pongs: the child stays under 150 MB and the link survives', async (t) => {
  const { child, port } = await startChild(t);
  const client = await WireClient.connect(port);
  t.teardown(() => client.destroy());
  await client.handshake(1n);
  client.socket.pause(); // from here on the attacker reads nothing
  const PINGS = 1_000_000;
  const ping = pingFrame(77n);
  const batch = Buffer.concat(Array.from({ length: 2048 }, () => ping));
  let queued = 0;
  for (; queued + 2048 <= PINGS; queued += 2048) client.socket.write(batch);
  client.socket.write(batch.subarray(0, (PINGS - queued) * ping.length));
  const total = PINGS * ping.length;

  // The child stops reading once its pongs back up: our unsent bytes stop moving and stay > 0.
  // A child merely starved of CPU (a loaded machine) also looks still for a while, so a still spell
  // counts only once the child says it has paused; otherwise keep watching, up to the deadline.
  let last = -1;
  let stillSince = Date.now();
  const deadline = Date.now() + 90_000;
  let during = await child.report();
  for (;;) {
    if (Date.now() > deadline) break;
    const now = client.socket.writableLength;
    if (now !== last) {
      last = now;
      stillSince = Date.now();
    } else if (Date.now() - stillSince >= 1500) {
      during = await child.report();
      if (during.readingPaused === 1 || now === 0) break; // paused, or the flood was read whole (a failure below)
      stillSince = Date.now();
    }
    await sleep(100);
  }
  const unread = client.socket.writableLength;
  t.comment(`stalled with ${fmt(unread)} of ${fmt(total)} pings unread; child RSS ${fmt(during.maxSampledRss)} (baseline ${fmt(during.baselineRss)})`);
  t.ok(unread > 0, 'the flood stalled before the child had read it all');
  t.equal(during.readingPaused, 1, 'because the child paused reading: its pongs were backing up');

  // The attacker reads again: every pong arrives, then a fresh round trip works.
  client.socket.resume();
  await until(() => client.count('pong') >= PINGS, 120_000, 'all pongs');
  t.equal(client.count('pong'), PINGS, 'one pong per ping, none lost');
  const rtt = await client.roundTrip(0x5eedn, 10_000);
  t.comment(`round trip after the flood: ${rtt.toFixed(1)} ms`);
  const after = await child.report();
  t.same(after.closes, [], 'the connection was never closed');
  t.equal(after.readingPaused, 0, 'reading resumed');
  t.equal(after.open, 1);
  const peak = after.maxSampledRss;
  t.comment(`child RSS: baseline ${fmt(after.baselineRss)}, peak sampled ${fmt(peak)}, growth ${fmt(peak - after.baselineRss)}; maxRSS ${fmt(after.peakRss)}`);
  t.ok(peak < 150 * MB, `peak RSS ${fmt(peak)} < 150 MB`);
});

t.test('a 200 MB tx header before version is refused at its header', async (t) => {
  const { child, port } = await startChild(t);
  const client = await WireClient.connect(port);
  t.teardown(() => client.destroy());
  const LENGTH = 200_000_000;
  const started = Date.now();
  const written = await Promise.race([
    client.streamFrame(encodeFrameHeader(regtest.magic, 'tx', LENGTH, Buffer.alloc(4)), LENGTH),
    sleep(30_000).then(() => -1),
  ]);
  await Promise.race([client.closedPromise, sleep(10_000)]);
  t.equal(client.closed, true, `the child closed the connection (${Date.now() - started} ms)`);
  t.ok(written >= 0 && written < 32 * MB, `the attacker got ${fmt(written)} of ${fmt(LENGTH + 24)} out before the close`);
  const r = await child.report();
  t.equal(r.closes.length, 1);
  t.equal(r.closes[0]!.code, 'protocol-violation');
  t.match(r.closes[0]!.message, /oversized.*200000000/);
  const growth = r.maxSampledRss - r.baselineRss;
  t.comment(`child RSS growth ${fmt(growth)} (baseline ${fmt(r.baselineRss)}, peak ${fmt(r.maxSampledRss)})`);
  t.ok(growth < 8 * MiB, `RSS growth ${fmt(growth)} < 8 MiB`);
});

t.test('eight peers sending large frames after the handshake: the frame budget holds and drops the biggest', async (t) => {
  const BUDGET = 40 * MiB;
  const { child, port } = await startChild(t, { frameBudgetBytes: BUDGET });
  const clients: WireClient[] = [];
  const localPorts: (number | undefined)[] = [];
  for (let i = 0; i < 8; i++) {
    const c = await WireClient.connect(port);
    t.teardown(() => c.destroy());
    await c.handshake(100n + BigInt(i));
    clients.push(c);
    localPorts.push(c.socket.localPort); // the child knows each peer by this port
  }
  // Sizes fall with arrival order, so each new frame finds a bigger one in the budget: the
  // earlier peer is the one to go, each time. Every frame streams in full, concurrently.
  // Each peer sends 1 MiB of its frame, then holds until all eight have started. Each frame
  // fits the budget alone, no two do.
  const sizes = clients.map((_, i) => (38 - 2 * i) * MB);
  let release: () => void = () => {};
  const allStarted = new Promise<void>((r) => (release = r));
  const streams: Promise<number>[] = [];
  for (let i = 0; i < clients.length; i++) {
    const c = clients[i]!;
    const header = encodeFrameHeader(regtest.magic, 'cmpctblock', sizes[i]!, Buffer.alloc(4));
    streams.push(c.streamFrame(header, sizes[i]!, { after: MiB, until: allStarted }));
    await until(() => c.socket.bytesWritten >= MiB || c.closed, 20_000, `peer ${i} to start its frame`);
    if (i > 0) await until(() => clients[i - 1]!.closed, 20_000, `peer ${i - 1} to be dropped`);
  }
  release();
  await Promise.all(streams);
  const last = clients[7]!;
  t.equal(last.closed, false, 'the smallest, last peer is kept');
  await last.roundTrip(0xabcn, 20_000); // its whole 24 MB frame went through first
  const r = await child.report();
  t.same(
    r.evictions.map((e) => [localPorts.indexOf(e.victimPort), e.victimBytes]),
    sizes.slice(0, 7).map((s, i) => [i, s]),
    'one evict event per dropped peer, naming it and the bytes it held',
  );
  t.same(
    r.closes.map((c) => [localPorts.indexOf(c.port), c.code]),
    sizes.slice(0, 7).map((_, i) => [i, 'memory-budget']),
    'the dropped peers closed with memory-budget',
  );
  t.equal(r.open, 1);
  const growth = r.maxSampledRss - r.baselineRss;
  const demanded = sizes.reduce((a, b) => a + b, 0);
  t.comment(`child RSS growth ${fmt(growth)} for ${fmt(demanded)} of frames against a ${fmt(BUDGET)} budget (peak ${fmt(r.maxSampledRss)})`);
  t.ok(growth < BUDGET + 32 * MiB, `RSS growth ${fmt(growth)} < budget + 32 MiB`);
});

/**
 * Scale benchmarks: one Manager in a child process, an outside client in another (raw TCP sockets on
 * loopback that speak version/verack themselves, bench/scale/client.ts). Prints a markdown table each.
 *
 *   p4     idle inbound peers held after version/verack: KB per peer (RSS and heap) at --peers (9,000)
 *   p5     handshakes per second (--handshakes, 5,000 per run); --profile adds the server's CPU profile
 *   burst  10,000 connection attempts in about 2 s against inbound limit 125: live accepted sockets
 *          (the server process's open sockets, read from /proc), peak and after; RSS before/after
 *
 * Run with `npm run bench -- scale` (all three) or `npm run bench -- p4|p5|burst`; --runs=N (default 3).
 * p4 --breakdown adds a per-peer heap breakdown (snapshots); p5 --profile adds the server's CPU profile.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INBOUND_REJECTING_ALLOWANCE } from '../lib/manager/index.js';
import type { ClientCommand, ClientReport, MemorySample, ServerCommand, ServerReport } from './scale/protocol.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const KB = 1024;
const MB = 1024 * 1024;

interface Child<Report> {
  readonly process: ChildProcess;
  next(kind: string, timeoutMs?: number): Promise<Report>;
  send(command: unknown): void;
}

function start<Report extends { kind: string }>(script: string, args: string[], execArgv: string[] = []): Child<Report> {
  const child = fork(path.join(here, 'scale', script), args, {
    execArgv: ['--import', 'tsx', '--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: Report[] = [];
  const waiters: { kind: string; resolve: (r: Report) => void }[] = [];
  child.on('message', (report: Report) => {
    const i = waiters.findIndex((w) => w.kind === report.kind);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(report);
    else queue.push(report);
  });
  return {
    process: child,
    send: (command) => child.send(command as object),
    next(kind, timeoutMs = 120_000) {
      const i = queue.findIndex((r) => r.kind === kind);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${script}: no '${kind}' within ${timeoutMs} ms`)), timeoutMs);
        child.once('exit', (code) => reject(new Error(`${script} exited (${code}) while waiting for '${kind}'`)));
        waiters.push({ kind, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    },
  };
}

async function stopAll(server: Child<ServerReport>, client: Child<ClientReport>): Promise<void> {
  client.process.kill();
  server.send({ kind: 'stop' } satisfies ServerCommand);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => (server.process.kill('SIGKILL'), resolve()), 10_000);
    server.process.once('exit', () => (clearTimeout(timer), resolve()));
  });
}

async function measure(server: Child<ServerReport>, reduce = false): Promise<Extract<ServerReport, { kind: 'measured' }>> {
  server.send({ kind: 'measure', reduce } satisfies ServerCommand);
  return (await server.next('measured')) as Extract<ServerReport, { kind: 'measured' }>;
}

async function startPair(inbound: number): Promise<{ server: Child<ServerReport>; client: Child<ClientReport>; port: number; baseline: MemorySample }> {
  const server = start<ServerReport>('server.ts', [String(inbound)]);
  const client = start<ClientReport>('client.ts', []);
  const listening = (await server.next('listening')) as Extract<ServerReport, { kind: 'listening' }>;
  await client.next('started');
  return { server, client, port: listening.port, baseline: listening.memory };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const min = (xs: number[]): number => Math.min(...xs);
const max = (xs: number[]): number => Math.max(...xs);
const fmt = (x: number, digits = 1): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---- P4 ----

interface P4Run {
  readonly ready: number;
  readonly rssKb: number;
  readonly heapKb: number;
  readonly externalKb: number;
  readonly rssTotalMb: number;
}

type HeapRows = Extract<ServerReport, { kind: 'heap-breakdown' }>['rows'];

async function heapRows(server: Child<ServerReport>): Promise<HeapRows> {
  server.send({ kind: 'heap-breakdown' } satisfies ServerCommand);
  return ((await server.next('heap-breakdown', 300_000)) as Extract<ServerReport, { kind: 'heap-breakdown' }>).rows;
}

/** What one idle peer holds on the heap: snapshot after minus before, per peer, biggest first. */
function perPeerBreakdown(before: HeapRows, after: HeapRows, peers: number): string[] {
  const base = new Map(before.map(([name, count, bytes]) => [name, [count, bytes] as const]));
  return after
    .map(([name, count, bytes]) => [name, (count - (base.get(name)?.[0] ?? 0)) / peers, (bytes - (base.get(name)?.[1] ?? 0)) / peers] as const)
    .filter(([, , bytes]) => bytes >= 16)
    .sort((a, b) => b[2] - a[2])
    .slice(0, 25)
    .map(([name, count, bytes]) => `| ${fmt(bytes, 0)} | ${fmt(count, 2)} | \`${name}\` |`);
}

async function p4Once(peers: number, breakdown = false): Promise<P4Run & { breakdown?: string[] }> {
  const { server, client, port, baseline } = await startPair(peers + 1000);
  try {
    const heapBefore = breakdown ? await heapRows(server) : undefined;
    client.send({ kind: 'open', host: '127.0.0.1', port, count: peers, concurrency: 200 } satisfies ClientCommand);
    const opened = await client.next('opened', 300_000);
    await sleep(2000);
    const m = await measure(server);
    if (m.readyPeers !== peers) process.stderr.write(`  warning: ${m.readyPeers} of ${peers} ready on the server (${opened.failed} failed at the client)\n`);
    const per = (bytes: number): number => bytes / m.readyPeers / KB;
    const heapAfter = heapBefore ? await heapRows(server) : undefined;
    return {
      breakdown: heapBefore && heapAfter ? perPeerBreakdown(heapBefore, heapAfter, m.readyPeers) : undefined,
      ready: m.readyPeers,
      rssKb: per(m.memory.rss - baseline.rss),
      heapKb: per(m.memory.heapUsed - baseline.heapUsed),
      externalKb: per(m.memory.external - baseline.external),
      rssTotalMb: m.memory.rss / MB,
    };
  } finally {
    await stopAll(server, client);
  }
}

async function p4(runs: number, peers: number, breakdown: boolean): Promise<void> {
  process.stderr.write(`P4: ${peers} idle inbound peers, ${runs} runs\n`);
  const results: P4Run[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await p4Once(peers);
    process.stderr.write(`  run ${i + 1}: ${r.ready} peers, ${fmt(r.rssKb)} KB RSS, ${fmt(r.heapKb)} KB heap, ${fmt(r.externalKb)} KB external per peer (RSS ${fmt(r.rssTotalMb, 0)} MB)\n`);
    results.push(r);
  }
  const col = (f: (r: P4Run) => number): string => `${fmt(min(results.map(f)))} / ${fmt(median(results.map(f)))}`;
  console.log(`\n### P4: ${peers.toLocaleString('en-US')} idle inbound peers held by one Manager (${runs} runs, min / median)\n`);
  console.log('| KB RSS per peer | KB heap per peer | KB external per peer | process RSS (MB) | goal |');
  console.log('|---:|---:|---:|---:|---|');
  console.log(`| ${col((r) => r.rssKb)} | ${col((r) => r.heapKb)} | ${col((r) => r.externalKb)} | ${col((r) => r.rssTotalMb)} | ≤ 12 KB RSS per peer |`);
  if (breakdown) {
    const r = await p4Once(peers, true);
    console.log(`\nWhat an idle peer holds: heap snapshots before and after ${peers.toLocaleString('en-US')} peers, per peer (self sizes), largest first:\n`);
    console.log('| bytes per peer | objects per peer | constructor (kind) |');
    console.log('|---:|---:|---|');
    for (const row of r.breakdown ?? []) console.log(row);
  }
}

// ---- P5 ----

interface P5Run {
  readonly rate: number;
  readonly failed: number;
  /** Handshakes per CPU-second of the server process: what one free core would sustain. */
  readonly perServerCpuSecond: number;
  readonly perClientCpuSecond: number;
}

async function p5Once(handshakes: number, profile: boolean): Promise<P5Run & { profile?: readonly (readonly [string, number])[] }> {
  const { server, client, port } = await startPair(handshakes + 1000);
  try {
    // A short warm-up, so JIT compilation is not counted.
    client.send({ kind: 'open', host: '127.0.0.1', port, count: 500, concurrency: 100 } satisfies ClientCommand);
    await client.next('opened');
    client.send({ kind: 'close' } satisfies ClientCommand);
    await client.next('closed');
    await sleep(500);
    if (profile) server.send({ kind: 'profile-start' } satisfies ServerCommand);
    const serverCpu = cpuMsOf(server.process.pid!);
    const clientCpu = cpuMsOf(client.process.pid!);
    client.send({ kind: 'open', host: '127.0.0.1', port, count: handshakes, concurrency: 200 } satisfies ClientCommand);
    const opened = await client.next('opened', 300_000);
    const serverCpuMs = cpuMsOf(server.process.pid!) - serverCpu;
    const clientCpuMs = cpuMsOf(client.process.pid!) - clientCpu;
    let rows: readonly (readonly [string, number])[] | undefined;
    if (profile) {
      server.send({ kind: 'profile-stop' } satisfies ServerCommand);
      rows = ((await server.next('profile')) as Extract<ServerReport, { kind: 'profile' }>).rows;
    }
    return {
      profile: rows,
      rate: opened.ready / (opened.elapsedMs / 1000),
      failed: opened.failed,
      perServerCpuSecond: opened.ready / (serverCpuMs / 1000),
      perClientCpuSecond: opened.ready / (clientCpuMs / 1000),
    };
  } finally {
    await stopAll(server, client);
  }
}

async function p5(runs: number, handshakes: number, profile: boolean): Promise<void> {
  process.stderr.write(`P5: ${handshakes} handshakes per run, ${runs} runs\n`);
  const results: P5Run[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await p5Once(handshakes, false);
    process.stderr.write(
      `  run ${i + 1}: ${fmt(r.rate, 0)} handshakes/s wall (${r.failed} failed); ${fmt(r.perServerCpuSecond, 0)} per server CPU-second, ${fmt(r.perClientCpuSecond, 0)} per client CPU-second\n`,
    );
    results.push(r);
  }
  const col = (f: (r: P5Run) => number): string => `${fmt(min(results.map(f)), 0)} / ${fmt(median(results.map(f)), 0)} / ${fmt(max(results.map(f)), 0)}`;
  console.log(`\n### P5: handshakes per second, client in its own process (${runs} runs of ${handshakes.toLocaleString('en-US')}, min / median / max)\n`);
  console.log('Wall-clock rate depends on how much CPU the two processes get; per server CPU-second is what one free core sustains.\n');
  console.log('| handshakes/s (wall) | per server CPU-second | server CPU µs per handshake | per client CPU-second | goal |');
  console.log('|---:|---:|---:|---:|---|');
  console.log(
    `| ${col((r) => r.rate)} | ${col((r) => r.perServerCpuSecond)} | ${col((r) => 1e6 / r.perServerCpuSecond)} | ${col((r) => r.perClientCpuSecond)} | ≥ 3,000/s |`,
  );
  if (profile) {
    const r = await p5Once(handshakes, true);
    console.log(`\nWhere the server's time goes: CPU profile of one more run (${fmt(r.rate, 0)}/s wall while profiled), self time over the timed window:\n`);
    console.log('| share | function |');
    console.log('|---:|---|');
    for (const [name, share] of (r.profile ?? []).slice(0, 20)) console.log(`| ${fmt(share * 100)} % | \`${name}\` |`);
  }
}

/** CPU milliseconds (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

// ---- inbound burst ----

/** Sockets the process holds open (its descriptors that link to a socket), from /proc. */
function openSockets(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'latin1')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.match(/\d+/)?.[0] ?? 0) * KB;
}

interface BurstRun {
  readonly peakSockets: number;
  readonly afterSockets: number;
  readonly peakRssMb: number;
  readonly startRssMb: number;
  readonly endRssMb: number;
  /** The same, each after a memory-reducing GC (V8's last-resort full GC). */
  readonly startReducedRssMb: number;
  readonly endReducedRssMb: number;
  readonly startHeapMb: number;
  readonly endHeapMb: number;
  readonly startHeapTotalMb: number;
  readonly endHeapTotalMb: number;
  readonly ready: number;
  readonly failed: number;
  readonly launchMs: number;
  readonly samples: number;
  readonly alive: boolean;
  /** Peers still in the Manager's list after the burst. */
  readonly peersAfter: number;
  /** Peer sockets open when the after figures are taken (10 s later). */
  readonly socketsAtEnd: number;
  /** Seconds after the burst until RSS was within 10% of its start (no forced GC); undefined: not within 50 s. */
  readonly returnedAfterS: number | undefined;
  readonly peerStatesAfter: readonly string[];
}

async function burstOnce(limit: number, attempts: number, durationMs: number): Promise<BurstRun> {
  const { server, client, port } = await startPair(limit);
  const pid = server.process.pid!;
  try {
    await sleep(500);
    const before = await measure(server);
    const beforeReduced = await measure(server, true);
    // Sockets the server holds with no peer at all (the listener, the IPC channel); the rest are peers'.
    const baseFds = openSockets(pid);
    let peakSockets = 0;
    let peakRss = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      try {
        peakSockets = Math.max(peakSockets, openSockets(pid) - baseFds);
        peakRss = Math.max(peakRss, rssOf(pid));
        samples++;
      } catch {
        // the process went away: reported below
      }
    }, 2);
    client.send({ kind: 'burst', host: '127.0.0.1', port, count: attempts, durationMs, holdMs: 1500 } satisfies ClientCommand);
    const report = await client.next('burst', 120_000);
    // Let the server close what is left, then measure after a GC like before.
    for (let i = 0; i < 100 && openSockets(pid) > baseFds; i++) await sleep(100);
    clearInterval(sampler);
    const afterSockets = openSockets(pid) - baseFds;
    // The after figure is taken 10 s after the sockets are gone: V8's memory reducer gives back the young
    // generation the burst grew only after some idle seconds.
    await sleep(10_000);
    const socketsAtEnd = openSockets(pid) - baseFds;
    const after = await measure(server);
    const afterReduced = await measure(server, true);
    // Then how long until RSS is within 10% of its start (read from /proc, no forced GC), up to 40 s more:
    // late connections the kernel completed after the burst are closed by the 30 s handshake timeout.
    const waitStarted = performance.now();
    while (rssOf(pid) > before.memory.rss * 1.1 && performance.now() - waitStarted < 40_000) await sleep(1000);
    const returnedAfterS = rssOf(pid) <= before.memory.rss * 1.1 ? 10 + (performance.now() - waitStarted) / 1000 : undefined;
    return {
      peakSockets,
      afterSockets,
      peakRssMb: peakRss / MB,
      startRssMb: before.memory.rss / MB,
      endRssMb: after.memory.rss / MB,
      startReducedRssMb: beforeReduced.memory.rss / MB,
      endReducedRssMb: afterReduced.memory.rss / MB,
      startHeapMb: before.memory.heapUsed / MB,
      endHeapMb: after.memory.heapUsed / MB,
      startHeapTotalMb: before.memory.heapTotal / MB,
      endHeapTotalMb: after.memory.heapTotal / MB,
      ready: report.ready,
      failed: report.failed,
      launchMs: report.launchMs ?? 0,
      samples,
      alive: server.process.exitCode === null,
      peersAfter: after.peers,
      socketsAtEnd,
      returnedAfterS,
      peerStatesAfter: after.peerStates,
    };
  } finally {
    await stopAll(server, client);
  }
}

async function burst(runs: number): Promise<void> {
  const limit = 125;
  const cap = limit + INBOUND_REJECTING_ALLOWANCE;
  process.stderr.write(`burst: 10,000 attempts in ~2 s against inbound ${limit}, ${runs} runs\n`);
  const results: BurstRun[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await burstOnce(limit, 10_000, 2000);
    process.stderr.write(
      `  run ${i + 1}: peak ${r.peakSockets} sockets (cap ${cap}), ${r.afterSockets} after (10 s later ${r.socketsAtEnd} sockets, ${r.peersAfter} peers listed${r.peersAfter ? `: ${r.peerStatesAfter.join(', ')}` : ''}); RSS ${fmt(r.startRssMb)} -> peak ${fmt(r.peakRssMb)} -> ${fmt(r.endRssMb)} MB (after a memory-reducing GC ${fmt(r.startReducedRssMb)} -> ${fmt(r.endReducedRssMb)}); RSS within 10% ${r.returnedAfterS === undefined ? 'not within 50 s' : `after ${fmt(r.returnedAfterS, 0)} s`}; heap used ${fmt(r.startHeapMb)} -> ${fmt(r.endHeapMb)} MB, committed ${fmt(r.startHeapTotalMb)} -> ${fmt(r.endHeapTotalMb)} MB; ` +
        `${r.ready} handshakes, ${r.failed} refused/closed; launched in ${fmt(r.launchMs, 0)} ms; ${r.samples} samples; server ${r.alive ? 'alive' : 'DEAD'}\n`,
    );
    results.push(r);
  }
  const col = (f: (r: BurstRun) => number, digits = 1): string => `${fmt(min(results.map(f)), digits)} / ${fmt(median(results.map(f)), digits)} / ${fmt(max(results.map(f)), digits)}`;
  console.log(`\n### Inbound burst: 10,000 attempts in about 2 s, inbound limit ${limit} (${runs} runs, min / median / max)\n`);
  console.log('| peak live accepted sockets | cap (limit + rejecting allowance) | sockets after | handshakes completed | server alive |');
  console.log('|---:|---:|---:|---:|---|');
  console.log(`| ${col((r) => r.peakSockets, 0)} | ${cap} | ${col((r) => r.afterSockets, 0)} | ${col((r) => r.ready, 0)} | ${results.every((r) => r.alive) ? 'all runs' : 'NO'} |`);
  console.log('\n| RSS (MB) | before | peak | after (10 s idle, then a plain GC) | change | before, memory-reducing GC | after, memory-reducing GC | change |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  const change = (a: number, b: number): number => ((b - a) / a) * 100;
  console.log(
    `| min / median / max | ${col((r) => r.startRssMb)} | ${col((r) => r.peakRssMb)} | ${col((r) => r.endRssMb)} | ${col((r) => change(r.startRssMb, r.endRssMb))} % | ` +
      `${col((r) => r.startReducedRssMb)} | ${col((r) => r.endReducedRssMb)} | ${col((r) => change(r.startReducedRssMb, r.endReducedRssMb))} % |`,
  );
  const back = results.filter((r) => change(r.startRssMb, r.endRssMb) <= 10).length;
  console.log(`\nRSS back within 10% of its start 10 s after the burst in ${back} of ${runs} runs.`);
  const times = results.map((r) => (r.returnedAfterS === undefined ? 'not within 50 s' : `${fmt(r.returnedAfterS, 0)} s`));
  console.log(`Time until RSS was within 10% of its start (no forced GC), per run: ${times.join(', ')}.`);
  const over = results.filter((r) => r.peakSockets > cap);
  if (over.length > 0) console.log(`\n**${over.length} run(s) exceeded the cap.**`);
}

export async function runScale(which: readonly string[], options: Map<string, string>): Promise<void> {
  const runs = Math.max(1, Number(options.get('runs') ?? 3));
  if (which.includes('p4')) await p4(runs, Number(options.get('peers') ?? 9000), options.has('breakdown'));
  if (which.includes('p5')) await p5(runs, Number(options.get('handshakes') ?? 5000), options.has('profile'));
  if (which.includes('burst')) await burst(runs);
}

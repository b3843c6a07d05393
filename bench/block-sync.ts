/**
 * `npm run bench -- block-sync`: block sync over loopback TCP through Manager + HeaderFollower + BlockFollower
 * (spool on disk, in-order delivery, cursor). A chain of synthetic regtest blocks of 1 MB to --max-block MB (valid
 * proof of work and merkle roots; bench/block-sync-chain.ts) is generated once into the bench cache. A serving
 * process (bench/block-sync-peer.ts) answers getheaders and streams each block from its file with sendStreamed,
 * holding no block; a measuring process (bench/block-sync-child.ts) syncs the whole chain from 1, 2 and 4 of its
 * ports. The limit for the same bytes (frame checksum + sha256d of every transaction, one process, no network) is
 * measured in the same run. Then: the stall recovery (one port goes silent on the blocks asked of it) and the peak
 * RSS with a slow consumer (the handler sleeps per block). Prints markdown tables.
 *
 * Options: --total=MB (chain size, default 600; the issue's full size is --total=2000)
 *          --max-block=MB (largest block, default 200, or 400 when --total is 2000 or more)
 *          --runs=N (sync runs per peer count, default 1)   --sleep=ms (the slow consumer's sleep per block, default 2000)
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureBenchChain } from './block-sync-chain.js';

const args = new Map(process.argv.slice(2).filter((a) => a.startsWith('--')).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const TOTAL_MB = Number(args.get('total') ?? 600);
const MAX_BLOCK_MB = Number(args.get('max-block') ?? (TOTAL_MB >= 2000 ? 400 : 200));
const runs = Math.max(1, Number(args.get('runs') ?? 1));
const SLEEP_MS = Number(args.get('sleep') ?? 2000);
/** The stall run syncs only the first blocks (1 MB each), so the big blocks do not blur the recovery time. */
const STALL_STOP_HEIGHT = 8;
const peerPath = fileURLToPath(new URL('./block-sync-peer.ts', import.meta.url));
const childPath = fileURLToPath(new URL('./block-sync-child.ts', import.meta.url));

interface SyncResult {
  height: number;
  bytes: number;
  delivered: number;
  wallMs: number;
  cpuMs: number;
  baselineRss: number;
  peakRss: number;
  drops: string[];
  problems: string[];
  stalls: { hash: string; reaskedMs?: number; reason?: string; deliveredMs?: number }[];
}
interface LimitResult {
  bytes: number;
  wallMs: number;
  cpuMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** From /proc (Linux): user + system CPU ms of another process, and its peak RSS (VmHWM) in bytes. */
function processCpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}
function processPeakRss(pid: number): number | undefined {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : undefined;
}

function child<T>(...childArgs: string[]): T {
  const out = execFileSync(process.execPath, ['--import', 'tsx', childPath, ...childArgs], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    timeout: 660_000,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

console.log('# bsv-wire block sync benchmark');
console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`);
const chain = ensureBenchChain(TOTAL_MB * 1e6, MAX_BLOCK_MB * 1e6);
const chainPath = join(chain.dir, 'chain.json');
const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);

// The serving process: 4 ports and 1 silent one. Its stdin is our pipe, so it ends with us even if we are killed.
const server = spawn(process.execPath, ['--import', 'tsx', peerPath, chainPath, '4', '1'], { stdio: ['pipe', 'pipe', 'inherit'] });
const stopServer = (): void => {
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
};
process.on('exit', stopServer);
const { ports, silentPorts } = await new Promise<{ ports: number[]; silentPorts: number[] }>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the serving process did not start within 120 s')), 120_000);
  server.once('exit', (code) => reject(new Error(`the serving process exited (${code})`)));
  createInterface({ input: server.stdout! }).once('line', (line) => {
    clearTimeout(timer);
    resolve(JSON.parse(line) as { ports: number[]; silentPorts: number[] });
  });
});

const loadBefore = loadavg()[0]!;
const peerCounts = [1, 2, 4] as const;
const syncs = new Map<number, SyncResult[]>(peerCounts.map((n) => [n, []]));
const serverCpu = new Map<number, number[]>(peerCounts.map((n) => [n, []]));
const limits: LimitResult[] = [];
for (let run = 0; run < runs; run++) {
  process.stderr.write(`  run ${run + 1}/${runs}: the hashing limit ...\n`);
  limits.push(child<LimitResult>('limit', chainPath));
  for (const n of peerCounts) {
    process.stderr.write(`  run ${run + 1}/${runs}: sync from ${n} peer(s) ...\n`);
    const before = processCpuMs(server.pid!);
    syncs.get(n)!.push(child<SyncResult>('sync', chainPath, '0', '-', '-', ...ports.slice(0, n).map(String)));
    const after = processCpuMs(server.pid!);
    if (before !== undefined && after !== undefined) serverCpu.get(n)!.push(after - before);
  }
}
process.stderr.write(`  stall: a silent peer and a serving one, blocks 1..${STALL_STOP_HEIGHT} ...\n`);
// The silent port is dialed first, but the other may still take every block if its handshake and headers come first:
// then the run is repeated (at most 3 tries) and the table says how many it took.
let stall = child<SyncResult>('sync', chainPath, '0', String(STALL_STOP_HEIGHT), silentPorts.join(','), String(ports[0]));
let stallTries = 1;
for (; stall.stalls.length === 0 && stallTries < 3; stallTries++) {
  stall = child<SyncResult>('sync', chainPath, '0', String(STALL_STOP_HEIGHT), silentPorts.join(','), String(ports[0]));
}
process.stderr.write(`  slow consumer: 4 peers, the handler sleeps ${SLEEP_MS} ms per block ...\n`);
const slow = child<SyncResult>('sync', chainPath, String(SLEEP_MS), '-', '-', ...ports.map(String));
const loadAfter = loadavg()[0]!;
const serverPeakRss = processPeakRss(server.pid!);
stopServer();

const limitWall = median(limits.map((l) => l.wallMs));
const limitCpu = median(limits.map((l) => l.cpuMs));
const largest = Math.max(...chain.blocks.map((b) => b.payloadLength));
console.log(
  `\n${chain.blocks.length} regtest blocks, ${mb(chain.totalBytes)} MB in all, ${mb(Math.min(...chain.blocks.map((b) => b.payloadLength)))} to ${mb(largest)} MB each ` +
    `(${chain.blocks.map((b) => mb(b.payloadLength)).join(', ')} MB), ${chain.blocks.reduce((n, b) => n + b.txCount, 0).toLocaleString('en-US')} txs` +
    (chain.generatedIn ? ` (generated in ${chain.generatedIn.toFixed(0)} s, cached)` : '') +
    `; ${runs} run${runs === 1 ? '' : 's'} each (median shown); load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after on ${cpus().length} CPUs\n`,
);
console.log('| what | MB/s (wall) | MB/s (CPU) | share of the limit (wall / CPU) | wall s, each run | peak RSS MB (growth) | serving process CPU s |');
console.log('|---|---:|---:|---:|---|---:|---:|');
const rate = (ms: number): number => chain.totalBytes / 1e6 / (ms / 1000);
const note = (r: SyncResult[]): string => {
  const issues = [...r.flatMap((x) => x.problems), ...r.flatMap((x) => x.drops.map((d) => `drop: ${d}`))];
  return issues.length ? ` — **${issues.join('; ')}**` : '';
};
for (const n of peerCounts) {
  const r = syncs.get(n)!;
  const wall = median(r.map((x) => x.wallMs));
  const cpu = median(r.map((x) => x.cpuMs));
  const peak = median(r.map((x) => x.peakRss));
  const growth = median(r.map((x) => x.peakRss - x.baselineRss));
  const srv = serverCpu.get(n)!;
  console.log(
    `| sync from ${n} loopback peer${n === 1 ? '' : 's'} (Manager + HeaderFollower + BlockFollower, every tx read back from the spool)${note(r)} ` +
      `| ${rate(wall).toFixed(1)} | ${rate(cpu).toFixed(1)} | ${(limitWall / wall).toFixed(2)} / ${(limitCpu / cpu).toFixed(2)} ` +
      `| ${r.map((x) => (x.wallMs / 1000).toFixed(1)).join(', ')} | ${mb(peak)} (+${mb(growth)}) | ${srv.length ? (median(srv) / 1000).toFixed(1) : '?'} |`,
  );
}
console.log(
  `| slow consumer: 4 peers, the handler sleeps ${SLEEP_MS} ms per block${note([slow])} | ${rate(slow.wallMs).toFixed(1)} | ${rate(slow.cpuMs).toFixed(1)} | | ${(slow.wallMs / 1000).toFixed(1)} ` +
    `| **${mb(slow.peakRss)}** (+${mb(slow.peakRss - slow.baselineRss)}) | |`,
);
console.log(
  `| limit: read the same files in 64 KiB chunks, frame checksum + sha256d of every tx (boundaries given), one process | ${rate(limitWall).toFixed(1)} | ${rate(limitCpu).toFixed(1)} | 1 ` +
    `| ${limits.map((l) => (l.wallMs / 1000).toFixed(1)).join(', ')} | | |`,
);

const stalled = stall.stalls.filter((s) => s.deliveredMs !== undefined);
const firstStall = stalled.sort((a, b) => a.deliveredMs! - b.deliveredMs!)[0];
console.log(`\nStall recovery: one silent port (answers headers and pings, never a block) + one serving port; blocks 1..${STALL_STOP_HEIGHT} (1 MB each); times from the getdata to the silent peer (median over its blocks)${stallTries > 1 ? `; ${stallTries} tries: in the others the serving peer took every block` : ''}.`);
console.log('| blocks asked of the silent peer | asked again of the other after, s | delivered after, s (first / last) | reason | drops |');
console.log('|---:|---:|---:|---|---|');
if (firstStall) {
  console.log(
    `| ${stall.stalls.length} | ${(median(stalled.map((s) => s.reaskedMs ?? NaN)) / 1000).toFixed(2)} | ${(firstStall.deliveredMs! / 1000).toFixed(2)} / ${(Math.max(...stalled.map((s) => s.deliveredMs!)) / 1000).toFixed(2)} ` +
      `| ${[...new Set(stall.stalls.map((s) => s.reason))].join(', ')} | ${stall.drops.join(', ') || 'none'}${stall.problems.length ? `; **${stall.problems.join('; ')}**` : ''} |`,
  );
} else {
  console.log(`| ${stall.stalls.length} | – | – | – | **no block was asked of the silent peer or none was delivered**: ${stall.problems.join('; ')} |`);
}
console.log(
  `Peak RSS (VmHWM) of the serving process over the whole run: ${serverPeakRss ? mb(serverPeakRss) : '?'} MB, with blocks of up to ${mb(largest)} MB: it streams each from its file.`,
);

/**
 * `npm run bench -- headers-sync`: header sync throughput over loopback TCP. 1,000,000 synthetic but valid regtest
 * headers (version 4, 60 s apart: after the median time past, never ahead of the clock) are generated once into the
 * bench cache. A serving process (bench/headers-sync-peer.ts) answers getheaders from that file; a measuring
 * process (bench/headers-sync-child.ts) runs Manager + HeaderFollower + HeaderStore with every header through
 * checkHeader, from genesis to the serving peer's tip, with 1 and with 4 serving peers. The floor for the same
 * work (decode the headers messages and sha256d each 80-byte header, nothing else) is measured in the same run.
 * Prints a markdown table.
 *
 * Options: --runs=N (sync runs per peer count, default 2)   --count=N (headers, default 1,000,000)
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { syntheticHeaderBytes } from '../test/helpers/synthetic-headers.js';
import { benchCacheDir } from './block-files.js';

const args = new Map(process.argv.slice(2).filter((a) => a.startsWith('--')).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const runs = Number(args.get('runs') ?? 2);
const COUNT = Number(args.get('count') ?? 1_000_000);
const SPACING = 60;
const SEED = 12;
const GENERATOR_VERSION = 1;
const peerPath = fileURLToPath(new URL('./headers-sync-peer.ts', import.meta.url));
const childPath = fileURLToPath(new URL('./headers-sync-child.ts', import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The raw headers (heights 1..COUNT) and their hashes, written once; a partial generation is never taken for done. */
function ensureHeaderFiles(): { headers: string; hashes: string; generatedIn?: number } {
  const dir = join(benchCacheDir(), `sync-headers-${COUNT}-v${GENERATOR_VERSION}`);
  const headers = join(dir, 'headers.bin');
  const hashes = join(dir, 'hashes.bin');
  if (existsSync(headers) && existsSync(hashes)) return { headers, hashes };
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`  generating ${COUNT.toLocaleString('en-US')} headers into ${dir} (once; cached) ...\n`);
  const t0 = performance.now();
  const h = openSync(`${headers}.part`, 'w');
  const x = openSync(`${hashes}.part`, 'w');
  const batchHeaders: Buffer[] = [];
  const batchHashes: Buffer[] = [];
  const write = (): void => {
    writeSync(h, Buffer.concat(batchHeaders));
    writeSync(x, Buffer.concat(batchHashes));
    batchHeaders.length = 0;
    batchHashes.length = 0;
  };
  for (const { bytes, hash } of syntheticHeaderBytes(COUNT, SEED, undefined, { spacing: SPACING, version: 4 })) {
    batchHeaders.push(bytes);
    batchHashes.push(hash);
    if (batchHeaders.length === 10_000) write();
  }
  write();
  closeSync(h);
  closeSync(x);
  renameSync(`${hashes}.part`, hashes);
  renameSync(`${headers}.part`, headers);
  return { headers, hashes, generatedIn: (performance.now() - t0) / 1000 };
}

/** user + system CPU ms of another process so far (Linux /proc; undefined elsewhere). */
function processCpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

function child<T>(...childArgs: string[]): T {
  const out = execFileSync(process.execPath, ['--import', 'tsx', childPath, ...childArgs], {
    encoding: 'utf8',
    timeout: 660_000,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

interface SyncResult {
  height: number;
  wallMs: number;
  cpuMs: number;
  waitMs: number;
  readyPeers: number;
  drops: string[];
  rss: number;
}
interface Timing {
  wallMs: number;
  cpuMs: number;
}
interface LimitResult {
  count: number;
  hashOnly: Timing;
  decodeOnly: Timing;
  both: Timing;
}

console.log('# bsv-wire header sync benchmark');
console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown CPU'})`);
const files = ensureHeaderFiles();

// The serving peers: one process, 4 listening ports (the 1-peer runs use the first). Its stdin is our pipe, so it
// ends with us even if we are killed.
const server = spawn(process.execPath, ['--import', 'tsx', peerPath, files.headers, files.hashes, '4'], { stdio: ['pipe', 'pipe', 'inherit'] });
const stopServer = (): void => {
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
};
process.on('exit', stopServer);
const ports = await new Promise<number[]>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the serving process did not start within 120 s')), 120_000);
  server.once('exit', (code) => reject(new Error(`the serving process exited (${code})`)));
  createInterface({ input: server.stdout! }).once('line', (line) => {
    clearTimeout(timer);
    resolve((JSON.parse(line) as { ports: number[] }).ports);
  });
});

const loadBefore = loadavg()[0]!;
const results: Record<'1' | '4', SyncResult[]> = { '1': [], '4': [] };
const serverCpu: Record<'1' | '4', number[]> = { '1': [], '4': [] };
const limits: LimitResult[] = [];
for (let run = 0; run < runs; run++) {
  process.stderr.write(`  run ${run + 1}/${runs}: floor ...\n`);
  limits.push(child<LimitResult>('limit', files.headers));
  for (const peers of ['1', '4'] as const) {
    process.stderr.write(`  run ${run + 1}/${runs}: sync from ${peers} peer(s) ...\n`);
    const before = processCpuMs(server.pid!);
    results[peers].push(child<SyncResult>('sync', String(COUNT), ...ports.slice(0, Number(peers)).map(String)));
    const after = processCpuMs(server.pid!);
    if (before !== undefined && after !== undefined) serverCpu[peers].push(after - before);
  }
}
const loadAfter = loadavg()[0]!;
stopServer();

const rate = (ms: number): number => COUNT / (ms / 1000);
const fmtRate = (ms: number): string => Math.round(rate(ms)).toLocaleString('en-US');
const floorWall = median(limits.map((l) => l.both.wallMs));
const floorCpu = median(limits.map((l) => l.both.cpuMs));

console.log(
  `\n${COUNT.toLocaleString('en-US')} regtest headers` +
    (files.generatedIn ? ` (generated in ${files.generatedIn.toFixed(0)} s, cached)` : '') +
    `; ${runs} runs each (median shown); load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after on ${cpus().length} CPUs\n`,
);
console.log('| what | headers/s (wall) | headers/s (CPU) | share of the floor (wall / CPU) | wall s, each run | of it waiting on the peer, s | serving process CPU s |');
console.log('|---|---:|---:|---:|---|---:|---:|');
for (const peers of ['1', '4'] as const) {
  const r = results[peers];
  const wall = median(r.map((x) => x.wallMs));
  const cpu = median(r.map((x) => x.cpuMs));
  const drops = r.flatMap((x) => x.drops);
  console.log(
    `| sync from ${peers} loopback peer${peers === '1' ? '' : 's'} (Manager + HeaderFollower + checkHeader + HeaderStore)${drops.length ? ` — drops: ${drops.join('; ')}` : ''} ` +
      `| ${fmtRate(wall)} | ${fmtRate(cpu)} | ${(floorWall / wall).toFixed(2)} / ${(floorCpu / cpu).toFixed(2)} ` +
      `| ${r.map((x) => (x.wallMs / 1000).toFixed(1)).join(', ')} | ${(median(r.map((x) => x.waitMs)) / 1000).toFixed(1)} | ${serverCpu[peers].length ? (median(serverCpu[peers]) / 1000).toFixed(1) : '?'} |`,
  );
}
const floorRow = (what: string, pick: (l: LimitResult) => Timing): void => {
  const wall = median(limits.map((l) => pick(l).wallMs));
  const cpu = median(limits.map((l) => pick(l).cpuMs));
  console.log(`| ${what} | ${fmtRate(wall)} | ${fmtRate(cpu)} | | ${limits.map((l) => (pick(l).wallMs / 1000).toFixed(2)).join(', ')} | | |`);
};
floorRow('floor: decode the headers messages + sha256d of each 80-byte header', (l) => l.both);
floorRow(`floor part: sha256d of ${COUNT.toLocaleString('en-US')} × 80 bytes alone`, (l) => l.hashOnly);
floorRow(`floor part: headersCodec.decode alone (${Math.ceil(COUNT / 2000)} payloads of 2000)`, (l) => l.decodeOnly);
const rss = median([...results['1'], ...results['4']].map((x) => x.rss));
console.log(`\nMeasuring process RSS after the sync: ${(rss / 1e6).toFixed(0)} MB (median); ready peers: ${results['4'].map((x) => x.readyPeers).join(', ')} of 4 in the 4-peer runs.`);

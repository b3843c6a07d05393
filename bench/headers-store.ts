/**
 * `npm run bench -- headers-store`: the header store with 1,000,000 synthetic regtest headers (a main chain plus
 * 20 three-header stale forks), generated once into the bench cache directory. Prints a markdown table:
 * - open, cold: a fresh process, after the two files were dropped from the page cache (`sync`, then
 *   `dd iflag=nocache count=0`, which is posix_fadvise DONTNEED; `fincore` shows what stayed resident);
 * - open, fresh process: the files in the page cache, the process new (its first open: nothing JIT-compiled);
 * - open, warm: later opens in the same process;
 * - the format alternatives measured against it: checking every checksum, reading both files whole (what one
 *   file of header + index records would read), recomputing every hash instead of trusting the stored ones;
 * - insert throughput: HeaderTree.insert alone, and HeaderStore.append (writes, fsync every 8192) in batches
 *   of 2,000 as a headers message brings them.
 *
 * Options: --runs=N (opens per mode, default 5)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeaderStore, type HeaderToStore } from '../lib/chain/header-store.js';
import { HeaderTree } from '../lib/chain/header-tree.js';
import { decodeBlockHeader } from '../lib/messages/block-header.js';
import { regtest } from '../lib/networks.js';
import { regtestGenesis, syntheticHeaderBytes } from '../test/helpers/synthetic-headers.js';
import { benchCacheDir } from './block-files.js';

const TOTAL = 1_000_000;
const FORKS = 20;
const FORK_LENGTH = 3;
const BATCH = 2000;
const INSERT_SAMPLE = 200_000;
const GENERATOR_VERSION = 1;

const args = new Map(process.argv.slice(2).filter((a) => a.startsWith('--')).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const runs = Number(args.get('runs') ?? 5);
const childPath = fileURLToPath(new URL('./headers-store-child.ts', import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Batches of synthetic headers: the main chain, with a short stale fork every TOTAL / FORKS headers. */
function* plan(): Generator<HeaderToStore[]> {
  const mainLength = TOTAL - 1 - FORKS * FORK_LENGTH;
  const forkEvery = Math.floor(mainLength / FORKS);
  let batch: HeaderToStore[] = [];
  let height = 0;
  let forkSeed = 1000;
  for (const { bytes, hash } of syntheticHeaderBytes(mainLength, 1)) {
    const header = decodeBlockHeader(bytes);
    batch.push({ header, hash });
    height++;
    if (height % forkEvery === 0 && forkSeed < 1000 + FORKS) {
      for (const f of syntheticHeaderBytes(FORK_LENGTH, forkSeed++, { hash: header.prevBlock, time: header.timestamp - 600 })) {
        batch.push({ header: decodeBlockHeader(f.bytes), hash: f.hash });
      }
    }
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function generate(dir: string): Promise<number> {
  const t0 = performance.now();
  const store = await HeaderStore.open(dir, regtest);
  for (const batch of plan()) store.append(batch);
  await store.close();
  const seconds = (performance.now() - t0) / 1000;
  writeFileSync(join(dir, 'done.json'), JSON.stringify({ total: TOTAL, seconds }));
  return seconds;
}

interface ChildResult {
  times: number[];
  cpuTimes: number[];
  size?: number;
  bestHeight?: number;
  tips?: number;
  heal?: unknown;
  treeBytes?: number;
  rssGrowth?: number;
  locatorLength?: number;
  bytes?: number;
}

function child(dir: string, mode: string, count: number): ChildResult {
  const out = execFileSync(process.execPath, ['--import', 'tsx', childPath, dir, mode, String(count)], {
    encoding: 'utf8',
    timeout: 300_000,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

/** Drops the store's files from the page cache; returns the bytes still resident afterwards (fincore). */
function dropCache(dir: string): number | undefined {
  const files = ['headers.dat', 'headers.idx'].map((f) => join(dir, f));
  execFileSync('sync');
  for (const f of files) execFileSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
  try {
    const out = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', ...files], { encoding: 'utf8' });
    return out.trim().split(/\s+/).reduce((n, v) => n + Number(v), 0);
  } catch {
    return undefined; // no fincore: residency unknown
  }
}

async function insertThroughput(): Promise<{ tree: number; store: number }> {
  process.stderr.write(`  insert throughput: generating ${INSERT_SAMPLE.toLocaleString('en-US')} headers ...\n`);
  const headers: HeaderToStore[] = [];
  for (const { bytes, hash } of syntheticHeaderBytes(INSERT_SAMPLE, 7)) headers.push({ header: decodeBlockHeader(bytes), hash });
  const tree = HeaderTree.fromGenesis(regtestGenesis);
  let t0 = performance.now();
  for (const h of headers) tree.insert(h.header, h.hash);
  const treeRate = INSERT_SAMPLE / ((performance.now() - t0) / 1000);
  const dir = mkdtempSync(join(tmpdir(), 'bsv-wire-headers-'));
  try {
    const store = await HeaderStore.open(dir, regtest);
    t0 = performance.now();
    for (let i = 0; i < headers.length; i += BATCH) store.append(headers.slice(i, i + BATCH));
    await store.flush();
    const storeRate = INSERT_SAMPLE / ((performance.now() - t0) / 1000);
    await store.close();
    return { tree: treeRate, store: storeRate };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (ms: number): string => ms.toFixed(0);
const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);

console.log('# bsv-wire header store benchmark');
console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown CPU'})`);
const dir = join(benchCacheDir(), `headers-${TOTAL}-v${GENERATOR_VERSION}`);
let generatedIn: number | undefined;
if (!existsSync(join(dir, 'done.json'))) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`  generating ${TOTAL.toLocaleString('en-US')} headers into ${dir} (once; cached) ...\n`);
  generatedIn = await generate(dir);
}

process.stderr.write('  cold opens ...\n');
const loadBefore = loadavg()[0]!;
interface Timed {
  wall: number[];
  cpu: number[];
}
const timed = (): Timed => ({ wall: [], cpu: [] });
const add = (into: Timed, r: ChildResult, skip = 0): void => {
  into.wall.push(...r.times.slice(skip));
  into.cpu.push(...r.cpuTimes.slice(skip));
};
const cold = timed();
const resident: (number | undefined)[] = [];
let details: ChildResult | undefined;
for (let i = 0; i < runs; i++) {
  resident.push(dropCache(dir));
  const r = child(dir, 'open', 1);
  add(cold, r);
  details = r;
}
process.stderr.write('  fresh-process opens ...\n');
const fresh = timed();
for (let i = 0; i < runs; i++) add(fresh, child(dir, 'open', 1));
process.stderr.write('  warm opens ...\n');
const warm = timed();
add(warm, child(dir, 'open', runs + 1), 1);
process.stderr.write('  alternatives ...\n');
const verifyAll = timed();
add(verifyAll, child(dir, 'verify-all', runs));
const readAllResult = child(dir, 'read-all', runs);
const readAll = timed();
add(readAll, readAllResult);
const rehash = timed();
add(rehash, child(dir, 'rehash', 1));
const inserts = await insertThroughput();
const loadAfter = loadavg()[0]!;

const d = details!;
console.log(
  `\n${d.size!.toLocaleString('en-US')} headers stored (best height ${d.bestHeight!.toLocaleString('en-US')}, ${d.tips} tips), ` +
    `headers.dat + headers.idx = ${mb(readAllResult.bytes!)} MB` +
    (generatedIn ? ` (generated in ${generatedIn.toFixed(0)} s, cached)` : '') +
    `; ${runs} runs each, load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after on ${cpus().length} CPUs\n`,
);
console.log('| what | wall ms (median) | CPU ms (median) | wall ms, each run |');
console.log('|---|---:|---:|---|');
const row = (what: string, t: Timed): void => console.log(`| ${what} | ${fmt(median(t.wall))} | ${fmt(median(t.cpu))} | ${t.wall.map(fmt).join(', ')} |`);
const residentText = resident.map((b) => (b === undefined ? '?' : `${b} B`)).join(', ');
row(`open, cold: fresh process, both files dropped from the page cache (resident after the drop: ${residentText})`, cold);
row('open, fresh process, files in the page cache', fresh);
row('open, warm: the same process again', warm);
row('alternative: open checking every checksum (verifyAll)', verifyAll);
row('alternative: read both files whole (what one file of header + index records would read)', readAll);
row('alternative: recompute every hash (sha256d × 1M) instead of trusting the index', rehash);
console.log(`\nMemory after open: tree arrays ${mb(d.treeBytes!)} MB, process RSS growth ${mb(d.rssGrowth!)} MB; locator from the tip: ${d.locatorLength} hashes.`);
console.log(
  `Insert throughput (${INSERT_SAMPLE.toLocaleString('en-US')} headers, hashes given, wall clock): HeaderTree.insert ${Math.round(inserts.tree).toLocaleString('en-US')}/s; ` +
    `HeaderStore.append in batches of ${BATCH} ${Math.round(inserts.store).toLocaleString('en-US')}/s (with its writes and an fdatasync every 8,192).`,
);

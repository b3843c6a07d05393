/**
 * `node --import tsx bench/header-rules.ts`: checkHeader calls per second on real headers, on an in-memory
 * branch with O(1) ancestor lookups (what a header store's view gives). DAA era: BSV mainnet 886148..886500;
 * pre-DAA era (2016 retarget + the EDA's two medians per header): mainnet 296223..296352. Each range is checked
 * over and over for a bounded number of rounds; the first rounds warm up and are not counted. Rates are per
 * CPU-second (user + system) because the machine is shared; the wall-clock rate is shown too.
 *
 * Options: --rounds=N (counted rounds per era, default 200)
 */
import { readFileSync } from 'node:fs';
import { consensusParams } from '../lib/chain/consensus.js';
import { checkHeader } from '../lib/chain/rules.js';
import type { ChainView, HeaderEntry } from '../lib/chain/types.js';
import { blockWork } from '../lib/chain/work.js';
import { blockHash, decodeBlockHeader, type BlockHeader } from '../lib/messages/block-header.js';
import { mainnet } from '../lib/networks.js';
import { sha256d } from '../lib/hash.js';

const rounds = Number(/^--rounds=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--rounds=')) ?? '')?.[1] ?? 200);
const params = consensusParams(mainnet);

interface Loaded {
  /** Lowest height of the consecutive run the fixture ends with. */
  readonly first: number;
  readonly headers: BlockHeader[];
  readonly raws: Buffer[];
  readonly entries: HeaderEntry[];
  /** Headers outside that run (the first header of a retarget period), by height. */
  readonly extra: ReadonlyMap<number, HeaderEntry>;
}

function load(name: string): Loaded {
  const lines = readFileSync(new URL(`../test/chain/fixtures/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => /^\d+ [0-9a-f]{160}/.test(l));
  // Only the longest run of consecutive heights at the end of the file.
  const parsed = lines.map((l) => ({ height: Number(l.split(' ')[0]), raw: Buffer.from(l.split(' ')[1], 'hex') }));
  let start = parsed.length - 1;
  while (start > 0 && parsed[start - 1].height === parsed[start].height - 1) start--;
  const run = parsed.slice(start);
  const extra = new Map<number, HeaderEntry>();
  for (const r of parsed.slice(0, start)) {
    const header = decodeBlockHeader(r.raw);
    extra.set(r.height, { hash: blockHash(header), prevHash: header.prevBlock, height: r.height, version: header.version, time: header.timestamp, bits: header.bits, chainWork: 0n });
  }
  const headers = run.map((r) => decodeBlockHeader(r.raw));
  const entries: HeaderEntry[] = [];
  let work = 0n;
  for (const [i, header] of headers.entries()) {
    work += blockWork(header.bits);
    entries.push({ hash: blockHash(header), prevHash: header.prevBlock, height: run[i].height, version: header.version, time: header.timestamp, bits: header.bits, chainWork: work });
  }
  return { first: run[0].height, headers, raws: run.map((r) => r.raw), entries, extra };
}

function viewAt(data: Loaded, tipHeight: number): ChainView {
  const { entries, first, extra } = data;
  return { tip: entries[tipHeight - first], at: (h: number) => (h <= tipHeight && h >= first ? entries[h - first] : extra.get(h)) };
}

function bench(label: string, data: Loaded, from: number, withHash: boolean): void {
  const last = data.first + data.entries.length - 1;
  const views: ChainView[] = [];
  for (let h = from; h <= last; h++) views.push(viewAt(data, h - 1));
  const run = (): number => {
    let failures = 0;
    for (let i = 0; i < views.length; i++) {
      const height = from + i;
      const header = data.headers[height - data.first];
      // A sync hashes the 80 bytes as they arrived, not a re-encoded header.
      const hash = withHash ? sha256d(data.raws[height - data.first]) : data.entries[height - data.first].hash;
      if (checkHeader(params, header, hash, views[i], header.timestamp) !== undefined) failures++;
    }
    return failures;
  };
  for (let i = 0; i < Math.max(5, rounds / 10); i++) run();
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  let failures = 0;
  for (let i = 0; i < rounds; i++) failures += run();
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const calls = rounds * views.length;
  if (failures !== 0) throw new Error(`${label}: ${failures} real headers failed`);
  const rate = (seconds: number) => Math.round(calls / seconds).toLocaleString('en-US');
  console.log(`| ${label} | ${withHash ? 'sha256d + checkHeader' : 'checkHeader'} | ${views.length} | ${rate(cpuSeconds)} | ${((cpuSeconds / calls) * 1e6).toFixed(2)} µs | ${rate(wallSeconds)} |`);
}

const daa = load('mainnet-daa-886001-886500.txt');
const legacy = load('mainnet-retarget-296352.txt');
console.log(`node ${process.version}, ${rounds} counted rounds per row`);
console.log('| era | work per header | headers per round | calls per CPU-second | CPU per call | calls/s, wall |');
console.log('|---|---|---:|---:|---:|---:|');
bench('DAA (mainnet 886148..886500)', daa, 886148, false);
bench('DAA (mainnet 886148..886500)', daa, 886148, true);
bench('pre-DAA (mainnet 296223..296352)', legacy, 296223, false);
bench('pre-DAA (mainnet 296223..296352)', legacy, 296223, true);

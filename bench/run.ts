/**
 * `npm run bench`: decode a ~4 MB and a ~100 MB synthetic block (checksum + every txid), fed
 * in 64 KiB chunks, with bsv-wire and its competitors side by side, each in its own child
 * process (so peak RSS is per decoder). Prints a markdown table per block.
 *
 * Options: --only=4mb|100mb   --runs-scale=N (multiply the run counts, at least one run each)
 * Other benchmarks: `npm run bench -- headers-store` (bench/headers-store.ts), `npm run bench -- headers-sync`
 * (bench/headers-sync.ts), `npm run bench -- block-sync` (bench/block-sync.ts).
 *
 * Then the scale benchmarks (bench/scale.ts): P4 idle peers, P5 handshakes/s, the inbound burst.
 * `npm run bench -- block` or `-- scale` runs one part; `-- p4`, `-- p5`, `-- burst` one scale benchmark.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ensureBenchBlock, type BenchBlock } from './block-files.js';
import { contenders, type Outcome } from './contenders.js';
import { runScale } from './scale.js';

// Sub-benchmarks, chosen by the first argument (`npm run bench -- headers-store`); none: the block decoders below.
const SUB_BENCHMARKS: Readonly<Record<string, string>> = {
  'headers-store': './headers-store.js',
  'headers-sync': './headers-sync.js',
  'block-sync': './block-sync.js',
};
const subBenchmark = SUB_BENCHMARKS[process.argv[2] ?? ''];
if (subBenchmark) {
  await import(subBenchmark);
  process.exit(0);
}

interface Plan {
  readonly contender: string;
  /** Counted runs, after `warmups` uncounted ones, all in one process. */
  readonly runs: number;
  readonly warmups: number;
  /** Why it is not run on this block, if it is not. */
  readonly skip?: string;
}

interface BlockPlan {
  readonly name: string;
  readonly targetBytes: number;
  readonly seed: number;
  /**
   * The fast contenders, timed in turn in one process (A B C A B C ...) so that their ratios
   * hold on a noisy machine; each also gets a one-run process of its own for its peak RSS.
   */
  readonly interleaved: { readonly contenders: readonly string[]; readonly runs: number; readonly warmups: number };
  /** The slow ones, each timed in its own process. */
  readonly plans: readonly Plan[];
}

const BLOCKS: readonly BlockPlan[] = [
  {
    name: '4mb',
    targetBytes: 4_000_000,
    seed: 1,
    interleaved: { contenders: ['limit', 'bsv-wire', 'bsv-wire-merkle'], runs: 21, warmups: 3 },
    plans: [
      { contender: 'bsv-p2p', runs: 5, warmups: 1 },
      { contender: 'bsv-p2p-stream', runs: 5, warmups: 1 },
      { contender: 'bsv-sdk', runs: 3, warmups: 1 },
      { contender: 'bsv2', runs: 3, warmups: 1 },
      { contender: 'bcash', runs: 5, warmups: 1 },
    ],
  },
  {
    name: '100mb',
    targetBytes: 100_000_000,
    seed: 2,
    interleaved: { contenders: ['limit', 'bsv-wire', 'bsv-wire-merkle'], runs: 5, warmups: 1 },
    plans: [
      { contender: 'bsv-p2p', runs: 1, warmups: 0 },
      { contender: 'bsv-p2p-stream', runs: 1, warmups: 0 },
      { contender: 'bsv-sdk', runs: 1, warmups: 0 },
      { contender: 'bsv2', runs: 1, warmups: 0 },
      { contender: 'bcash', runs: 0, warmups: 0, skip: 'its parser refuses messages over 2 x 32 MB (BCH MAX_FORK_BLOCK_SIZE)' },
    ],
  },
];

interface ChildReport {
  readonly results: Record<string, { times: number[]; cpuTimes: number[]; outcome: Outcome }>;
  readonly baselineRss: number;
  readonly peakRss: number;
}

interface Row {
  readonly contender: string;
  readonly label: string;
  readonly note: string;
  /** Median CPU milliseconds (user + system) per decode: steadier than wall time on a shared machine. */
  readonly ms?: number;
  readonly wallMs?: number;
  readonly runs?: number[];
  readonly peakRss?: number;
  readonly baselineRss?: number;
  readonly problem?: string;
}

const childPath = fileURLToPath(new URL('./child.ts', import.meta.url));
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const runsScale = Number(args.get('runs-scale') ?? 1);
const only = args.get('only');
const SCALE_BENCHES = ['p4', 'p5', 'burst'];
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const wantBlock = positional.length === 0 || positional.includes('block');
const wantScale = positional.length === 0 || positional.includes('scale') ? SCALE_BENCHES : SCALE_BENCHES.filter((b) => positional.includes(b));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs contenders in one child, in turn; warm-up runs happen in the same process and are dropped. */
function runChild(metaPath: string, names: readonly string[], runs: number, warmups: number): ChildReport {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--expose-gc', '--max-old-space-size=8192', childPath, names.join(','), metaPath, String(runs + warmups)],
    { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 600_000, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const report = JSON.parse(out.trim().split('\n').pop()!) as ChildReport;
  for (const r of Object.values(report.results)) {
    r.times = r.times.slice(warmups);
    r.cpuTimes = r.cpuTimes.slice(warmups);
  }
  return report;
}

const scaled = (runs: number): number => Math.max(1, Math.round(runs * runsScale));

/** Did the contender find what the generator put in? */
function problemWith(block: BenchBlock, outcome: Outcome): string | undefined {
  if (outcome.txCount !== block.txCount) return `found ${outcome.txCount} of ${block.txCount} txs`;
  if (outcome.lastTxid !== block.lastTxid) return `last txid ${outcome.lastTxid} is wrong`;
  if (outcome.checksumOk === false) return 'checksum reported bad';
  if (outcome.merkleRootOk === false) return 'merkle root reported bad';
  return undefined;
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);

function table(block: BenchBlock, rows: Row[]): string {
  const limit = rows.find((r) => r.contender === 'limit')?.ms;
  const wire = rows.find((r) => r.contender === 'bsv-wire')?.ms;
  const lines = [
    '| decoder | MB/s | tx/s | share of the limit | bsv-wire is N× faster | MB/s, wall | peak RSS MB (growth) | what it does |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    if (r.ms === undefined) {
      lines.push(`| ${r.label} | – | – | – | – | – | – | ${r.problem ?? ''} |`);
      continue;
    }
    const seconds = r.ms / 1000;
    const cells = [
      r.label,
      (block.payloadLength / 1e6 / seconds).toFixed(1),
      Math.round(block.txCount / seconds).toLocaleString('en-US'),
      limit ? (limit / r.ms).toFixed(2) : '–',
      wire ? (r.ms / wire).toFixed(1) : '–',
      r.wallMs ? (block.payloadLength / 1e6 / (r.wallMs / 1000)).toFixed(1) : '–',
      r.peakRss ? `${mb(r.peakRss)} (+${mb(r.peakRss - (r.baselineRss ?? 0))})` : '–',
      r.problem ? `**${r.problem}**; ${r.note}` : r.note,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
if (wantBlock) console.log(`# bsv-wire block decoding benchmark`);
console.log(`node ${process.version}, ${cpus().length} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`);
if (wantBlock) console.log(
  '"Decode" = verify the frame checksum and compute every txid, bytes fed in 64 KiB chunks. MB/s and tx/s are per ' +
    'CPU-second (user + system, median of the counted runs), which a shared machine disturbs less than wall time; ' +
    'the wall-clock MB/s is shown too. Peak RSS is per process, with its growth over the process at start.',
);

const started = performance.now();
for (const plan of wantBlock ? BLOCKS : []) {
  if (only && only !== plan.name) continue;
  const t0 = performance.now();
  const block = ensureBenchBlock(`block-${plan.name}`, { targetBytes: plan.targetBytes, seed: plan.seed });
  const metaPath = block.payloadPath.replace(/\.payload$/, '.json');
  const generated = performance.now() - t0;
  console.log(
    `\n## ${mb(block.payloadLength)} MB block: ${block.txCount.toLocaleString('en-US')} txs, ` +
      `${block.dataTxCount} data txs, largest ${(block.largestTx / 1000).toFixed(0)} KB, ` +
      `${Math.round(block.payloadLength / block.txCount)} bytes/tx` +
      (generated > 100 ? ` (generated in ${(generated / 1000).toFixed(1)} s, cached for the next run)` : '') +
      '\n',
  );
  const rows: Row[] = [];
  const runsText = (times: number[]): string => times.map((t) => t.toFixed(0)).join(', ');
  const { contenders: fast, runs, warmups } = plan.interleaved;
  process.stderr.write(`  ${fast.join(', ')}, in turn ... `);
  const timing = runChild(metaPath, fast, scaled(runs), warmups);
  process.stderr.write('done\n');
  for (const name of fast) {
    const contender = contenders[name]!;
    const { times, cpuTimes, outcome } = timing.results[name]!;
    const own = runChild(metaPath, [name], 1, 0); // alone, for its peak RSS
    process.stderr.write(`    ${contender.label}: CPU ms ${runsText(cpuTimes)}; wall ms ${runsText(times)}\n`);
    rows.push({
      contender: name,
      label: contender.label,
      note: contender.note,
      ms: median(cpuTimes),
      wallMs: median(times),
      peakRss: own.peakRss,
      baselineRss: own.baselineRss,
      problem: problemWith(block, outcome) ?? problemWith(block, own.results[name]!.outcome),
    });
  }
  for (const p of plan.plans) {
    const contender = contenders[p.contender]!;
    if (p.skip) {
      rows.push({ contender: p.contender, label: contender.label, note: contender.note, problem: `skipped: ${p.skip}` });
      continue;
    }
    process.stderr.write(`  ${contender.label} ... `);
    try {
      const report = runChild(metaPath, [p.contender], scaled(p.runs), p.warmups);
      const { times, cpuTimes, outcome } = report.results[p.contender]!;
      process.stderr.write(`CPU ms ${runsText(cpuTimes)}; wall ms ${runsText(times)}\n`);
      rows.push({
        contender: p.contender,
        label: contender.label,
        note: contender.note,
        ms: median(cpuTimes),
        wallMs: median(times),
        peakRss: report.peakRss,
        baselineRss: report.baselineRss,
        problem: problemWith(block, outcome),
      });
    } catch (err) {
      process.stderr.write('failed\n');
      rows.push({ contender: p.contender, label: contender.label, note: contender.note, problem: `failed: ${(err as Error).message.split('\n')[0]}` });
    }
  }
  console.log(table(block, rows));
}
if (wantScale.length > 0) {
  console.log('\n## Scale: one Manager, an outside client process speaking version/verack over loopback TCP');
  await runScale(wantScale, args);
}
console.log(`\nwhole run: ${((performance.now() - started) / 1000).toFixed(0)} s`);

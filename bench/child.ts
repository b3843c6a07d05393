/**
 * Contenders in their own process, so peak RSS is theirs:
 * `node --import tsx --expose-gc bench/child.ts <contender[,contender...]> <block.json> <runs>`.
 * Several contenders run in turn (A B A B ...), so a drift in machine speed hits them alike.
 * Prints one JSON line: per contender, each run's wall and CPU milliseconds and the outcome; and the
 * process's RSS at start and at peak.
 */
import { readFileSync } from 'node:fs';
import { contenders, type Outcome } from './contenders.js';
import type { BenchBlock } from './block-files.js';

const [namesArg, metaPath, runsArg] = process.argv.slice(2);
const names = (namesArg ?? '').split(',');
if (!metaPath || names.some((n) => !contenders[n])) {
  process.stderr.write(`usage: child.ts <${Object.keys(contenders).join('|')}>[,...] <block.json> [runs]\n`);
  process.exit(2);
}
const block = JSON.parse(readFileSync(metaPath, 'utf8')) as BenchBlock;
const runs = Number(runsArg ?? 1);
const gc = (globalThis as { gc?: () => void }).gc;
const baselineRss = process.memoryUsage.rss();
const results: Record<string, { times: number[]; cpuTimes: number[]; outcome?: Outcome }> = {};
for (const name of names) results[name] = { times: [], cpuTimes: [] };
for (let i = 0; i < runs; i++) {
  for (const name of names) {
    gc?.();
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    const outcome = await contenders[name]!.run(block);
    const cpu = process.cpuUsage(cpuStart);
    results[name]!.times.push(outcome.elapsedMs ?? performance.now() - started);
    results[name]!.cpuTimes.push(outcome.cpuMs ?? (cpu.user + cpu.system) / 1000);
    results[name]!.outcome = outcome;
  }
}
process.stdout.write(JSON.stringify({ results, baselineRss, peakRss: process.resourceUsage().maxRSS * 1024 }) + '\n');

/**
 * One contender in its own process, so its peak RSS is its own:
 * `node --import tsx --expose-gc bench/child.ts <contender> <block.json> <runs>`.
 * Prints one JSON line: each run's milliseconds, the outcome, and the process's peak RSS.
 */
import { readFileSync } from 'node:fs';
import { contenders } from './contenders.js';
import type { BenchBlock } from './block-files.js';

const [name, metaPath, runsArg] = process.argv.slice(2);
const contender = contenders[name ?? ''];
if (!contender || !metaPath) {
  process.stderr.write(`usage: child.ts <${Object.keys(contenders).join('|')}> <block.json> [runs]\n`);
  process.exit(2);
}
const block = JSON.parse(readFileSync(metaPath, 'utf8')) as BenchBlock;
const runs = Number(runsArg ?? 1);
const gc = (globalThis as { gc?: () => void }).gc;
const baselineRss = process.memoryUsage.rss();
const times: number[] = [];
let outcome;
for (let i = 0; i < runs; i++) {
  gc?.();
  const started = performance.now();
  outcome = await contender.run(block);
  times.push(outcome.elapsedMs ?? performance.now() - started);
}
process.stdout.write(JSON.stringify({ name, times, outcome, baselineRss, peakRss: process.resourceUsage().maxRSS * 1024 }) + '\n');

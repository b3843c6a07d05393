// npm run fuzz -- --target NAME [--runs N] [--seconds S] [--seed N] | --all | --list | --target NAME --repro FILE
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Coverage, fuzz, type FuzzResult } from './engine.js';

// Coverage first: the code under test must be compiled after it starts to get block counters.
const coverage = new Coverage();
const { allocations, codecCommands, mainTargets, targetByName } = await import('./targets.js');

const { values } = parseArgs({
  options: {
    target: { type: 'string', multiple: true },
    all: { type: 'boolean' },
    codecs: { type: 'boolean' },
    list: { type: 'boolean' },
    runs: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    repro: { type: 'string' },
    'crash-dir': { type: 'string' },
    json: { type: 'boolean' },
  },
});

if (values.list) {
  console.log([...mainTargets.map((t) => t.name), ...codecCommands.map((c) => `codec:${c}`), 'codec:unknown'].join('\n'));
  process.exit(0);
}

const names = [
  ...(values.all ? mainTargets.map((t) => t.name) : []),
  ...(values.codecs ? [...codecCommands.map((c) => `codec:${c}`), 'codec:unknown'] : []),
  ...(values.target ?? []),
];
if (!names.length) {
  console.error('usage: npm run fuzz -- --target NAME [--runs N] [--seconds S] | --all | --codecs | --list | --target NAME --repro FILE');
  process.exit(2);
}
const targets = names.map((n) => {
  const t = targetByName(n);
  if (!t) {
    console.error(`no target ${n} (see --list)`);
    process.exit(2);
  }
  return t;
});

allocations.install();

if (values.repro) {
  const input = readFileSync(values.repro);
  try {
    targets[0]!.run(input);
    console.log(`${targets[0]!.name}: ${values.repro} runs clean`);
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
  process.exit(0);
}

// --runs and --seconds are totals, shared evenly by the targets.
const runs = values.runs ? Number(values.runs) / targets.length : undefined;
const seconds = values.seconds ? Number(values.seconds) / targets.length : runs === undefined ? 10 / targets.length : undefined;
const results: FuzzResult[] = [];
for (const [i, target] of targets.entries()) {
  coverage.reset();
  const r = fuzz(target, coverage, {
    runs: runs === undefined ? undefined : Math.ceil(runs),
    seconds,
    seed: values.seed ? Number(values.seed) + i : undefined,
    crashDir: values['crash-dir'] ?? 'fuzz/crashes',
    log: (line) => console.log(line),
  });
  results.push(r);
  console.log(
    `${r.target}: ${r.executions} execs in ${r.seconds.toFixed(1)} s (${Math.round(r.execPerSecond)}/s), ` +
      `blocks ${r.blocks} of ${r.knownBlocks} seen (seeds alone ${r.seedBlocks}), corpus ${r.corpusSize}, crashes ${r.crashes.length}`,
  );
}
const total = results.reduce((n, r) => n + r.executions, 0);
const crashes = results.reduce((n, r) => n + r.crashes.length, 0);
console.log(`total: ${total} execs, ${crashes} crashes`);
if (values.json) console.log(JSON.stringify(results.map(({ crashes: c, ...r }) => ({ ...r, crashes: c.map((x) => ({ file: x.file, error: x.error.split('\n')[0] })) }))));
process.exit(crashes ? 1 : 0);

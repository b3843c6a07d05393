/**
 * One process of the header store benchmark (see bench/headers-store.ts). Usage:
 *   node --import tsx bench/headers-store-child.ts <dataDir> <mode> [runs]
 * modes: open (time HeaderStore.open `runs` times in this process, the first one is this process's first),
 * verify-all (open checking every checksum), read-all (read both files whole: what a one-file layout of
 * header + index records would have to read), rehash (sha256d of every stored header: trusting no stored hash).
 * Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { hash } from 'node:crypto';
import { join } from 'node:path';
import { HeaderStore } from '../lib/chain/header-store.js';
import { regtest } from '../lib/networks.js';

const [dataDir, mode, runsText = '1'] = process.argv.slice(2);
if (!dataDir || !mode) throw new Error('usage: headers-store-child.ts <dataDir> <mode> [runs]');
const runs = Number(runsText);
const times: number[] = [];
/** CPU milliseconds (user + system) of each run: steadier than wall time on a shared machine. */
const cpuTimes: number[] = [];
const rssBefore = process.memoryUsage().rss;
let info: Record<string, unknown> = {};

if (mode === 'open' || mode === 'verify-all') {
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const store = await HeaderStore.open(dataDir, regtest, { verifyAll: mode === 'verify-all' });
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuTimes.push((c.user + c.system) / 1000);
    if (i === runs - 1) {
      const rssAfter = process.memoryUsage().rss;
      info = {
        size: store.tree.size,
        bestHeight: store.tree.best.height,
        tips: store.tree.tips().length,
        heal: store.heal ?? null,
        treeBytes: store.tree.memoryBytes,
        rssGrowth: rssAfter - rssBefore,
        locatorLength: store.tree.locator().length,
      };
    }
    await store.close();
  }
} else if (mode === 'read-all') {
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const a = readFileSync(join(dataDir, 'headers.dat'));
    const b = readFileSync(join(dataDir, 'headers.idx'));
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuTimes.push((c.user + c.system) / 1000);
    info = { bytes: a.length + b.length };
  }
} else if (mode === 'rehash') {
  const dat = readFileSync(join(dataDir, 'headers.dat'));
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let x = 0;
    for (let at = 16; at + 80 <= dat.length; at += 80) x ^= hash('sha256', hash('sha256', dat.subarray(at, at + 80), 'buffer'), 'buffer')[0]!;
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuTimes.push((c.user + c.system) / 1000);
    info = { headers: (dat.length - 16) / 80, x };
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`${JSON.stringify({ times, cpuTimes, ...info })}\n`);

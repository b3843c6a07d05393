import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FilePeerStoreBackend } from '../../lib/peerstore/file-backend.js';
import { PeerStore } from '../../lib/peerstore/store.js';
import type { PeerStoreWarning } from '../../lib/peerstore/types.js';
import { CrashChildren, killCrashChild, sleep, within, STEP_TIMEOUT_MS } from '../helpers/crash-loop.js';
import { seededRandom } from './fixtures/prng.js';
import { transpileForNode } from './fixtures/transpile.js';

/**
 * Crash safety: a child process flushes the store in a loop and is killed with SIGKILL at a random
 * (seeded) moment, KILLS times, all in one data directory. After every kill the parent reloads the
 * store: the load must succeed without any warning, and must contain every address of every flush
 * the child reported as completed, across all runs so far.
 */
const KILLS = 50;
const SEED = 0x5eed;
// One kill in five lands at a random moment of the child's load (0..60 ms after "go"); the others
// at a random moment of its flush loop (0..150 ms after it reported "ready").
const LOAD_KILL_SHARE = 0.2;
const MAX_LOAD_KILL_DELAY_MS = 60;
const MAX_FLUSH_KILL_DELAY_MS = 150;
const PRESTARTED = 1; // a child started ahead, so its node startup overlaps the current run

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const flusher = join(here, 'fixtures', 'flusher.ts');

t.test(`SIGKILL during flushes, ${KILLS} times: every reload succeeds with all completed flushes`, async (t) => {
  const dir = join(t.testdir(), 'data');
  mkdirSync(dir);
  // Plain-JS copy of the fixture and the store code (same code, transpiled), for fast child startup.
  const script = transpileForNode(flusher, repoRoot, join(t.testdirName, 'js'));
  const random = seededRandom(SEED);
  const mustContain = new Set<string>(); // every key any completed flush contained
  let lastReportedSize = 0;
  let completedFlushes = 0;
  let midWriteKills = 0;
  let killsBeforeFirstFlush = 0;
  let failures = 0;
  const started = Date.now();

  // Children load (and start flushing) only when told "go"; batches of 100 addresses, at most 2,000 flushes each.
  const children = new CrashChildren(script, KILLS, (n) => [dir, String(SEED + n), '100', '2000'], repoRoot, PRESTARTED);
  t.teardown(() => children.killAll());

  for (let run = 0; run < KILLS; run++) {
    const child = await children.next(run);

    const duringLoad = random() < LOAD_KILL_SHARE;
    const delay = Math.floor(random() * (duringLoad ? MAX_LOAD_KILL_DELAY_MS : MAX_FLUSH_KILL_DELAY_MS));
    child.process.stdin.write('go\n');
    if (!duringLoad) await within(child.ready, STEP_TIMEOUT_MS, `child ${run} to load`);
    await sleep(delay);
    if (!(await killCrashChild(t, child, run))) {
      failures++;
      continue;
    }

    // A temp file left behind means the kill landed inside a save.
    if (readdirSync(dir).some((name) => name.includes('.tmp'))) midWriteKills++;

    let flushesThisRun = 0;
    for (const line of child.lines) {
      const m = /^flushed (\d+) (.*)$/.exec(line);
      if (!m) continue;
      flushesThisRun++;
      lastReportedSize = Number(m[1]);
      for (const key of m[2].split(',')) if (key) mustContain.add(key);
    }
    completedFlushes += flushesThisRun;
    if (flushesThisRun === 0) killsBeforeFirstFlush++;

    const warnings: PeerStoreWarning[] = [];
    // The killed child's lock is stale: taken over here, given back below for the next child.
    const backend = new FilePeerStoreBackend({ dataDir: dir, onWarning: (w) => warnings.push(w) });
    const reloaded = new PeerStore({ backend });
    await reloaded.load(); // must not throw
    await backend.close();
    const missing = [...mustContain].filter((key) => reloaded.get(key) === undefined);
    const ok = warnings.length === 0 && missing.length === 0 && reloaded.size >= lastReportedSize;
    if (!ok) {
      failures++;
      t.fail(`run ${run} (kill ${delay} ms after ${duringLoad ? 'go' : 'ready'})`, {
        warnings: warnings.map((w) => `${w.code}: ${w.message}`),
        missing: missing.slice(0, 5),
        missingCount: missing.length,
        size: reloaded.size,
        lastReportedSize,
      });
    }
  }

  const elapsedMs = Date.now() - started;
  t.equal(failures, 0, `${KILLS} kills, every reload clean and complete`);
  t.ok(completedFlushes >= 20, `children completed ${completedFlushes} flushes in total`);
  t.ok(mustContain.size > 0);
  const figures = {
    kills: KILLS,
    killsInsideASave: midWriteKills,
    killsBeforeFirstFlushOfRun: killsBeforeFirstFlush,
    completedFlushes,
    addressesAtEnd: lastReportedSize,
    addressesVerified: mustContain.size,
    elapsedMs,
  };
  t.comment(`crash test figures: ${JSON.stringify(figures)}`);
  // Kills inside a save are what the test is about; with these timings most runs hit one.
  t.ok(midWriteKills > 0, `${midWriteKills} of ${KILLS} kills landed inside a save`);
});

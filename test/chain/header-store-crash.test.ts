import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { HeaderStore } from '../../lib/chain/header-store.js';
import type { HeaderTree, TreeEntry } from '../../lib/chain/header-tree.js';
import { fromDisplayHex } from '../../lib/hash.js';
import { regtest } from '../../lib/networks.js';
import { CrashChildren, killCrashChild, sleep, within, STEP_TIMEOUT_MS } from '../helpers/crash-loop.js';
import { seededRandom } from '../helpers/prng.js';
import { regtestGenesisHash } from '../helpers/synthetic-headers.js';
import { transpileForNode } from '../peerstore/fixtures/transpile.js';

/**
 * Crash safety of the header store: a child appends batches of headers (extensions and forks, with flushes now and
 * then) and is killed with SIGKILL, KILLS times, all in one data directory: one kill in five at a random (seeded) moment
 * while the child opens (and perhaps heals) the store; of the others, half at a random moment of its appends and half
 * aimed at the moment a crash tears (the headers of a batch written, its index records not yet). After every kill the parent reopens the
 * store: the open must succeed, any heal must be a torn tail, the best chain must link back to genesis, and every
 * header the child reported as appended must be there (a SIGKILL loses nothing the OS was given).
 */
const KILLS = 50;
const SEED = 0x12a;
const LOAD_KILL_SHARE = 0.2;
// Of the other kills, this share waits until headers.dat holds more records than headers.idx (the child is between
// its two writes, the moment a crash tears) and kills then; the rest land at a random moment of the appends.
const TARGETED_SHARE = 0.5;
const MAX_TARGET_WAIT_MS = 2000;
const MAX_LOAD_KILL_DELAY_MS = 60;
const MAX_APPEND_KILL_DELAY_MS = 150;
const DEEP_CHECK_EVERY = 10; // the whole best chain is walked every tenth reopen; the last 3,000 headers every time

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const appender = join(here, 'fixtures', 'header-appender.ts');

/** Whole records in a store file (16-byte file header, then fixed-size records). */
function recordsIn(path: string, size: number): number {
  try {
    return Math.floor(Math.max(0, statSync(path).size - 16) / size);
  } catch {
    return 0;
  }
}

/**
 * Polls the two files (synchronously: nothing else needs this process meanwhile) until headers.dat is ahead of
 * headers.idx, i.e. the child has written a batch's headers and not yet its index records; true if seen in time.
 */
function waitForTornMoment(dir: string): boolean {
  const dat = join(dir, 'headers.dat');
  const idx = join(dir, 'headers.idx');
  const deadline = Date.now() + MAX_TARGET_WAIT_MS;
  while (Date.now() < deadline) if (recordsIn(dat, 80) > recordsIn(idx, 68)) return true;
  return false;
}

/** Walks the best chain down `depth` headers (all of it when depth is Infinity): linked by prevHash, where atHeight says. */
function chainProblem(tree: HeaderTree, depth: number): string | undefined {
  let e: TreeEntry | undefined = tree.best;
  const stop = Math.max(0, tree.best.height - depth);
  for (let h = tree.best.height; h >= stop; h--) {
    if (!e) return `no header at height ${h}`;
    if (e.height !== h) return `height ${e.height} where ${h} was expected`;
    if (!tree.atHeight(h)?.hash.equals(e.hash)) return `atHeight(${h}) is not on the walk`;
    if (h === 0) return e.hash.equals(regtestGenesisHash) ? undefined : 'height 0 is not genesis';
    e = tree.get(e.prevHash);
  }
  return tree.atHeight(0)?.hash.equals(regtestGenesisHash) ? undefined : 'height 0 is not genesis';
}

t.test(`SIGKILL during header appends, ${KILLS} times: every reopen heals and holds a valid chain`, async (t) => {
  const dir = join(t.testdir(), 'data');
  mkdirSync(dir);
  const script = transpileForNode(appender, repoRoot, join(t.testdirName, 'js'));
  const random = seededRandom(SEED);
  const mustHave = new Set<string>(); // the last header of every append a child reported
  let lastReportedSize = 1;
  let appends = 0;
  let heals = 0;
  let droppedRecords = 0;
  let killsDuringOpen = 0;
  let targeted = 0;
  let tornMomentsSeen = 0;
  let failures = 0;
  const started = Date.now();

  const children = new CrashChildren(script, KILLS, (n) => [dir, String(SEED + n)], repoRoot);
  t.teardown(() => children.killAll());

  for (let run = 0; run < KILLS; run++) {
    const child = await children.next(run);
    const duringOpen = random() < LOAD_KILL_SHARE;
    const aimed = !duringOpen && random() < TARGETED_SHARE;
    const delay = Math.floor(random() * (duringOpen ? MAX_LOAD_KILL_DELAY_MS : MAX_APPEND_KILL_DELAY_MS));
    child.process.stdin.write('go\n');
    if (!duringOpen) await within(child.ready, STEP_TIMEOUT_MS, `child ${run} to open the store`);
    if (aimed) {
      targeted++;
      if (waitForTornMoment(dir)) tornMomentsSeen++;
    } else {
      await sleep(delay);
    }
    if (!(await killCrashChild(t, child, run))) {
      failures++;
      continue;
    }
    if (!child.lines.some((l) => l.startsWith('ready '))) killsDuringOpen++;
    for (const line of child.lines) {
      const m = /^appended (\d+) ([0-9a-f]{64})$/.exec(line);
      if (!m) continue;
      appends++;
      lastReportedSize = Number(m[1]);
      mustHave.add(m[2]!);
    }

    // The killed child's lock is stale: taken over here, given back by close() for the next child.
    let problem: string | undefined;
    try {
      const store = await HeaderStore.open(dir, regtest);
      if (store.heal) {
        heals++;
        droppedRecords += store.heal.droppedRecords;
        if (store.heal.reason !== 'torn-tail') problem = `heal ${store.heal.reason}: ${store.heal.message}`;
      }
      const missing = [...mustHave].filter((hash) => !store.tree.has(fromDisplayHex(hash)));
      if (missing.length > 0) problem = `${missing.length} reported headers missing, e.g. ${missing[0]}`;
      else if (store.tree.size < lastReportedSize) problem = `size ${store.tree.size} < reported ${lastReportedSize}`;
      problem ??= chainProblem(store.tree, run % DEEP_CHECK_EVERY === DEEP_CHECK_EVERY - 1 ? Infinity : 3000);
      await store.close();
    } catch (err) {
      problem = `open failed: ${(err as Error).stack}`;
    }
    if (problem) {
      failures++;
      t.fail(`run ${run} (kill ${aimed ? 'aimed between the writes' : `${delay} ms after ${duringOpen ? 'go' : 'ready'}`}): ${problem}`);
    }
  }

  const figures = {
    kills: KILLS,
    killsDuringOpen,
    killsAimedBetweenTheWrites: targeted,
    tornMomentsSeen,
    appendsReported: appends,
    heals,
    droppedRecords,
    headersAtEnd: lastReportedSize,
    elapsedMs: Date.now() - started,
  };
  t.comment(`crash test figures: ${JSON.stringify(figures)}`);
  t.equal(failures, 0, `${KILLS} kills, every reopen healed with a valid chain holding every reported append`);
  t.ok(appends >= 50, `children reported ${appends} appends`);
  // Kills between the two files' writes are what the heal is for: the aimed kills make sure some land there.
  t.ok(tornMomentsSeen > 0, `${tornMomentsSeen} of ${targeted} aimed kills found the child between its two writes`);
  t.ok(heals > 0, `${heals} of ${KILLS} reopens healed a torn tail`);
});

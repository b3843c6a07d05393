import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FilePeerStoreBackend } from '../../lib/peerstore/file-backend.js';
import { PeerStore } from '../../lib/peerstore/store.js';
import type { PeerStoreWarning } from '../../lib/peerstore/types.js';
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
const STEP_TIMEOUT_MS = 20_000;
const PRESTARTED = 1; // a child started ahead, so its node startup overlaps the current run

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const flusher = join(here, 'fixtures', 'flusher.ts');

interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly lines: string[];
  /** Resolves when the child is up and waiting for "go". */
  readonly waiting: Promise<void>;
  /** Resolves when the child has loaded the store. */
  readonly ready: Promise<void>;
  readonly exited: Promise<NodeJS.Signals | number | null>;
  stderr: string;
}

/**
 * tap re-injects NODE_OPTIONS (its process-info hook) into every spawn, which makes each child start
 * several times slower; `env -u` drops it and then execs node, so the child pid is node's own.
 */
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('_TAPJS_')));

/** Starts a child that loads (and starts flushing) only when told "go": node+tsx startup overlaps the previous run. */
function startChild(script: string, dir: string, seed: number): Child {
  const proc = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, script, dir, String(seed), '100', '2000'], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: childEnv,
  });
  let onWaiting: () => void = () => {};
  let onReady: () => void = () => {};
  const child: Child = {
    process: proc,
    lines: [],
    stderr: '',
    waiting: new Promise((resolve) => (onWaiting = resolve)),
    ready: new Promise((resolve) => (onReady = resolve)),
    exited: new Promise((resolve) => proc.once('close', (code, signal) => resolve(signal ?? code))),
  };
  let pending = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? ''; // a partial line is not a report
    for (const line of parts) {
      if (line === 'waiting') onWaiting();
      if (line.startsWith('ready ')) onReady();
    }
    child.lines.push(...parts);
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => (child.stderr += chunk));
  proc.stdin.on('error', () => {}); // a child killed before reading "go"
  return child;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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

  const queue: Child[] = [];
  let spawned = 0;
  const topUp = (): void => {
    while (queue.length < PRESTARTED && spawned < KILLS) queue.push(startChild(script, dir, SEED + ++spawned));
  };
  t.teardown(() => {
    for (const c of queue) c.process.kill('SIGKILL');
  });

  for (let run = 0; run < KILLS; run++) {
    topUp();
    const child = queue.shift()!;
    await within(child.waiting, STEP_TIMEOUT_MS, `child ${run} to start`);

    const duringLoad = random() < LOAD_KILL_SHARE;
    const delay = Math.floor(random() * (duringLoad ? MAX_LOAD_KILL_DELAY_MS : MAX_FLUSH_KILL_DELAY_MS));
    child.process.stdin.write('go\n');
    if (!duringLoad) await within(child.ready, STEP_TIMEOUT_MS, `child ${run} to load`);
    await sleep(delay);
    child.process.kill('SIGKILL');
    const ended = await within(child.exited, STEP_TIMEOUT_MS, `child ${run} to die`);
    if (ended !== 'SIGKILL') {
      failures++;
      t.fail(`run ${run}: child ended with ${String(ended)} before the kill: ${child.stderr}`);
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

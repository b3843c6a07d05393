// SIGKILL a child syncing blocks from a real bcash regtest node at 20 random points (inside the handler,
// while the cursor is saved, while blocks download); every restart must deliver exactly the block after
// the cursor on disk, so across all runs every block is acknowledged exactly once and none is skipped.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CursorFile } from '../../lib/chain/block-cursor.js';
import { seededRandom } from '../helpers/prng.js';
import { startRegtestNode, type RegtestNode } from '../helpers/regtest.js';
import { transpileForNode } from '../peerstore/fixtures/transpile.js';

const BLOCKS = 300;
const KILLS = 20;
const SEED = 1313;
const HANDLER_DELAY_MS = 8;
const RUN_TIMEOUT_MS = 30_000;

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('_TAPJS_')));

interface Run {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly lines: string[];
  stderr: string;
  readonly exited: Promise<NodeJS.Signals | number | null>;
  /** Resolves when `count` D lines (or done) were seen. */
  deliveries(count: number): Promise<void>;
}

function startChild(script: string, port: number, dir: string): Run {
  const proc = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, script, String(port), dir, String(BLOCKS), String(HANDLER_DELAY_MS)], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: childEnv,
  });
  const waiters: { count: number; resolve: () => void }[] = [];
  let seen = 0;
  let done = false;
  const run: Run = {
    proc,
    lines: [],
    stderr: '',
    exited: new Promise((resolve) => proc.once('close', (code, signal) => resolve(signal ?? code))),
    deliveries: (count) =>
      new Promise((resolve) => {
        if (done || seen >= count) resolve();
        else waiters.push({ count, resolve });
      }),
  };
  let pending = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) {
      run.lines.push(line);
      if (line.startsWith('D ')) seen++;
      if (line === 'done') done = true;
    }
    for (const w of waiters.splice(0)) {
      if (done || seen >= w.count) w.resolve();
      else waiters.push(w);
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (c: string) => (run.stderr += c));
  run.exited.then(() => {
    for (const w of waiters.splice(0)) w.resolve();
  });
  return run;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))),
  ]);
}

t.test(`SIGKILL a block sync ${KILLS} times: after each restart the block after the saved cursor comes next, every block acknowledged once`, { timeout: 240_000 }, async (t) => {
  let node: RegtestNode | undefined;
  let current: Run | undefined;
  t.teardown(async () => {
    current?.proc.kill('SIGKILL');
    await current?.exited;
    await node?.stop();
  });
  node = await startRegtestNode();
  await node.mine(BLOCKS);
  const expected: string[] = [];
  for (let h = 0; h <= BLOCKS; h++) expected.push(String(await node.rpc('getblockhash', [h])));
  const coinbase = new Map<number, string>();
  for (const h of [0, 1, BLOCKS]) coinbase.set(h, ((await node.rpc('getblock', [expected[h]])) as { tx: string[] }).tx.join(','));

  const dir = join(t.testdir(), 'data');
  mkdirSync(dir);
  const script = transpileForNode(join(here, 'fixtures', 'block-sync-child.ts'), repoRoot, join(t.testdirName, 'js'));
  const cursorFile = new CursorFile(join(dir, 'cursor.json'));
  const random = seededRandom(SEED);

  const acknowledged: number[] = [];
  const problems: string[] = [];
  let cursor = -1;
  let kills = 0;
  let inHandlerKills = 0;
  const started = Date.now();
  for (let run = 0; run <= KILLS && cursor < BLOCKS; run++) {
    current = startChild(script, node.p2pPort, dir);
    const last = run === KILLS;
    if (last) {
      await within(current.exited, RUN_TIMEOUT_MS, 'the last run to finish');
    } else {
      await within(current.deliveries(1 + Math.floor(random() * 20)), RUN_TIMEOUT_MS, `run ${run} to deliver`);
      await new Promise((r) => setTimeout(r, random() * 12));
      current.proc.kill('SIGKILL');
      const how = await current.exited;
      if (how === 'SIGKILL') kills++;
    }
    const after = cursorFile.load()?.height ?? -1;
    const startLine = current.lines.find((l) => l.startsWith('start '));
    if (startLine !== `start ${cursor}`) problems.push(`run ${run}: began at "${startLine}", the cursor on disk was ${cursor}`);
    const delivered = current.lines.filter((l) => l.startsWith('D ')).map((l) => l.split(' '));
    delivered.forEach(([, h, hash, txids], i) => {
      const height = Number(h);
      if (height !== cursor + 1 + i) problems.push(`run ${run}: delivery ${i} was height ${height}, expected ${cursor + 1 + i}`);
      if (hash !== expected[height]) problems.push(`run ${run}: height ${height} hash ${hash} is not the node's`);
      const cb = coinbase.get(height);
      if (cb !== undefined && txids !== cb) problems.push(`run ${run}: txids of ${height} differ from getblock`);
      if (height <= after) acknowledged.push(height);
    });
    const top = delivered.length > 0 ? Number(delivered.at(-1)![1]) : cursor;
    if (after > top) problems.push(`run ${run}: cursor ${after} is past the last delivered block ${top}`);
    if (after < top) inHandlerKills++;
    if (after < cursor) problems.push(`run ${run}: cursor went back from ${cursor} to ${after}`);
    if (current.stderr.trim()) problems.push(`run ${run} stderr: ${current.stderr.trim().slice(0, 200)}`);
    cursor = after;
  }
  t.same(problems, [], 'every run began right after the saved cursor and delivered in order');
  t.equal(kills, KILLS, `${KILLS} SIGKILLs landed`);
  t.same(acknowledged, Array.from({ length: BLOCKS + 1 }, (_, i) => i), `blocks 0..${BLOCKS} acknowledged exactly once across the runs`);
  t.equal(cursor, BLOCKS, 'the cursor reached the tip');
  t.ok(inHandlerKills > 0, `${inHandlerKills} kills landed between a delivery and its acknowledgement (that block came again after the restart)`);
  t.comment(`${KILLS} kills, ${inHandlerKills} inside a handler, ${((Date.now() - started) / 1000).toFixed(1)} s; tip ${expected[BLOCKS]}`);
});

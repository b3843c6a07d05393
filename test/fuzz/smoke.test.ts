// CI's fuzz smoke run: every main target (frame, codecs, block, protocol) for about 8 s in a
// fresh process (coverage has to start before the code under test loads). No crash, and each
// target's coverage grew past what its seed corpus alone reached.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Result { target: string; executions: number; execPerSecond: number; seedBlocks: number; blocks: number; corpusSize: number; crashes: { file: string; error: string }[] }

t.test('fuzz smoke run of every target: 0 crashes, coverage above the seeds', async (t) => {
  const seed = Date.now() % 1_000_000;
  const child = spawn(process.execPath, ['--import', 'tsx', 'fuzz/run.ts', '--all', '--seconds', '32', '--seed', String(seed), '--json', '--crash-dir', 'fuzz/crashes'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill());
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = out.trim().split('\n');
  t.comment(lines.filter((l) => !l.startsWith('[')).join('\n'));
  const results = JSON.parse(lines.at(-1)!) as Result[];
  t.same(results.map((r) => r.target), ['frame', 'codecs', 'block', 'protocol']);
  for (const r of results) {
    t.same(r.crashes, [], `${r.target}: no crash (seed ${seed})`);
    t.ok(r.executions > 100, `${r.target}: ${r.executions} executions`);
    t.ok(r.blocks > r.seedBlocks, `${r.target}: coverage grew from ${r.seedBlocks} to ${r.blocks} blocks`);
  }
  t.equal(code, 0, `exit code (stderr: ${err.slice(0, 500)})`);
});

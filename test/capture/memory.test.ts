// A ~200 MB block streamed through a capture tap in a child process: the record reaches the disk
// whole and the child's RSS grows by far less than the block (the writer keeps a bounded queue of
// views, never the payload). Counted from outside: the child's RSS and the file's size.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { transpileForChild } from '../helpers/plain-node.js';
import { stopChild } from '../helpers/child.js';

const BLOCK_BYTES = 200_000_000;
const MB = 1e6;

t.test('a 200 MB block through the tap: whole on disk, RSS growth well below the block', async (t) => {
  // Plain node, not tsx (the loader thread would add to the RSS measured).
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const dir = transpileForChild(root, ['test/capture/fixtures/block-capture-child.ts']);
  const child = spawn(process.execPath, ['--expose-gc', `${dir}/test/capture/fixtures/block-capture-child.js`, String(BLOCK_BYTES)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  t.teardown(async () => {
    await stopChild(child, 2000);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 0, 'the child finished');
  const r = JSON.parse(out) as { baselineRss: number; peakRss: number; maxBacklog: number; pauses: number; datBytes: number; notes: string };
  const growth = r.peakRss - r.baselineRss;
  t.comment(`RSS ${(r.baselineRss / MB).toFixed(1)} MB -> peak ${(r.peakRss / MB).toFixed(1)} MB (+${(growth / MB).toFixed(1)} MB); writer backlog at most ${(r.maxBacklog / MB).toFixed(1)} MB; reading paused ${r.pauses} times`);
  t.ok(r.maxBacklog <= 4 * 1024 * 1024 + 64 * 1024, 'the queue never went past the pause mark plus one chunk');
  t.notMatch(r.notes, /"note":"stop"/, 'the capture did not stop (no overflow)');
  t.equal(r.datBytes, 24 + BLOCK_BYTES, 'the whole record is on disk');
  t.ok(growth < 64 * MB, `RSS grew ${(growth / MB).toFixed(1)} MB, under 64 MB for a ${BLOCK_BYTES / MB} MB block`);
});

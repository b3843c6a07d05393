// A flood of 2 x 1,000,000 distinct txids from 20 never-delivering peers, in a child process: the
// caches stay within their limits and the second million grows neither the heap nor RSS beyond noise.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

t.test('mempool caches under a 2,000,000-txid flood: the heap flat after the first million', (t) => {
  const child = fileURLToPath(new URL('./fixtures/mempool-flood-child.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, '1000000'], {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const f = JSON.parse(out.trim().split('\n').pop()!) as {
    baseline: number;
    baselineHeap: number;
    heaps: [number, number];
    rounds: [number, number];
    peak: number;
    stats: { seen: number; rejected: number; inFlight: number; overflow: number; lost: number };
    limits: { maxInFlight: number };
  };
  const mb = (x: number) => (x / 1e6).toFixed(1);
  t.comment(`heap used: baseline ${mb(f.baselineHeap)} MB, after 1M ${mb(f.heaps[0])} MB, after 2M ${mb(f.heaps[1])} MB`);
  t.ok(f.heaps[1] - f.heaps[0] < 4 * 1024 * 1024, `the second million grew the heap by ${mb(f.heaps[1] - f.heaps[0])} MB (< 4 MiB)`);
  t.ok(f.heaps[0] - f.baselineHeap < 48 * 1024 * 1024, `the full caches hold ${mb(f.heaps[0] - f.baselineHeap)} MB of heap (< 48 MiB)`);
  t.comment(`RSS baseline ${mb(f.baseline)} MB, after 1M ${mb(f.rounds[0])} MB, after 2M ${mb(f.rounds[1])} MB, peak sampled ${mb(f.peak)} MB; ${JSON.stringify(f.stats)}`);
  t.ok(f.stats.seen <= 100_000 && f.stats.rejected <= 20_000 && f.stats.inFlight <= f.limits.maxInFlight, 'every cache within its default limit');
  t.ok(f.stats.overflow > 0 && f.stats.lost > 0, 'the flood hit the limits (dropped and lost txids)');
  t.ok(f.stats.seen === 100_000 && f.stats.rejected === 20_000, 'seen and rejected are full');
  // RSS also counts the allocator's slack from 2,000,000 short-lived txid buffers (outside the heap): a loose bound.
  t.ok(f.rounds[1] - f.rounds[0] < 64 * 1024 * 1024, `second million grew RSS by ${mb(f.rounds[1] - f.rounds[0])} MB (< 64 MiB)`);
  t.ok(f.rounds[0] - f.baseline < 128 * 1024 * 1024, `RSS grew ${mb(f.rounds[0] - f.baseline)} MB in the first million (< 128 MiB)`);
  t.end();
});

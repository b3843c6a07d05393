// A flood of 4 x 500,000 distinct txids from 20 never-delivering peers, in a child process: the caches stay
// within their limits, and after the first round neither the heap nor RSS keeps growing.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

t.test('mempool caches under a 2,000,000-txid flood: heap and RSS level off after the first million', (t) => {
  const child = fileURLToPath(new URL('./fixtures/mempool-flood-child.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, '500000', '4'], {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const f = JSON.parse(out.trim().split('\n').pop()!) as {
    baseline: number;
    baselineHeap: number;
    heaps: number[];
    rounds: number[];
    peak: number;
    stats: { seen: number; rejected: number; inFlight: number; overflow: number; lost: number };
    limits: { maxInFlight: number };
  };
  const mb = (x: number) => (x / 1e6).toFixed(1);
  const last = f.rounds.length - 1;
  t.comment(`heap used: baseline ${mb(f.baselineHeap)} MB, after each round ${f.heaps.map(mb).join(', ')} MB`);
  // The caches are full after the first million (two rounds); the second million must not grow the heap.
  t.ok(f.heaps[last]! - f.heaps[1]! < 4 * 1024 * 1024, `the second million grew the heap by ${mb(f.heaps[last]! - f.heaps[1]!)} MB (< 4 MiB)`);
  t.ok(f.heaps[0]! - f.baselineHeap < 48 * 1024 * 1024, `the full caches hold ${mb(f.heaps[0]! - f.baselineHeap)} MB of heap (< 48 MiB)`);
  t.comment(`RSS baseline ${mb(f.baseline)} MB, after each round ${f.rounds.map(mb).join(', ')} MB, peak sampled ${mb(f.peak)} MB; ${JSON.stringify(f.stats)}`);
  t.ok(f.stats.seen <= 100_000 && f.stats.rejected <= 20_000 && f.stats.inFlight <= f.limits.maxInFlight, 'every cache within its default limit');
  t.ok(f.stats.overflow > 0 && f.stats.lost > 0, 'the flood hit the limits (dropped and lost txids)');
  t.ok(f.stats.seen === 100_000 && f.stats.rejected === 20_000, 'seen and rejected are full');
  // RSS moves with the allocator's slack from short-lived txid buffers, up and down by tens of MB, so the
  // check is a plateau: the last round stays within 32 MiB of the highest earlier round. Unbounded caches
  // would add about 50 MB or more each round.
  const earlierMax = Math.max(...f.rounds.slice(0, last));
  t.ok(f.rounds[last]! - earlierMax < 32 * 1024 * 1024, `RSS after the last round ${mb(f.rounds[last]!)} MB, highest before it ${mb(earlierMax)} MB (plateau within 32 MiB)`);
  t.ok(f.rounds[0]! - f.baseline < 128 * 1024 * 1024, `RSS grew ${mb(f.rounds[0]! - f.baseline)} MB in the first round (< 128 MiB)`);
  t.end();
});

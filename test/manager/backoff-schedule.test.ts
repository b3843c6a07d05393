// The manual-peer redial schedule, exactly: manualRedialDelay() after failed dials and
// manualReconnectDelay() after quick closes, with the jitter pinned. backoff.test.ts measures the
// same schedule on a real Manager against a closed loopback port.
import t from 'tap';
import { createRequire } from 'node:module';
import {
  DEFAULT_MANUAL_BACKOFF,
  MANUAL_BACKOFF_DOUBLINGS,
  manualReconnectDelay,
  manualRedialDelay,
  resolveManualBackoff,
} from '../../lib/manager/index.js';

const schedule = (n: number, random: () => number, backoff = DEFAULT_MANUAL_BACKOFF): number[] =>
  Array.from({ length: n }, (_, i) => manualRedialDelay(i, backoff, random));

t.test('defaults: 1 s doubling, capped at 60 s', async (t) => {
  t.same(resolveManualBackoff(undefined), { minMs: 1000, maxMs: 60_000 });
  t.same(schedule(9, () => 0), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000], 'least jitter');
  t.same(schedule(9, () => 0.5), [1500, 3000, 6000, 12_000, 24_000, 48_000, 60_000, 60_000, 60_000], 'jitter 1.5x');
  t.same(schedule(7, () => 0.999_999), [2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000], 'most jitter reaches the cap a step sooner');
  t.equal(manualRedialDelay(1_000_000, DEFAULT_MANUAL_BACKOFF, () => 0.5), 60_000, 'and stays there');
});

t.test('the options of backoff.test.ts: 100 ms doubling, capped at 300 ms', async (t) => {
  const backoff = resolveManualBackoff({ minMs: 100, maxMs: 300 });
  t.same(schedule(6, () => 0, backoff), [100, 200, 300, 300, 300, 300]);
  t.same(schedule(6, () => 0.25, backoff), [125, 250, 300, 300, 300, 300]);
});

t.test('every delay lies in [1, 2] x minMs x 2^n, never above the cap, never shrinking', async (t) => {
  const backoff = { minMs: 7, maxMs: 5000 };
  let bad = 0;
  for (let draw = 0; draw < 200; draw++) {
    const r = draw / 200;
    const delays = schedule(14, () => r, backoff);
    delays.forEach((d, n) => {
      const base = 7 * 2 ** Math.min(n, MANUAL_BACKOFF_DOUBLINGS);
      if (d < Math.min(5000, base) || d > Math.min(5000, 2 * base) || (n > 0 && d < delays[n - 1]!)) bad++;
    });
  }
  t.equal(bad, 0, '200 jitter values x 14 failures');
});

t.test('growth stops after 9 doublings even below the cap (as p-retry forever did)', async (t) => {
  const backoff = { minMs: 10, maxMs: 1_000_000 };
  t.same(schedule(12, () => 0, backoff), [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 5120, 5120]);
});

t.test('minMs 0 waits 1 ms, not 0 (no hot loop)', async (t) => {
  t.same(schedule(3, () => 0, { minMs: 0, maxMs: 100 }), [1, 2, 4]);
});

t.test('bad options are a RangeError', async (t) => {
  t.throws(() => resolveManualBackoff({ minMs: 500, maxMs: 100 }), RangeError);
  t.throws(() => resolveManualBackoff({ minMs: -1 }), RangeError);
  t.throws(() => resolveManualBackoff({ maxMs: Number.NaN }), RangeError);
  t.same(resolveManualBackoff({ maxMs: 5000 }), { minMs: 1000, maxMs: 5000 });
});

t.test('after quick closes: minMs x 2^closes, capped', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7].map((n) => manualReconnectDelay(n, DEFAULT_MANUAL_BACKOFF)), [2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
  t.equal(manualReconnectDelay(0, DEFAULT_MANUAL_BACKOFF), 1000);
});

t.test('the same numbers as the retry package behind p-retry (what keepManual used before)', async (t) => {
  const retry = createRequire(import.meta.url)('retry') as { timeouts(o: object): number[] };
  for (const backoff of [DEFAULT_MANUAL_BACKOFF, { minMs: 100, maxMs: 300 }, { minMs: 10, maxMs: 1_000_000 }]) {
    for (const r of [0, 0.3, 0.77]) {
      const real = Math.random;
      Math.random = () => r;
      let theirs: number[];
      try {
        // p-retry's options for keepManual: retries defaults to 10, and `forever` repeats the last one.
        theirs = retry.timeouts({ retries: 10, forever: true, minTimeout: backoff.minMs, maxTimeout: backoff.maxMs, factor: 2, randomize: true });
      } finally {
        Math.random = real;
      }
      t.same(schedule(12, () => r, backoff), [...theirs, theirs[9], theirs[9]], `${backoff.minMs}..${backoff.maxMs} ms, r=${r}`);
    }
  }
});

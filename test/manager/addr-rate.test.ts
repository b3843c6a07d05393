import t from 'tap';
import { AddrRateLimiter } from '../../lib/manager/addr-rate.js';

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

t.test('starts with one token, refills at 0.1/s, caps at the burst', async (t) => {
  const clock = fakeClock();
  const bucket = new AddrRateLimiter(clock);
  t.equal(bucket.take(10), 1, 'one address let through at first');
  t.equal(bucket.take(10), 0);
  clock.advance(10_000);
  t.equal(bucket.take(10), 1, '10 s = 1 token');
  clock.advance(5_000);
  t.equal(bucket.take(1), 0, 'half a token is not enough');
  clock.advance(5_000);
  t.equal(bucket.take(1), 1);
  clock.advance(100_000_000);
  t.equal(bucket.available(), 1000, 'capped at the burst');
  t.equal(bucket.take(5000), 1000);
  t.equal(bucket.take(1), 0);
});

t.test('grant lets a solicited getaddr answer through, above the cap', async (t) => {
  const clock = fakeClock();
  const bucket = new AddrRateLimiter(clock);
  bucket.grant(1000);
  t.equal(bucket.take(1000), 1000, 'the whole answer');
  t.equal(bucket.take(5), 1, 'the initial token is left');
});

t.test('a clock that goes back does not mint tokens', async (t) => {
  const clock = fakeClock();
  const bucket = new AddrRateLimiter(clock, { initial: 0 });
  clock.advance(-50_000);
  t.equal(bucket.take(1), 0);
  clock.advance(50_000);
  t.equal(bucket.take(1), 0, 'time already counted is not counted twice');
  clock.advance(10_000);
  t.equal(bucket.take(1), 1);
});

t.test('options', async (t) => {
  const clock = fakeClock();
  const bucket = new AddrRateLimiter(clock, { ratePerSecond: 2, burst: 5, initial: 0 });
  clock.advance(1000);
  t.equal(bucket.take(10), 2);
  clock.advance(60_000);
  t.equal(bucket.take(10), 5);
  t.throws(() => new AddrRateLimiter(clock, { ratePerSecond: -1 }), RangeError);
});

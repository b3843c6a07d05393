import t from 'tap';
import { FrameBudget, type FrameBudgetEvictEvent, type FrameBudgetHolder } from '../../lib/peer/frame-budget.js';

/** A holder that records being evicted; the budget has already released it by then. */
function holder(id: string, evicted: string[]): FrameBudgetHolder {
  return { id, evictForBudget: (detail) => evicted.push(`${id}: ${detail}`) };
}

t.test('reservations within the limit are granted and released', (t) => {
  const budget = new FrameBudget(1000);
  const evicted: string[] = [];
  const a = holder('a', evicted);
  t.equal(budget.acquire(a, 600), true);
  t.equal(budget.usedBytes, 600);
  t.equal(budget.heldBy(a), 600);
  budget.release(a);
  budget.release(a); // idempotent
  t.equal(budget.usedBytes, 0);
  t.same(evicted, []);
  t.end();
});

t.test('when a new frame does not fit, the holder gathering the most is evicted, with an event naming it', (t) => {
  const budget = new FrameBudget(1000);
  const evicted: string[] = [];
  const events: FrameBudgetEvictEvent[] = [];
  budget.on('evict', (e) => events.push(e));
  const [a, b, c] = [holder('a', evicted), holder('b', evicted), holder('c', evicted)];
  t.ok(budget.acquire(a, 500));
  t.ok(budget.acquire(b, 300));
  t.ok(budget.acquire(c, 400), 'c fits once a, the biggest, is gone');
  t.equal(evicted.length, 1);
  t.match(evicted[0], /^a: holding 500 bytes, the most of any peer, when c needed 400/);
  t.equal(events.length, 1);
  t.equal(events[0]!.victim.id, 'a');
  t.equal(events[0]!.victimBytes, 500);
  t.equal(events[0]!.requester.id, 'c');
  t.equal(budget.usedBytes, 700, 'b 300 + c 400');
  t.equal(budget.heldBy(a), 0);
  t.end();
});

t.test('a requester that would hold the most is refused itself, and others keep theirs', (t) => {
  const budget = new FrameBudget(1000);
  const evicted: string[] = [];
  const [a, b] = [holder('a', evicted), holder('b', evicted)];
  t.ok(budget.acquire(a, 400));
  t.equal(budget.acquire(b, 700), false, 'b would hold 700 > a 400');
  t.match(evicted, [/^b: a 700-byte frame would exceed the 1000-byte frame budget/]);
  t.equal(budget.usedBytes, 400, 'nothing reserved for b; a untouched');
  t.equal(budget.acquire(b, 5000), false, 'a frame larger than the whole budget is refused');
  t.end();
});

t.test('several holders may be evicted for one frame, biggest first', (t) => {
  const budget = new FrameBudget(1000);
  const evicted: string[] = [];
  const hs = ['a', 'b', 'c', 'd'].map((id) => holder(id, evicted));
  [300, 250, 200, 150].forEach((n, i) => t.ok(budget.acquire(hs[i]!, n)));
  const big = holder('big', evicted);
  t.ok(budget.acquire(big, 290), 'needs 190 more than the 100 free: only a (300) goes');
  t.same(evicted.map((e) => e.split(':')[0]), ['a']);
  t.ok(budget.acquire(holder('x', evicted), 280), 'next: 90 free; big (290) is evicted');
  t.same(evicted.map((e) => e.split(':')[0]), ['a', 'big']);
  t.end();
});

t.test('a throwing evict listener does not break the bookkeeping', (t) => {
  const budget = new FrameBudget(100);
  budget.on('evict', () => {
    throw new Error('app bug');
  });
  const evicted: string[] = [];
  t.ok(budget.acquire(holder('a', evicted), 80));
  t.ok(budget.acquire(holder('b', evicted), 50));
  t.equal(budget.usedBytes, 50);
  t.end();
});

t.test('the limit is validated', (t) => {
  t.throws(() => new FrameBudget(0), RangeError);
  t.throws(() => new FrameBudget(1.5), RangeError);
  t.end();
});

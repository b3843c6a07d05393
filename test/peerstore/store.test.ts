import t from 'tap';
import { PeerStore } from '../../lib/peerstore/store.js';
import type { PeerStoreWarning } from '../../lib/peerstore/types.js';
import { FakeClock, seededRandom, testKey } from './fixtures/prng.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const perHostGroup = (host: string): string => `g:${host}`;

function makeStore(clock = new FakeClock(), extra: ConstructorParameters<typeof PeerStore>[0] = {}): PeerStore {
  return new PeerStore({ key: testKey('store'), now: clock.now, random: seededRandom(7), netgroup: perHostGroup, ...extra });
}

t.test('add: validation, canonical keys, updates, clamped timestamps', (t) => {
  const clock = new FakeClock();
  const store = makeStore(clock);
  const r = store.add(
    [
      { host: '10.0.0.1', port: 8333, services: 1n, lastSeen: clock.time - HOUR },
      { host: '::ffff:10.0.0.2', port: 8333 },
      { host: '2001:0db8::0001', port: 8333, lastSeen: clock.time + DAY },
      { host: 'seed.example.org', port: 8333 },
      { host: '10.0.0.3', port: 0 },
      { host: '10.0.0.4', port: 70000 },
    ],
    'dns-seed',
  );
  t.same(r, { added: 3, updated: 0, rejected: 3 });
  t.equal(store.get('10.0.0.2:8333')?.host, '10.0.0.2', 'mapped IPv6 stored as IPv4');
  const v6 = store.get({ host: '2001:db8::1', port: 8333 });
  t.equal(v6?.key, '[2001:db8::1]:8333');
  t.equal(v6?.lastSeen, clock.time - 5 * DAY, 'a claim from the future is not believed');
  t.equal(v6?.source, 'dns-seed');
  t.equal(store.get('10.0.0.1:8333')?.table, 'new');

  const again = store.add([{ host: '10.0.0.1', port: 8333, services: 4n, lastSeen: clock.time }], '10.9.9.9');
  t.same(again, { added: 0, updated: 1, rejected: 0 });
  const a = store.get('10.0.0.1:8333')!;
  t.equal(a.services, 5n, 'services are merged');
  t.equal(a.lastSeen, clock.time);
  t.equal(a.source, 'dns-seed', 'the first source is kept');
  t.same(store.counts(), { new: 3, tried: 0, total: 3, bans: 0 });
  t.ok(Object.isFrozen(a), 'returned records are read-only snapshots');
  t.end();
});

t.test('markAttempt / markFailed / markGood move addresses between tables', (t) => {
  const clock = new FakeClock();
  const store = makeStore(clock);
  store.add([{ host: '10.0.0.1', port: 8333 }, { host: '10.0.0.2', port: 8333 }], '10.9.9.9');

  t.ok(store.markAttempt('10.0.0.1:8333'));
  t.equal(store.get('10.0.0.1:8333')?.lastTry, clock.time);
  t.equal(store.get('10.0.0.1:8333')?.attempts, 0, 'an attempt alone is not a failure');
  clock.advance(1000);
  t.ok(store.markFailed('10.0.0.1:8333'));
  t.ok(store.markFailed('10.0.0.1:8333'));
  t.equal(store.get('10.0.0.1:8333')?.attempts, 2);

  clock.advance(1000);
  t.ok(store.markGood('10.0.0.1:8333', { services: 0x21n }));
  const good = store.get('10.0.0.1:8333')!;
  t.equal(good.table, 'tried');
  t.equal(good.attempts, 0, 'success resets failures');
  t.equal(good.lastSuccess, clock.time);
  t.equal(good.services, 0x21n);
  t.same(store.counts(), { new: 1, tried: 1, total: 2, bans: 0 });

  t.ok(store.markGood('10.0.0.77:18444'), 'an unknown address that we reached is learnt and tried');
  t.equal(store.get('10.0.0.77:18444')?.table, 'tried');
  t.notOk(store.markGood('not-an-ip:1'));
  t.notOk(store.markAttempt('10.0.0.99:8333'), 'unknown address');
  t.notOk(store.markFailed('garbage'));

  t.same(
    store.list().map((a) => [a.key, a.table]),
    [
      ['10.0.0.1:8333', 'tried'],
      ['10.0.0.77:18444', 'tried'],
      ['10.0.0.2:8333', 'new'],
    ],
  );
  t.same(store.list({ table: 'new' }).map((a) => a.key), ['10.0.0.2:8333']);
  t.ok(store.remove('10.0.0.1:8333'));
  t.notOk(store.remove('10.0.0.1:8333'));
  t.same(store.counts(), { new: 1, tried: 1, total: 2, bans: 0 });
  t.end();
});

t.test('a tried collision demotes the older tried entry to new', (t) => {
  const clock = new FakeClock();
  // One tried slot: every promotion collides.
  const store = makeStore(clock, { triedBucketCount: 1, bucketSize: 1, triedBucketsPerGroup: 1, newBucketCount: 64 });
  store.add([{ host: '10.0.0.1', port: 1 }], '10.9.9.9');
  store.add([{ host: '10.0.0.2', port: 1 }], '10.8.8.8');
  t.equal(store.size, 2);
  store.markGood('10.0.0.1:1');
  clock.advance(1000);
  store.markGood('10.0.0.2:1');
  t.equal(store.get('10.0.0.2:1')?.table, 'tried');
  t.equal(store.get('10.0.0.1:1')?.table, 'new', 'demoted, not lost');
  t.equal(store.get('10.0.0.1:1')?.lastSuccess, clock.time - 1000, 'history kept');
  t.same(store.counts(), { new: 1, tried: 1, total: 2, bans: 0 });
  t.end();
});

t.test('new-table collisions: a healthy occupant stays, a failing or stale one is evicted', (t) => {
  const clock = new FakeClock();
  // One new slot for everything.
  const store = makeStore(clock, { newBucketCount: 1, bucketSize: 1, newBucketsPerSourceGroup: 1 });
  t.equal(store.add([{ host: '10.0.0.1', port: 1 }], 'seed').added, 1);
  t.same(store.add([{ host: '10.0.0.2', port: 1 }], 'seed'), { added: 0, updated: 0, rejected: 1 }, 'healthy incumbent kept');

  store.markFailed('10.0.0.1:1');
  clock.advance(2 * 60_000);
  t.equal(store.add([{ host: '10.0.0.3', port: 1 }], 'seed').added, 1, 'a never-reached occupant with failures yields');
  t.equal(store.get('10.0.0.1:1'), undefined);
  t.equal(store.size, 1);

  clock.advance(31 * DAY);
  t.equal(store.add([{ host: '10.0.0.4', port: 1 }], 'seed').added, 1, 'an occupant unseen for 30 days yields');
  t.same(store.list().map((a) => a.key), ['10.0.0.4:1']);
  t.end();
});

t.test('select prefers tried, mixes in new, and honours exclusions and retry delay', (t) => {
  const clock = new FakeClock();
  const store = makeStore(clock, { random: seededRandom(42) });
  const hosts = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 1}`);
  store.add(hosts.map((host) => ({ host, port: 18444 })), '127.0.0.250');
  for (const host of hosts.slice(0, 5)) store.markGood(`${host}:18444`);
  clock.advance(60 * 60_000); // past the retry delay of the markGood tries

  let tried = 0;
  const draws = 2000;
  for (let i = 0; i < draws; i++) if (store.select()?.table === 'tried') tried++;
  t.ok(tried > 0.65 * draws && tried < 0.75 * draws, `default ratio 0.7: ${tried}/${draws} tried`);
  let triedHalf = 0;
  for (let i = 0; i < draws; i++) if (store.select({ triedRatio: 0.5 })?.table === 'tried') triedHalf++;
  t.ok(triedHalf > 0.45 * draws && triedHalf < 0.55 * draws, `ratio 0.5: ${triedHalf}/${draws} tried`);

  for (let i = 0; i < 200; i++) t.equal(store.select({ table: 'new' })?.table, 'new');
  for (let i = 0; i < 50; i++) t.equal(store.select({ table: 'tried' })?.table, 'tried');

  const excludeGroups = hosts.slice(0, 19).map((h) => store.netgroupOf(h));
  t.equal(store.select({ excludeNetgroups: excludeGroups })?.host, '127.0.0.20', 'only the non-excluded netgroup is left');
  const excludeAddresses = hosts.slice(1).map((host) => ({ host, port: 18444 }));
  t.equal(store.select({ excludeAddresses })?.key, '127.0.0.1:18444');
  t.equal(store.select({ excludeAddresses: [...excludeAddresses, '127.0.0.1:18444'] }), undefined, 'everything excluded');

  // Recently tried addresses are skipped until the retry delay passes.
  for (const host of hosts) store.markAttempt(`${host}:18444`);
  t.equal(store.select(), undefined, 'all tried a moment ago');
  t.ok(store.select({ retryDelayMs: 0 }), 'retry delay 0 disables the skip');
  clock.advance(10 * 60_000);
  t.ok(store.select(), 'eligible again after 10 minutes');
  t.end();
});

t.test('select weighs against failures', (t) => {
  const clock = new FakeClock();
  const store = makeStore(clock, { random: seededRandom(3) });
  store.add([{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.2', port: 1 }], 'seed');
  for (let i = 0; i < 2; i++) store.markFailed('10.0.0.2:1');
  clock.advance(HOUR);
  let failing = 0;
  for (let i = 0; i < 2000; i++) if (store.select()?.host === '10.0.0.2') failing++;
  // Weight 0.66^2 = 0.44 against 1: about 30% of draws.
  t.ok(failing > 450 && failing < 750, `failing address drawn ${failing}/2000 times`);
  t.end();
});

t.test('bans: IP and subnet, IPv4 and IPv6, expiry on fake time, reasons, unban', (t) => {
  const clock = new FakeClock();
  const store = makeStore(clock);
  store.add(
    [
      { host: '10.1.2.3', port: 1 },
      { host: '10.1.200.3', port: 1 },
      { host: '10.2.0.1', port: 1 },
      { host: '2001:db8:1::5', port: 1 },
    ],
    'seed',
  );

  const ipBan = store.ban('10.2.0.1', { reason: 'misbehaving', durationMs: HOUR });
  t.same(ipBan, { subnet: '10.2.0.1/32', reason: 'misbehaving', createdAt: clock.time, expiresAt: clock.time + HOUR });
  const subnetBan = store.ban('10.1.99.99/16', { reason: 'abuse' });
  t.equal(subnetBan.subnet, '10.1.0.0/16');
  t.equal(subnetBan.expiresAt, clock.time + DAY, 'default 24 h');
  store.ban('2001:db8::/32', { durationMs: 2 * DAY });
  t.throws(() => store.ban('not-an-ip'), TypeError);
  t.throws(() => store.ban('10.0.0.0/40'), TypeError);
  t.throws(() => store.ban('10.0.0.1', { durationMs: 0 }), RangeError);

  t.ok(store.isBanned('10.1.2.3'));
  t.ok(store.isBanned('::ffff:10.1.250.1'), 'mapped form of a banned IPv4');
  t.ok(store.isBanned('2001:db8:ffff::1'));
  t.notOk(store.isBanned('2001:db9::1'));
  t.notOk(store.isBanned('10.3.0.1'));
  t.notOk(store.isBanned('seed.example.org'));
  t.equal(store.banOf('10.2.0.1')?.reason, 'misbehaving');
  t.equal(store.counts().bans, 3);

  t.equal(store.select({ retryDelayMs: 0 }), undefined, 'every known address is banned');
  t.same(store.add([{ host: '10.1.5.5', port: 1 }], 'seed').rejected, 1, 'banned addresses are not learnt');
  t.notOk(store.markGood('10.1.5.5:1'), 'nor marked good');

  clock.advance(HOUR);
  t.notOk(store.isBanned('10.2.0.1'), 'a 1 h ban has expired');
  t.ok(store.isBanned('10.1.2.3'), 'the 24 h ban holds');
  t.same(store.select({ retryDelayMs: 0 })?.host, '10.2.0.1', 'the unbanned address is selectable again');
  t.equal(store.listBans().length, 2, 'expired ban dropped out');

  t.ok(store.unban('10.1.0.0/16'));
  t.notOk(store.unban('10.1.0.0/16'));
  t.notOk(store.unban('garbage'));
  t.notOk(store.isBanned('10.1.2.3'));
  clock.advance(DAY);
  t.ok(store.isBanned('2001:db8::1'), '48 h ban holds after 25 h');
  clock.advance(DAY);
  t.notOk(store.isBanned('2001:db8::1'));
  t.same(store.listBans(), []);

  const until = store.ban('10.9.0.0/16', { until: clock.time + 5 });
  t.equal(until.expiresAt, clock.time + 5);
  t.ok(store.isBanned('10.9.1.1', clock.time + 4));
  t.notOk(store.isBanned('10.9.1.1', clock.time + 5));
  t.end();
});

t.test('the ban list is bounded: the soonest-expiring ban makes room', (t) => {
  const clock = new FakeClock();
  const store = makeStore(clock, { maxBans: 3 });
  store.ban('10.0.0.1', { durationMs: 3 * HOUR });
  store.ban('10.0.0.2', { durationMs: 1 * HOUR });
  store.ban('10.0.0.3', { durationMs: 2 * HOUR });
  store.ban('10.0.0.4', { durationMs: 4 * HOUR });
  t.same(store.listBans().map((b) => b.subnet).sort(), ['10.0.0.1/32', '10.0.0.3/32', '10.0.0.4/32']);
  t.end();
});

t.test('sample answers getaddr with a bounded random share of usable addresses', (t) => {
  const clock = new FakeClock();
  const store = makeStore(clock);
  store.add(Array.from({ length: 100 }, (_, i) => ({ host: `10.0.${i}.1`, port: 8333 })), 'seed');
  t.ok(store.size >= 95, `${store.size} of 100 placed (a few lose slot collisions)`);
  const sample = store.sample();
  t.equal(sample.length, Math.floor(store.size * 0.23), '23% of the known addresses');
  t.equal(new Set(sample.map((a) => a.key)).size, sample.length, 'no duplicates');
  t.equal(store.sample({ max: 5 }).length, 5);
  store.ban('10.0.0.0/16');
  t.equal(store.sample().length, 0, 'banned addresses are never gossiped');
  t.end();
});

t.test('options are validated at construction', (t) => {
  t.throws(() => new PeerStore({ bucketSize: 0 }), RangeError);
  t.throws(() => new PeerStore({ newBucketCount: 1.5 }), RangeError);
  t.throws(() => new PeerStore({ key: Buffer.alloc(4) }), RangeError);
  t.throws(() => new PeerStore({ flushIntervalMs: 0 }), RangeError);
  const warnings: PeerStoreWarning[] = [];
  const store = new PeerStore({ onWarning: (w) => warnings.push(w) });
  t.equal(store.size, 0);
  t.same(warnings, []);
  t.end();
});

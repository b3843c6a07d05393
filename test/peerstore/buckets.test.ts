import t from 'tap';
import { DEFAULT_GEOMETRY, newBucketFor, positionInBucket, triedBucketFor } from '../../lib/peerstore/buckets.js';
import { PeerStore } from '../../lib/peerstore/store.js';
import { FakeClock, testKey } from './fixtures/prng.js';

const g = DEFAULT_GEOMETRY;

t.test('bucket placement is a deterministic function of the key', (t) => {
  const keyA = testKey('a');
  const keyB = testKey('b');
  t.equal(newBucketFor(keyA, g, 'ipv4:10.1', 'ipv4:10.9'), newBucketFor(Buffer.from(keyA), g, 'ipv4:10.1', 'ipv4:10.9'));
  // Under another key the placement changes: over 200 groups, nearly all buckets differ.
  let differing = 0;
  for (let i = 0; i < 200; i++) {
    if (newBucketFor(keyA, g, `ipv4:10.${i}`, 'ipv4:10.9') !== newBucketFor(keyB, g, `ipv4:10.${i}`, 'ipv4:10.9')) differing++;
  }
  t.ok(differing > 180, `${differing}/200 new buckets differ between keys`);
  t.equal(triedBucketFor(keyA, g, '10.1.2.3:8333', 'ipv4:10.1'), triedBucketFor(keyA, g, '10.1.2.3:8333', 'ipv4:10.1'));
  t.equal(positionInBucket(keyA, g, 'new', '10.1.2.3:8333'), positionInBucket(keyA, g, 'new', '10.1.2.3:8333'));

  // Two stores with the same key and the same input agree on every placement; another key does not.
  const addresses = Array.from({ length: 300 }, (_, i) => ({ host: `10.${i % 50}.${i >> 3}.${i & 255}`, port: 8333 }));
  const place = (key: Buffer): string[] => {
    const store = new PeerStore({ key, now: new FakeClock().now });
    store.add(addresses, '192.0.2.1');
    return store.list().map((a) => `${a.key}@${a.bucket}/${a.position}`);
  };
  t.same(place(testKey('a')), place(testKey('a')), 'same key, same placement');
  t.not(place(testKey('a')).join(), place(testKey('b')).join(), 'different key, different placement');
  t.end();
});

t.test('one source cannot occupy more than its share of the new table', (t) => {
  const clock = new FakeClock();
  const store = new PeerStore({ key: testKey('flood'), now: clock.now });
  // 10,000 addresses from one /16, all relayed by one attacker.
  const flood = Array.from({ length: 10_000 }, (_, i) => ({ host: `10.66.${i >> 8}.${i & 255}`, port: 8333 }));
  const result = store.add(flood, '203.0.113.7');
  const buckets = new Set(store.list().map((a) => a.bucket));
  t.equal(buckets.size, 1, 'one address netgroup from one source netgroup maps to one new bucket');
  t.ok(store.counts().new <= DEFAULT_GEOMETRY.bucketSize, `${store.counts().new} entries kept, at most one bucket (64)`);
  t.equal(result.added + result.rejected, 10_000);
  t.equal(result.added, store.size);
  t.end();
});

t.test('a source spraying many netgroups reaches at most newBucketsPerSourceGroup buckets', (t) => {
  const clock = new FakeClock();
  const store = new PeerStore({ key: testKey('spray'), now: clock.now });
  const spray = Array.from({ length: 10_000 }, (_, i) => ({ host: `${1 + (i % 200)}.${i % 251}.${(i >> 8) & 255}.${i & 255}`, port: 8333 }));
  store.add(spray, '203.0.113.7');
  const attackerBuckets = new Set(store.list().map((a) => a.bucket));
  t.ok(attackerBuckets.size <= DEFAULT_GEOMETRY.newBucketsPerSourceGroup, `${attackerBuckets.size} buckets used (limit 64)`);
  t.ok(store.size <= 64 * 64, `${store.size} entries kept (limit 4096 of 65536 new slots)`);

  // Honest addresses from other sources still get in: the attacker's entries are confined to its buckets.
  const honest = Array.from({ length: 200 }, (_, i) => ({ host: `${11 + (i % 100)}.${i}.5.1`, port: 8333 }));
  let accepted = 0;
  honest.forEach((a, i) => (accepted += store.add([a], `${120 + (i % 100)}.${i}.0.9`).added));
  t.ok(accepted >= 180, `${accepted}/200 honest addresses from other sources accepted after the flood`);
  t.end();
});

t.test('injected netgroup function decides placement (127.0.0.x as separate groups)', (t) => {
  const clock = new FakeClock();
  const perHost = new PeerStore({ key: testKey('ng'), now: clock.now, netgroup: (host) => `test:${host}` });
  const loopback = Array.from({ length: 40 }, (_, i) => ({ host: `127.0.0.${i + 1}`, port: 18444 }));
  perHost.add(loopback, '127.0.0.200');
  t.equal(perHost.get('127.0.0.7:18444')?.netgroup, 'test:127.0.0.7');
  t.equal(perHost.netgroupOf('127.0.0.7'), 'test:127.0.0.7');
  t.ok(new Set(perHost.list().map((a) => a.bucket)).size > 1, 'distinct groups spread over buckets');

  const defaults = new PeerStore({ key: testKey('ng'), now: clock.now });
  defaults.add(loopback, '127.0.0.200');
  t.equal(defaults.get('127.0.0.7:18444')?.netgroup, 'ipv4:127.0');
  t.equal(new Set(defaults.list().map((a) => a.bucket)).size, 1, 'default: all of 127.0/16 shares one bucket');
  t.end();
});

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FilePeerStoreBackend } from '../../lib/peerstore/file-backend.js';
import { decodePeerStoreFile, encodePeerStoreFile, PeerStoreFileError } from '../../lib/peerstore/format.js';
import { PeerStore } from '../../lib/peerstore/store.js';
import type { PeerStoreBackend, PeerStoreWarning, StoreSnapshot } from '../../lib/peerstore/types.js';
import { sha256 } from '../../lib/hash.js';
import { FakeClock, seededRandom, testKey } from './fixtures/prng.js';

const HOUR = 3_600_000;

/** A store in `dir` with a few new and tried addresses and two bans. */
async function populated(dir: string, clock: FakeClock, warnings: PeerStoreWarning[] = []): Promise<PeerStore> {
  const store = await PeerStore.open({ dataDir: dir, key: testKey('persist'), now: clock.now, onWarning: (w) => warnings.push(w) });
  store.add(
    [
      { host: '10.0.0.1', port: 8333, services: (1n << 63n) + 0x25n, lastSeen: clock.time - HOUR },
      { host: '10.1.0.2', port: 8333, services: 1n },
      { host: '2001:db8::7', port: 18444 },
    ],
    '10.9.9.9',
  );
  store.markGood('10.0.0.1:8333');
  store.markFailed('10.1.0.2:8333');
  store.ban('192.0.2.0/24', { reason: 'spam' });
  store.ban('2001:db8:dead::/48', { reason: 'bad blocks', durationMs: 2 * HOUR });
  return store;
}

function openWith(dir: string, clock: FakeClock): Promise<{ store: PeerStore; warnings: PeerStoreWarning[] }> {
  const warnings: PeerStoreWarning[] = [];
  return PeerStore.open({ dataDir: dir, key: testKey('other'), now: clock.now, onWarning: (w) => warnings.push(w) }).then((store) => ({
    store,
    warnings,
  }));
}

t.test('round trip: addresses, tables, bigints, bans and the bucket key survive', async (t) => {
  const dir = t.testdir();
  const clock = new FakeClock();
  const store = await populated(dir, clock);
  t.equal(await store.flush(), true, 'dirty store writes');
  t.equal(await store.flush(), false, 'clean store does not write again');
  const file = readFileSync(join(dir, 'peers.json'));
  t.match(file.subarray(0, 100).toString('latin1'), /^BSV-WIRE-PEERSTORE 1 \d+ [0-9a-f]{64}\n\{/);
  t.notOk(existsSync(join(dir, 'peers.json.bak')), 'no backup before a second save');
  await store.stop(); // gives the data directory's lock back

  const { store: reloaded, warnings } = await openWith(dir, clock);
  t.same(warnings, []);
  t.same(reloaded.list(), store.list(), 'same entries, tables, buckets and positions (the persisted key wins)');
  t.equal(reloaded.get('10.0.0.1:8333')?.services, (1n << 63n) + 0x25n);
  t.equal(reloaded.get('10.0.0.1:8333')?.table, 'tried');
  t.equal(reloaded.get('10.1.0.2:8333')?.attempts, 1);
  t.same(reloaded.listBans(), store.listBans());
  t.ok(reloaded.isBanned('192.0.2.77'));
  t.same(reloaded.counts(), { new: 2, tried: 1, total: 3, bans: 2 });
  t.equal(await reloaded.flush(), false, 'a freshly loaded store is clean');
  await reloaded.stop();

  clock.advance(3 * HOUR);
  const { store: later } = await openWith(dir, clock);
  t.same(later.listBans().map((b) => b.subnet), ['192.0.2.0/24'], 'bans that expired while stopped are dropped on load');
});

t.test('each save keeps the previous file as the backup', async (t) => {
  const dir = t.testdir();
  const clock = new FakeClock();
  const store = await populated(dir, clock);
  await store.flush();
  const first = readFileSync(join(dir, 'peers.json'));
  store.add([{ host: '10.5.0.1', port: 8333 }], 'seed');
  await store.stop(); // the final flush, and the lock given back
  t.same(readFileSync(join(dir, 'peers.json.bak')), first, 'backup is the previous good file');
  t.not(readFileSync(join(dir, 'peers.json')).toString(), first.toString());
  t.same(
    readdirSync(dir).sort(),
    ['peers.json', 'peers.json.bak'],
    'no temp files left behind',
  );
});

/** Damage done to the main file; each must be detected, set aside, and the backup used. */
const damages: [string, (good: Buffer) => Buffer][] = [
  ['a flipped byte in the body', (b) => flip(b, b.length - 10)],
  ['a flipped byte in the checksum', (b) => flip(b, b.indexOf(0x0a) - 3)],
  ['a truncated file', (b) => b.subarray(0, Math.floor(b.length / 2))],
  ['a file cut inside the header', (b) => b.subarray(0, 12)],
  ['an empty file', () => Buffer.alloc(0)],
  ['garbage bytes', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 255))],
  ['trailing bytes', (b) => Buffer.concat([b, Buffer.from('\n')])],
  ['valid checksum over invalid JSON', () => framed(Buffer.from('{"key": "00", nope'))],
  ['valid checksum over the wrong shape', () => framed(Buffer.from(JSON.stringify({ key: 'ab'.repeat(32), savedAt: 1, addresses: [{ host: '1.2.3.4' }], bans: [] })))],
];

function flip(b: Buffer, at: number): Buffer {
  const out = Buffer.from(b);
  out[at] ^= 0x04;
  return out;
}

function framed(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`BSV-WIRE-PEERSTORE 1 ${body.length} ${sha256(body).toString('hex')}\n`), body]);
}

for (const [name, damage] of damages) {
  t.test(`load survives ${name}: moved aside, backup used, warned`, async (t) => {
    const dir = t.testdir();
    const clock = new FakeClock();
    const store = await populated(dir, clock);
    await store.flush();
    const backupList = store.list();
    store.add([{ host: '10.5.0.1', port: 8333 }], 'seed');
    await store.stop();

    const bad = damage(readFileSync(join(dir, 'peers.json')));
    writeFileSync(join(dir, 'peers.json'), bad);
    clock.advance(1234);
    const { store: reloaded, warnings } = await openWith(dir, clock);

    t.same(
      warnings.map((w) => w.code),
      ['corrupt-file', 'used-backup'],
    );
    const aside = join(dir, `peers.json.corrupt-${clock.time}`);
    t.equal(warnings[0].movedTo, aside);
    t.same(readFileSync(aside), bad, 'the bad file is kept, byte for byte');
    t.notOk(existsSync(join(dir, 'peers.json')));
    t.same(reloaded.list(), backupList, 'state is the backup (the previous flush)');

    // The next flush writes a fresh main file and leaves the good backup alone.
    reloaded.add([{ host: '10.6.0.1', port: 8333 }], 'seed');
    await reloaded.stop();
    const { store: third, warnings: none } = await openWith(dir, clock);
    t.same(none, []);
    t.equal(third.size, backupList.length + 1);
  });
}

t.test('main and backup both damaged: both set aside, start empty, warned, never thrown', async (t) => {
  const dir = t.testdir();
  const clock = new FakeClock();
  const store = await populated(dir, clock);
  await store.flush();
  store.add([{ host: '10.5.0.1', port: 8333 }], 'seed');
  await store.stop();
  writeFileSync(join(dir, 'peers.json'), 'garbage');
  writeFileSync(join(dir, 'peers.json.bak'), readFileSync(join(dir, 'peers.json.bak')).subarray(0, 50));

  const { store: empty, warnings } = await openWith(dir, clock);
  t.same(warnings.map((w) => w.code), ['corrupt-file', 'corrupt-backup']);
  t.equal(empty.size, 0);
  await empty.stop();
  t.same(readdirSync(dir).sort(), [`peers.json.bak.corrupt-${clock.time}`, `peers.json.corrupt-${clock.time}`]);

  // Damaged again at the same millisecond: the earlier evidence is not overwritten.
  writeFileSync(join(dir, 'peers.json'), 'garbage 2');
  const { warnings: again } = await openWith(dir, clock);
  t.equal(again[0].movedTo, join(dir, `peers.json.corrupt-${clock.time}-1`));
  t.equal(readFileSync(join(dir, `peers.json.corrupt-${clock.time}`), 'utf8'), 'garbage');
});

t.test('a file from a newer format version is set aside untouched, not overwritten', async (t) => {
  const dir = t.testdir();
  const clock = new FakeClock();
  const store = await populated(dir, clock);
  await store.flush();
  store.add([{ host: '10.5.0.1', port: 8333 }], 'seed');
  await store.stop();
  const future = Buffer.from('BSV-WIRE-PEERSTORE 2 5 whatever\nhello');
  writeFileSync(join(dir, 'peers.json'), future);
  const { store: reloaded, warnings } = await openWith(dir, clock);
  t.same(warnings.map((w) => w.code), ['unsupported-version', 'used-backup']);
  t.same(readFileSync(join(dir, `peers.json.unsupported-v2-${clock.time}`)), future);
  t.equal(reloaded.size, 3, 'backup content');
});

t.test('missing main file with a backup present: the backup is used', async (t) => {
  const dir = t.testdir();
  const clock = new FakeClock();
  const good = encodePeerStoreFile((await populated(join(dir, 'elsewhere'), clock)).snapshot());
  writeFileSync(join(dir, 'peers.json.bak'), good);
  const { store, warnings } = await openWith(dir, clock);
  t.same(warnings.map((w) => w.code), ['used-backup']);
  t.equal(store.size, 3);
});

t.test('temp files left by a crash are removed on load; a missing directory is created on save', async (t) => {
  const dir = t.testdir({ 'peers.json.tmp-123-4': 'partial', 'peers.json.bak.tmp': 'partial', 'unrelated.txt': 'keep' });
  const clock = new FakeClock();
  const { store, warnings } = await openWith(dir, clock);
  t.same(warnings, []);
  t.equal(store.size, 0);
  await store.stop();
  t.same(readdirSync(dir), ['unrelated.txt']);

  const nested = join(t.testdir(), 'a', 'b');
  const fresh = await PeerStore.open({ dataDir: nested, now: clock.now });
  fresh.add([{ host: '10.0.0.1', port: 1 }], 'seed');
  await fresh.flush();
  t.ok(existsSync(join(nested, 'peers.json')));
});

t.test('every truncation and every single-byte flip of a file is a PeerStoreFileError', (t) => {
  const clock = new FakeClock();
  const store = new PeerStore({ key: testKey('small'), now: clock.now });
  store.add([{ host: '10.0.0.1', port: 8333, services: 1n }], 'seed');
  store.ban('10.9.0.0/16', { reason: 'x' });
  const file = encodePeerStoreFile(store.snapshot());
  t.same(decodePeerStoreFile(file).addresses, store.snapshot().addresses);
  let truncations = 0;
  let flips = 0;
  const reasons = new Set<string>();
  for (let end = 0; end < file.length; end++) {
    try {
      decodePeerStoreFile(file.subarray(0, end));
    } catch (err) {
      if (err instanceof PeerStoreFileError) {
        truncations++;
        reasons.add(err.reason);
      }
    }
  }
  for (let at = 0; at < file.length; at++) {
    try {
      decodePeerStoreFile(flip(file, at));
    } catch (err) {
      if (err instanceof PeerStoreFileError) {
        flips++;
        reasons.add(err.reason);
      }
    }
  }
  t.equal(truncations, file.length, `all ${file.length} truncations refused`);
  t.equal(flips, file.length, `all ${file.length} flips refused`);
  for (const reason of ['empty', 'bad-header', 'unsupported-version', 'truncated', 'trailing-bytes', 'bad-checksum']) {
    t.ok(reasons.has(reason), `seen: ${reason}`);
  }
  t.end();
});

t.test('a file larger than maxFileBytes is refused without being read', async (t) => {
  const dir = t.testdir({ 'peers.json': 'x'.repeat(2000) });
  const warnings: PeerStoreWarning[] = [];
  const backend = new FilePeerStoreBackend({ dataDir: dir, maxFileBytes: 1000, onWarning: (w) => warnings.push(w), now: () => 5 });
  t.equal(await backend.load(), undefined);
  t.equal(warnings[0].code, 'corrupt-file');
  t.match(warnings[0].message, /too-large/);
  t.ok(existsSync(join(dir, 'peers.json.corrupt-5')));
});

/** A backend in memory: shows the interface, and can be told to fail. */
class MemoryBackend implements PeerStoreBackend {
  saved: StoreSnapshot | undefined;
  saves = 0;
  failing = false;
  async load(): Promise<StoreSnapshot | undefined> {
    return this.saved;
  }
  async save(snapshot: StoreSnapshot): Promise<void> {
    if (this.failing) throw new Error('disk full');
    this.saved = snapshot;
    this.saves++;
  }
}

t.test('periodic flush, flush on stop, and failures reported without crashing', async (t) => {
  const backend = new MemoryBackend();
  const warnings: PeerStoreWarning[] = [];
  const store = new PeerStore({ backend, key: testKey('periodic'), flushIntervalMs: 10, onWarning: (w) => warnings.push(w), random: seededRandom(1) });
  store.add([{ host: '10.0.0.1', port: 1 }], 'seed');
  store.start();
  store.start(); // idempotent
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no periodic flush within 5 s')), 5000);
    store.once('flush', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  t.equal(backend.saves, 1, 'the timer flushed the dirty store');
  t.equal(backend.saved?.addresses.length, 1);

  backend.failing = true;
  t.equal(store.add([{ host: '10.7.0.2', port: 1 }], 'seed').added, 1);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no flush warning within 5 s')), 5000);
    store.once('warning', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  t.equal(warnings[0].code, 'flush-failed');
  t.match(warnings[0].message, /disk full/);

  await t.rejects(store.stop(), /disk full/, 'a failing final flush rejects, so the caller knows');
  backend.failing = false;
  t.equal(await store.flush(), true, 'still dirty: the next flush retries');
  t.equal(backend.saved?.addresses.length, 2);

  const restored = new PeerStore({ backend });
  await restored.load();
  t.equal(restored.size, 2, 'another store loads from the same backend');
  await restored.stop();
  t.equal(backend.saves, 2, 'stop with nothing changed writes nothing');
});

t.test('flushes are serialised and changes during a save are not lost', async (t) => {
  const calls: { addresses: number; release: () => void }[] = [];
  let onCall: () => void = () => {};
  const nextCall = (): Promise<void> => new Promise((resolve) => (onCall = resolve));
  const backend: PeerStoreBackend = {
    load: async () => undefined,
    save: (snapshot) =>
      new Promise<void>((resolve) => {
        calls.push({ addresses: snapshot.addresses.length, release: resolve });
        onCall();
      }),
  };
  const store = new PeerStore({ backend, key: testKey('serial') });
  t.equal(store.add([{ host: '10.0.0.1', port: 1 }], 'seed').added, 1);
  let called = nextCall();
  const first = store.flush();
  await called;
  t.equal(store.add([{ host: '10.7.0.2', port: 1 }], 'seed').added, 1, 'added while the first save is in progress');
  const second = store.flush();
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(calls.length, 1, 'the second flush waits for the first');

  called = nextCall();
  calls[0].release();
  t.equal(await first, true);
  await called;
  t.equal(calls.length, 2);
  calls[1].release();
  t.equal(await second, true);
  t.same(
    calls.map((c) => c.addresses),
    [1, 2],
    'the change made during the first save is in the second',
  );
  t.equal(await store.flush(), false, 'nothing left to write');
});

t.test('a snapshot that no longer fits smaller tables drops entries with a warning', (t) => {
  const clock = new FakeClock();
  const big = new PeerStore({ key: testKey('fit'), now: clock.now });
  big.add(Array.from({ length: 50 }, (_, i) => ({ host: `10.${i}.0.1`, port: 1 })), 'seed');
  const warnings: PeerStoreWarning[] = [];
  const small = new PeerStore({ newBucketCount: 1, bucketSize: 4, newBucketsPerSourceGroup: 1, onWarning: (w) => warnings.push(w) });
  small.restore(big.snapshot());
  t.ok(small.size <= 4);
  t.equal(warnings[0]?.code, 'entries-dropped');
  t.end();
});

t.test("a backend's warnings reach the store's 'warning' event", async (t) => {
  const dir = t.testdir({ 'peers.json': 'not a peers file' });
  const clock = new FakeClock();
  const store = new PeerStore({ backend: new FilePeerStoreBackend({ dataDir: dir, now: clock.now }), now: clock.now });
  const seen: PeerStoreWarning[] = [];
  store.on('warning', (w) => seen.push(w));
  await store.load();
  t.same(
    seen.map((w) => [w.code, w.movedTo]),
    [['corrupt-file', join(dir, `peers.json.corrupt-${clock.time}`)]],
  );
  t.equal(store.size, 0);
});

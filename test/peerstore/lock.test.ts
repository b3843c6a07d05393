import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FilePeerStoreBackend } from '../../lib/peerstore/file-backend.js';
import { PeerStoreLockedError } from '../../lib/peerstore/lock.js';
import { PeerStore } from '../../lib/peerstore/store.js';
import { testKey } from './fixtures/prng.js';

const lockOf = (dir: string): string => join(dir, 'peers.json.lock');

/** The pid of a process that has already exited. */
function deadPid(): number {
  const done = spawnSync(process.execPath, ['-e', '']);
  if (done.pid === undefined) throw new Error('could not start a child');
  return done.pid;
}

t.test('two stores on one directory: the second is refused, the first keeps saving', async (t) => {
  const dir = t.testdir();
  const first = await PeerStore.open({ dataDir: dir, key: testKey('first') });
  t.equal(readFileSync(lockOf(dir), 'utf8'), `${process.pid}\n`, 'the lock names the holder');
  const err = await PeerStore.open({ dataDir: dir }).catch((e: unknown) => e);
  t.type(err, PeerStoreLockedError);
  t.match(err, { reason: 'locked', pid: process.pid, dataDir: dir, message: `the peer store in ${dir} is in use by process ${process.pid}` });

  const second = new PeerStore({ dataDir: dir });
  second.add([{ host: '10.0.0.2', port: 8333 }], 'seed');
  await t.rejects(second.flush(), PeerStoreLockedError, 'a save without load is refused too');

  first.add([{ host: '10.0.0.1', port: 8333 }], 'seed');
  t.equal(await first.flush(), true, 'the holder still saves');
  await first.stop();
  t.notOk(existsSync(lockOf(dir)), 'stop gives the lock back');
  const reopened = await PeerStore.open({ dataDir: dir });
  t.ok(reopened.get('10.0.0.1:8333'), "reopened after stop, with the holder's save");
  t.notOk(reopened.get('10.0.0.2:8333'), 'the refused save wrote nothing');
  await reopened.stop();
  t.notOk(existsSync(lockOf(dir)));
});

t.test('a lock held by another live process is refused, naming its pid', async (t) => {
  const dir = t.testdir();
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  t.teardown(() => {
    holder.kill('SIGKILL');
  });
  const pid = holder.pid ?? 0;
  writeFileSync(lockOf(dir), `${pid}\n`);
  await t.rejects(PeerStore.open({ dataDir: dir }), { name: 'PeerStoreLockedError', pid });
  t.equal(readFileSync(lockOf(dir), 'utf8'), `${pid}\n`, 'the live lock is left alone');
});

t.test('a stale lock (dead pid, or no pid at all) is taken over', async (t) => {
  for (const [name, content] of [
    ['a dead pid', `${deadPid()}\n`],
    ['an empty lock (killed between create and write)', ''],
    ['garbage', 'not a pid'],
  ] as const) {
    const dir = t.testdir();
    writeFileSync(lockOf(dir), content);
    const store = await PeerStore.open({ dataDir: dir });
    t.equal(readFileSync(lockOf(dir), 'utf8'), `${process.pid}\n`, `${name}: taken over`);
    await store.stop();
    t.notOk(existsSync(lockOf(dir)), `${name}: released on stop`);
  }
});

t.test('read-only: opens a locked store without touching it; saving is refused', async (t) => {
  const dir = t.testdir({ 'peers.json.tmp-99-1': 'a save in progress', 'peers.json': 'damaged' });
  const holder = new FilePeerStoreBackend({ dataDir: dir });
  const warnings: string[] = [];
  const reader = await PeerStore.open({ dataDir: dir, readOnly: true, onWarning: (w) => warnings.push(w.code) });
  t.same(warnings, ['corrupt-file'], 'the damage is reported');
  t.ok(existsSync(join(dir, 'peers.json')), 'but the file is not moved');
  t.ok(existsSync(join(dir, 'peers.json.tmp-99-1')), 'nor temp files removed');
  t.notOk(existsSync(lockOf(dir)), 'no lock taken');

  await holder.load();
  t.ok(existsSync(lockOf(dir)));
  const again = await PeerStore.open({ dataDir: dir, readOnly: true });
  t.equal(again.size, 0, 'a read-only open works while another store holds the lock');
  reader.add([{ host: '10.0.0.1', port: 8333 }], 'seed');
  await t.rejects(reader.flush(), /read-only/);
  await holder.close();
  t.notOk(existsSync(lockOf(dir)));
});

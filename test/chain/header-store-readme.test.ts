// README "HeaderStore", Crash safety and One writer: open checks the checksums of the last 16,384 records
// (`verifyAll: true` all of them), and a file of something else is refused, never overwritten.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { HeaderStore, HeaderStoreError } from '../../lib/chain/header-store.js';
import { regtest } from '../../lib/networks.js';
import { syntheticChain } from '../helpers/synthetic-headers.js';

const HEADER_BYTES = 16;
const TAIL = 16_384;

t.test('open checks the last 16,384 records; verifyAll: true finds damage anywhere and cuts back to it', async (t) => {
  const dir = t.testdir();
  const total = TAIL + 100; // records after genesis
  const store = await HeaderStore.open(dir, regtest);
  store.append(syntheticChain(total, 11));
  await store.close();
  const damaged = 50; // a record well before the checked tail (height 50)
  const datPath = join(dir, 'headers.dat');
  const dat = readFileSync(datPath);
  dat[HEADER_BYTES + damaged * 80 + 75] ^= 0xff; // a nonce byte of header 50: its crc no longer matches
  writeFileSync(datPath, dat);

  const quick = await HeaderStore.open(dir, regtest, { readOnly: true });
  t.equal(quick.heal, undefined, 'a damaged record older than the last 16,384 is not checked by default');
  t.equal(quick.tree.best.height, total);
  await quick.close();

  const inTail = await HeaderStore.open(dir, regtest, { readOnly: true, verifyAll: true });
  t.equal(inTail.heal?.reason, 'checksum', 'verifyAll finds it');
  t.equal(inTail.heal?.keptRecords, damaged, 'kept: genesis and the records before the damaged one');
  t.equal(inTail.heal?.droppedRecords, total + 1 - damaged);
  t.equal(inTail.tree.best.height, damaged - 1);
  await inTail.close();
  t.equal(statSync(datPath).size, HEADER_BYTES + (total + 1) * 80, 'read-only: nothing cut on disk');

  const healed = await HeaderStore.open(dir, regtest, { verifyAll: true });
  t.equal(healed.heal?.reason, 'checksum');
  t.equal(healed.tree.best.height, damaged - 1);
  await healed.close();
  t.equal(statSync(datPath).size, HEADER_BYTES + damaged * 80, 'a writer cuts the files back to the last valid record');
});

t.test('damage inside the last 16,384 records is found without verifyAll', async (t) => {
  const dir = t.testdir();
  const store = await HeaderStore.open(dir, regtest);
  store.append(syntheticChain(300, 12));
  await store.close();
  const datPath = join(dir, 'headers.dat');
  const dat = readFileSync(datPath);
  dat[HEADER_BYTES + 10 * 80 + 75] ^= 0xff;
  writeFileSync(datPath, dat);
  const s = await HeaderStore.open(dir, regtest, { readOnly: true });
  t.equal(s.heal?.reason, 'checksum');
  t.equal(s.tree.best.height, 9);
  await s.close();
});

t.test('files of something else are refused with bad-file and never overwritten', async (t) => {
  const dir = t.testdir({ 'headers.dat': 'not a header file at all, just some text long enough\n', 'headers.idx': 'also not an index file, and long enough to read\n' });
  const before = readFileSync(join(dir, 'headers.dat'));
  const err = await HeaderStore.open(dir, regtest).catch((e: unknown) => e);
  t.ok(err instanceof HeaderStoreError, String(err));
  t.equal((err as HeaderStoreError).reason, 'bad-file');
  t.ok(readFileSync(join(dir, 'headers.dat')).equals(before), 'headers.dat untouched');
  t.equal(readFileSync(join(dir, 'headers.idx'), 'utf8'), 'also not an index file, and long enough to read\n', 'headers.idx untouched');
});

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { HeaderStore, HeaderStoreError, HeaderStoreLockedError } from '../../lib/chain/header-store.js';
import { HeaderTreeError, type HeaderTree, type TreeEntry } from '../../lib/chain/header-tree.js';
import { toDisplayHex } from '../../lib/hash.js';
import { mainnet, regtest } from '../../lib/networks.js';
import { regtestGenesisHash, syntheticChain } from '../helpers/synthetic-headers.js';

const hex = (b: Buffer): string => toDisplayHex(b);
const DAT = 'headers.dat';
const IDX = 'headers.idx';
const HEADER_BYTES = 16;

/** Every header of the tree as "hash height work parent", sorted: what a round trip must keep. */
function snapshot(tree: HeaderTree): string[] {
  const out: string[] = [];
  for (const tip of tree.tips()) {
    for (let e: TreeEntry | undefined = tip; e; e = e.height === 0 ? undefined : tree.get(e.prevHash)) {
      out.push(`${hex(e.hash)} ${e.height} ${e.chainWork} ${hex(e.prevHash)} ${e.time} ${e.bits} ${e.version}`);
    }
  }
  return [...new Set(out)].sort();
}

/** The best chain walks back to genesis by prevHash, every header where atHeight says. */
function validChain(tree: HeaderTree): boolean {
  let e: TreeEntry | undefined = tree.best;
  for (let h = tree.best.height; h >= 0; h--) {
    if (!e || e.height !== h || !tree.atHeight(h)!.hash.equals(e.hash)) return false;
    if (h === 0) return e.hash.equals(regtestGenesisHash);
    e = tree.get(e.prevHash);
  }
  return false;
}

t.test('a new store holds genesis; a round trip keeps every header, fork and the best tip', async (t) => {
  const dir = t.testdir();
  const store = await HeaderStore.open(dir, regtest);
  t.equal(store.heal, undefined);
  t.equal(store.tree.size, 1);
  t.equal(hex(store.tree.best.hash), hex(regtestGenesisHash));
  t.equal(statSync(join(dir, DAT)).size, HEADER_BYTES + 80);
  t.equal(statSync(join(dir, IDX)).size, HEADER_BYTES + 68);

  const main = syntheticChain(300, 1);
  const entries = store.append(main);
  t.equal(entries.length, 300);
  const side = syntheticChain(40, 2, { hash: main[199]!.hash, time: main[199]!.header.timestamp });
  for (const h of side) store.add(h.header, h.hash);
  const sideTip = store.tree.get(side.at(-1)!.hash)!;
  const tie = syntheticChain(100, 3, { hash: main[199]!.hash, time: main[199]!.header.timestamp }); // same work as main
  store.append(tie);
  t.equal(store.append(main.slice(0, 10)).length, 10, 'known headers give their entries back');
  t.equal(store.tree.size, 441, 'and are not added again');
  const before = snapshot(store.tree);
  const bestBefore = hex(store.tree.best.hash);
  await store.close();
  t.equal(statSync(join(dir, DAT)).size, HEADER_BYTES + 441 * 80, 'known headers were not written twice');

  const again = await HeaderStore.open(dir, regtest);
  t.equal(again.heal, undefined, 'a clean close needs no heal');
  t.equal(again.tree.size, 441);
  t.same(snapshot(again.tree), before, 'every header, height, work and parent');
  t.equal(hex(again.tree.best.hash), bestBefore, 'the first-seen of equal tips stays the best');
  t.equal(hex(again.tree.best.hash), hex(main.at(-1)!.hash));
  t.equal(again.tree.tips().length, 3);
  t.same(again.tree.header(main[41]!.hash), main[41]!.header, 'full headers are read back from the file');
  t.same(again.tree.header(sideTip.hash), side.at(-1)!.header);
  t.ok(validChain(again.tree));

  // Growing it after the reopen: a fork overtakes the best chain 100 deep, and persists.
  const overtake = syntheticChain(2, 4, { hash: tie.at(-1)!.hash, time: tie.at(-1)!.header.timestamp });
  const oldBest = again.tree.best;
  again.append(overtake);
  t.equal(hex(again.tree.best.hash), hex(overtake[1]!.hash));
  const reorg = again.tree.path(oldBest, again.tree.best);
  t.equal(reorg.disconnected.length, 100);
  t.equal(reorg.connected.length, 102);
  t.same(again.tree.header(overtake[0]!.hash), overtake[0]!.header, 'headers appended since open are readable');
  await again.close();
  const third = await HeaderStore.open(dir, regtest);
  t.equal(third.heal, undefined);
  t.equal(third.tree.size, 443);
  t.equal(hex(third.tree.best.hash), hex(overtake[1]!.hash));
  t.ok(validChain(third.tree));
  await third.close();
});

t.test('headers inserted into store.tree directly are written by the next flush', async (t) => {
  const dir = t.testdir();
  const store = await HeaderStore.open(dir, regtest);
  const chain = syntheticChain(12, 8);
  for (const h of chain) store.tree.insert(h.header, h.hash);
  await store.flush();
  t.equal(statSync(join(dir, DAT)).size, HEADER_BYTES + 13 * 80);
  await store.close();
  const again = await HeaderStore.open(dir, regtest);
  t.equal(again.heal, undefined);
  t.equal(again.tree.size, 13);
  t.equal(hex(again.tree.best.hash), hex(chain[11]!.hash));
  await again.close();
});

t.test('an unknown parent: the headers before it are stored, then the typed error', async (t) => {
  const dir = t.testdir();
  const store = await HeaderStore.open(dir, regtest);
  t.teardown(() => store.close());
  const chain = syntheticChain(5, 1);
  const orphan = syntheticChain(2, 9)[1]!;
  t.throws(() => store.append([...chain.slice(0, 3), orphan, ...chain.slice(3)]), HeaderTreeError);
  t.equal(store.tree.size, 4);
  await store.close();
  const again = await HeaderStore.open(dir, regtest);
  t.equal(again.tree.size, 4);
  t.equal(again.heal, undefined);
  await again.close();
});

t.test('a torn tail at every byte of the last record, in either file, is healed, reported, and stays healed', async (t) => {
  const base = t.testdir();
  const chain = syntheticChain(30, 5);
  const make = async (dir: string): Promise<void> => {
    const store = await HeaderStore.open(dir, regtest);
    store.append(chain);
    await store.close();
  };
  const master = join(base, 'master');
  await make(master);
  const whole = { [DAT]: readFileSync(join(master, DAT)), [IDX]: readFileSync(join(master, IDX)) };
  const lastHash = hex(chain[29]!.hash);
  let cases = 0;
  let failures = 0;
  for (const [file, recordSize] of [[DAT, 80], [IDX, 68]] as const) {
    for (let keep = 0; keep < recordSize; keep++) {
      const dir = join(base, `${file}-${keep}`);
      await writeCopy(dir, whole);
      const size = whole[file].length - recordSize + keep;
      truncateSync(join(dir, file), size);
      const store = await HeaderStore.open(dir, regtest);
      const heal = store.heal;
      const fileReport = heal?.files.find((f) => f.file === join(dir, file));
      const ok =
        heal !== undefined &&
        heal.reason === 'torn-tail' &&
        heal.keptRecords === 30 &&
        heal.droppedRecords === 1 &&
        fileReport?.bytesBefore === size &&
        fileReport.bytesDropped === keep &&
        heal.files.reduce((n, f) => n + f.bytesDropped, 0) === keep + (file === DAT ? 68 : 80) &&
        store.tree.size === 30 &&
        store.tree.best.height === 29 &&
        !store.tree.has(Buffer.from(lastHash, 'hex').reverse()) &&
        validChain(store.tree) &&
        statSync(join(dir, DAT)).size === HEADER_BYTES + 30 * 80 &&
        statSync(join(dir, IDX)).size === HEADER_BYTES + 30 * 68;
      await store.close();
      const reopened = await HeaderStore.open(dir, regtest);
      const stays = reopened.heal === undefined && reopened.tree.size === 30;
      // And the healed store takes the lost header again (checked at every 8th offset: each costs two more fsyncs).
      let grows = true;
      if (keep % 8 === 0 || keep === recordSize - 1) {
        reopened.append(chain.slice(29));
        grows = reopened.tree.size === 31 && hex(reopened.tree.best.hash) === lastHash;
      }
      await reopened.close();
      cases++;
      if (!ok || !stays || !grows) {
        failures++;
        t.fail(`${file} cut ${keep} bytes into its last record`, { heal, size: store.tree.size, stays, grows });
      }
    }
  }
  t.equal(cases, 80 + 68);
  t.equal(failures, 0, `all ${cases} torn tails healed to the last whole record`);
});

t.test('damaged bytes in the last records fail their checksum and are cut; damage in the middle cuts from there', async (t) => {
  const base = t.testdir();
  const master = join(base, 'master');
  const store = await HeaderStore.open(master, regtest);
  store.append(syntheticChain(50, 6));
  await store.close();
  const whole = { [DAT]: readFileSync(join(master, DAT)), [IDX]: readFileSync(join(master, IDX)) };

  // A power cut can leave zeros where unsynced data should be: the sizes are right, the bytes are not.
  for (const [file, offset, what] of [
    [DAT, HEADER_BYTES + 50 * 80 + 40, 'a header byte of the last record'],
    [IDX, HEADER_BYTES + 50 * 68 + 50, 'a chain work byte of the last record'],
    [IDX, HEADER_BYTES + 45 * 68 + 3, 'a hash byte five records from the end'],
  ] as const) {
    const dir = join(base, `${file}-${offset}`);
    const copy = { ...whole, [file]: Buffer.from(whole[file]) };
    copy[file][offset] ^= 0xff;
    await writeCopy(dir, copy);
    const damaged = await HeaderStore.open(dir, regtest);
    const record = Math.floor((offset - HEADER_BYTES) / (file === DAT ? 80 : 68));
    t.match(damaged.heal, { reason: 'checksum', keptRecords: record, droppedRecords: 51 - record }, what);
    t.equal(damaged.tree.size, record);
    t.ok(validChain(damaged.tree));
    await damaged.close();
    const reopened = await HeaderStore.open(dir, regtest);
    t.equal(reopened.heal, undefined, `${what}: healed for good`);
    await reopened.close();
  }
});

t.test('files of another network or another program are refused, not overwritten', async (t) => {
  const dir = t.testdir();
  const store = await HeaderStore.open(dir, regtest);
  await store.close();
  await t.rejects(HeaderStore.open(dir, mainnet), { name: 'HeaderStoreError', reason: 'wrong-network' });
  t.notOk(existsSync(join(dir, 'headers.lock')), 'a refused open gives the lock back');
  const other = t.testdir({ [DAT]: 'not a header file at all', [IDX]: '' });
  await t.rejects(HeaderStore.open(other, regtest), HeaderStoreError);
  t.equal(readFileSync(join(other, DAT), 'utf8'), 'not a header file at all');
});

t.test('one writer per directory: a second is refused with a typed error; stale locks are taken over', async (t) => {
  const dir = t.testdir();
  const first = await HeaderStore.open(dir, regtest);
  t.equal(readFileSync(join(dir, 'headers.lock'), 'utf8'), `${process.pid}\n`);
  const err = await HeaderStore.open(dir, regtest).catch((e: unknown) => e);
  t.type(err, HeaderStoreLockedError);
  t.match(err, { reason: 'locked', pid: process.pid, message: `the header store in ${dir} is in use by process ${process.pid}` });
  const reader = await HeaderStore.open(dir, regtest, { readOnly: true });
  t.equal(reader.tree.size, 1, 'a read-only open needs no lock');
  t.match(thrown(() => reader.add(syntheticChain(1, 1)[0]!.header, syntheticChain(1, 1)[0]!.hash)), { name: 'HeaderStoreError', reason: 'read-only' });
  await reader.close();
  first.append(syntheticChain(3, 1));
  await first.close();
  t.notOk(existsSync(join(dir, 'headers.lock')), 'close gives the lock back');
  t.match(thrown(() => first.append(syntheticChain(1, 1))), { name: 'HeaderStoreError', reason: 'closed' });

  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  t.teardown(() => {
    holder.kill('SIGKILL');
  });
  writeFileSync(join(dir, 'headers.lock'), `${holder.pid}\n`);
  await t.rejects(HeaderStore.open(dir, regtest), { name: 'HeaderStoreLockedError', pid: holder.pid });

  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(join(dir, 'headers.lock'), `${dead}\n`);
  const taken = await HeaderStore.open(dir, regtest);
  t.equal(readFileSync(join(dir, 'headers.lock'), 'utf8'), `${process.pid}\n`, "a dead process's lock is taken over");
  t.equal(taken.tree.size, 4);
  await taken.close();
});

t.test('read-only open of a torn store reports the heal without cutting anything', async (t) => {
  const dir = t.testdir();
  const store = await HeaderStore.open(dir, regtest);
  store.append(syntheticChain(5, 7));
  await store.close();
  const size = statSync(join(dir, DAT)).size;
  truncateSync(join(dir, DAT), size - 10);
  const reader = await HeaderStore.open(dir, regtest, { readOnly: true });
  t.match(reader.heal, { reason: 'torn-tail', keptRecords: 5, droppedRecords: 1 });
  t.equal(reader.tree.size, 5);
  t.equal(statSync(join(dir, DAT)).size, size - 10, 'the file is left as it was');
  t.equal(statSync(join(dir, IDX)).size, HEADER_BYTES + 6 * 68);
  await reader.close();
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

async function writeCopy(dir: string, files: Record<string, Buffer>): Promise<void> {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
}

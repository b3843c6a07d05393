// HeaderFollower writing through a HeaderStore: synced headers reach the files in batches, and a new
// follower on the reopened store resumes from the stored tip instead of from genesis.
import t from 'tap';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Manager } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import { toDisplayHex } from '../../lib/hash.js';
import { HeaderStore } from '../../lib/chain/header-store.js';
import { HeaderFollower } from '../../lib/chain/header-follower.js';
import { startRegtestNode, type RegtestNode, regtestManager } from '../helpers/regtest.js';
import { waitUntil } from '../manager/fixtures/peers.js';

t.test('a store-backed follower persists what it syncs and resumes from the stored tip', { timeout: 120_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'bsv-wire-follower-'));
  let node: RegtestNode | undefined;
  let manager: Manager | undefined;
  let follower: HeaderFollower | undefined;
  let store: HeaderStore | undefined;
  t.teardown(async () => {
    follower?.stop();
    await manager?.stop();
    await store?.close();
    await node?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  node = await startRegtestNode();
  const first = await node.mine(40);
  const newManager = (): Manager =>
    regtestManager([`127.0.0.1:${node!.p2pPort}`]);

  store = await HeaderStore.open(dataDir, regtest);
  manager = newManager();
  follower = new HeaderFollower({ manager, store });
  follower.start();
  await manager.start();
  await waitUntil(() => store!.tree.best.height === 40, 30_000, 'the first sync');
  follower.stop();
  await manager.stop();
  await store.close();
  const idx = await stat(join(dataDir, 'headers.idx'));
  const dat = await stat(join(dataDir, 'headers.dat'));
  t.ok(dat.size >= 41 * 80, `headers.dat holds the 41 headers (${dat.size} bytes)`);
  t.ok(idx.size > 0);

  // Reopen: the tree comes back from disk, and the follower asks only for what is new.
  store = await HeaderStore.open(dataDir, regtest);
  t.equal(store.heal, undefined, 'closed cleanly: nothing to heal');
  t.equal(store.tree.best.height, 40, 'the stored tip');
  t.equal(toDisplayHex(store.tree.best.hash), first.at(-1));
  const more = await node.mine(5);
  manager = newManager();
  follower = new HeaderFollower({ manager, store });
  const heights: number[] = [];
  follower.on('header', (e) => heights.push(e.height));
  let firstLocatorTop: string | undefined;
  manager.on('peer:ready', (peer) => {
    const send = peer.send.bind(peer);
    // Observe (not alter) the first getheaders the follower sends on this connection.
    peer.send = (m) => {
      if (m.command === 'getheaders' && firstLocatorTop === undefined) firstLocatorTop = toDisplayHex(m.locator[0]!);
      return send(m);
    };
  });
  follower.start();
  await manager.start();
  await waitUntil(() => store!.tree.best.height === 45, 30_000, 'the resumed sync');
  t.equal(firstLocatorTop, first.at(-1), 'the first request starts from the stored tip');
  t.same(heights, [41, 42, 43, 44, 45], 'only the new headers are reported');
  t.equal(toDisplayHex(store.tree.best.hash), more.at(-1));
});

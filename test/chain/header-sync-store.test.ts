// README HeaderSync: "each batch of checked headers goes into its tree and then to disk in one write,
// before the batch's events; a failing disk is reported as storeError and the sync goes on in memory".
import t from 'tap';
import { syntheticChain } from '../helpers/synthetic-headers.js';
import { SimNet, SimPeer } from './header-sync-sim.js';

const MAIN = syntheticChain(4500, 1);

t.test('one write per batch, after the batch is in the tree and before its events', async (t) => {
  const log: string[] = [];
  let net: SimNet | undefined = undefined;
  net = new SimNet({ afterBatch: () => log.push(`write ${net!.tree.best.height}`) });
  net.sync.on('tip', (tip) => log.push(`tip ${tip.height}`));
  net.connect(new SimPeer({ id: 'honest', chain: MAIN, latencyMs: 10 }));
  net.run(60_000, () => net!.tree.best.height === 4500 && net!.sync.synced);
  t.equal(net.tree.best.height, 4500);
  const writes = log.filter((l) => l.startsWith('write'));
  t.same(writes, ['write 2000', 'write 4000', 'write 4500'], 'one write per 2000-header batch');
  for (const height of [2000, 4000, 4500]) {
    t.ok(log.indexOf(`write ${height}`) < log.indexOf(`tip ${height}`), `the batch to ${height} is written before its tip event`);
  }
});

t.test('a failing store: storeError for each batch, and the sync goes on in memory', async (t) => {
  const net = new SimNet({
    afterBatch: () => {
      throw new Error('disk full');
    },
  });
  const errors: unknown[] = [];
  net.sync.on('storeError', (err) => errors.push(err));
  net.connect(new SimPeer({ id: 'honest', chain: MAIN, latencyMs: 10 }));
  net.run(60_000, () => net.tree.best.height === 4500 && net.sync.synced);
  t.equal(net.tree.best.height, 4500, 'synced all the same');
  t.equal(errors.length, 3, 'one storeError per batch');
  t.match(errors[0], /disk full/);
  t.equal(net.outputs('misbehavior').length, 0, 'the peer is not blamed for our disk');
  t.ok(net.events.some((e) => e.type === 'tip' && e.entry.height === 4500), 'tip events still come');
});

// MempoolCore under fake time: one fetch per txid whatever the number of announcers, a re-ask of the
// next announcer after 5 s of silence, a notfound or a disconnect, and caches that stay bounded.
import t from 'tap';
import { createHash } from 'node:crypto';
import { MempoolCore, type MempoolOutput } from '../../lib/chain/mempool.js';

const txid = (n: number): Buffer => createHash('sha256').update(`tx${n}`).digest();
const getdatas = (out: MempoolOutput[]) => out.filter((o): o is Extract<MempoolOutput, { type: 'getdata' }> => o.type === 'getdata');
const txs = (out: MempoolOutput[]) => out.filter((o): o is Extract<MempoolOutput, { type: 'tx' }> => o.type === 'tx');

t.test('8 announcers: one getdata, one tx event with the first announcer and the count', async (t) => {
  const core = new MempoolCore();
  const id = txid(1);
  const out: MempoolOutput[] = [];
  for (let p = 0; p < 8; p++) out.push(...core.announce(`p${p}`, [id], 1000 + p));
  t.same(getdatas(out).map((g) => g.peer), ['p0'], 'only the first announcer is asked');
  const delivered = core.received('p0', id, Buffer.from('aa', 'hex'), 1200);
  t.equal(txs(delivered).length, 1);
  t.match(txs(delivered)[0], { firstAnnouncer: 'p0', announcers: 8, peer: 'p0', attempts: 1, announcedAt: 1000, receivedAt: 1200 });
  // Late copies and re-announcements are ignored.
  t.same(core.received('p3', id, Buffer.from('aa', 'hex'), 1300), []);
  t.same(core.announce('p9', [id], 1400), []);
  t.same(core.tick(100_000), []);
  t.match(core.stats(), { inFlight: 0, asking: 0, delivered: 1, seen: 1 });
});

t.test('silent first announcer: the second is asked at 5 s, not before', async (t) => {
  const core = new MempoolCore();
  const id = txid(2);
  core.announce('silent', [id], 0);
  core.announce('good', [id], 10);
  t.same(core.tick(4999), [], 'nothing before the deadline');
  const re = getdatas(core.tick(5000));
  t.same(re.map((g) => [g.peer, g.txids[0]!.equals(id)]), [['good', true]]);
  const d = txs(core.received('good', id, undefined, 5100));
  t.match(d[0], { peer: 'good', firstAnnouncer: 'silent', announcers: 2, attempts: 2 });
  // The silent peer answering late changes nothing.
  t.same(core.received('silent', id, undefined, 6000), []);
  t.equal(core.stats().reasked, 1);
});

t.test('disconnect and notfound: the next announcer is asked at once', async (t) => {
  const core = new MempoolCore();
  const a = txid(3);
  const b = txid(4);
  core.announce('p1', [a, b], 0);
  core.announce('p2', [a], 1);
  core.announce('p3', [b], 2);
  const afterClose = getdatas(core.peerClosed('p1', 100));
  t.same(afterClose.map((g) => g.peer).sort(), ['p2', 'p3']);
  // p3 says notfound for b, and nobody else announced it: lost.
  const nf = core.notFound('p3', [b], 200);
  t.match(nf, [{ type: 'lost', announcers: 2, attempts: 2 }]);
  t.match(txs(core.received('p2', a, undefined, 300))[0], { firstAnnouncer: 'p1', announcers: 2 });
  // A closed peer announcing later (a stale event) is ignored: the next announcer is first and asked.
  const c = txid(5);
  t.same(core.announce('p1', [c], 400), []);
  t.same(getdatas(core.announce('p4', [c], 401)).map((g) => g.peer), ['p4']);
});

t.test('per-peer limit: txids wait at a busy announcer and go out as slots free', async (t) => {
  const core = new MempoolCore({ maxPerPeer: 2 });
  const ids = [txid(10), txid(11), txid(12)];
  const first = getdatas(core.announce('p', ids, 0));
  t.same(first.map((g) => g.txids.length), [2]);
  const next = getdatas(core.received('p', ids[0]!, undefined, 10));
  t.same(next.map((g) => [g.peer, g.txids[0]!.equals(ids[2]!)]), [['p', true]], 'the queued txid is asked when a slot frees');
  // A second announcer with a free slot is asked at once for a txid queued elsewhere.
  const more = [txid(13), txid(14), txid(15)];
  core.announce('p', more, 20);
  const other = getdatas(core.announce('q', [more[2]!], 21));
  t.same(other.map((g) => g.peer), ['q']);
});

t.test('mined: txids seen or in flight are reported, later announcements ignored; rejected never fetched', async (t) => {
  const core = new MempoolCore();
  const [a, b, c, d] = [txid(20), txid(21), txid(22), txid(23)];
  core.announce('p', [a, b], 0);
  core.received('p', a, undefined, 1);
  const block = Buffer.alloc(32, 7);
  const out = core.mined(block, [c, a, b], 2);
  t.match(out, [{ type: 'mined', blockHash: block }]);
  t.same((out[0] as { readonly txids: readonly Buffer[] }).txids.map((x) => x.toString('hex')), [a, b].map((x) => x.toString('hex')));
  t.same(core.announce('p', [c], 3), [], 'a mined txid is not fetched');
  core.reject(d);
  t.same(core.announce('p', [d], 4), []);
  t.equal(core.stats().inFlight, 0);
});

t.test('a flood of 1,000,000 distinct txids from a peer that never delivers: every cache stays within its limit', async (t) => {
  const limits = { maxSeen: 50_000, maxRejected: 10_000, maxInFlight: 20_000, maxPerPeer: 500, maxQueuedPerPeer: 5000 };
  const core = new MempoolCore(limits);
  let now = 0;
  let asked = 0;
  let lost = 0;
  let maxIn = 0;
  const id = Buffer.alloc(32);
  for (let i = 0; i < 1_000_000; i += 1000) {
    const batch: Buffer[] = [];
    for (let j = 0; j < 1000; j++) {
      id.writeUInt32LE(i + j, 0);
      batch.push(Buffer.from(id));
    }
    for (const o of core.announce('flood', batch, now)) if (o.type === 'getdata') asked += o.txids.length;
    // Another peer delivers a share (fills seen) and some get rejected.
    if (i % 5000 === 0) core.received('honest', batch[0]!, undefined, now);
    core.reject(batch[1]!);
    now += 100;
    for (const o of core.tick(now)) {
      if (o.type === 'lost') lost++;
      if (o.type === 'getdata') asked += o.txids.length;
    }
    const s = core.stats();
    maxIn = Math.max(maxIn, s.inFlight);
    if (s.seen > limits.maxSeen || s.rejected > limits.maxRejected || s.inFlight > limits.maxInFlight || s.asking > limits.maxPerPeer) {
      t.fail(`a cache passed its limit: ${JSON.stringify(s)}`);
      return;
    }
  }
  const s = core.stats();
  t.equal(maxIn, limits.maxPerPeer + limits.maxQueuedPerPeer, 'one flooder holds at most its per-peer share of the in-flight set');
  // Honest announcements still get through while the flood goes on.
  const honest = txid(999);
  t.same(getdatas(core.announce('honest', [honest], now)).map((g) => g.peer), ['honest']);
  t.ok(s.overflow > 0, `announcements past the cap are dropped and counted (${s.overflow})`);
  t.ok(asked > 0 && lost > 0, `asked ${asked}, lost ${lost} (the flooder never delivers)`);
  t.ok(s.asking <= limits.maxPerPeer);
});

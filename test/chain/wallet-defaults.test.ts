// README "Wallets": the MempoolWatcher and Broadcaster numbers, checked as behaviour under fake time
// where they are behaviour (5 s re-ask, 8 fallbacks, 20 min broadcast timeout) and as values otherwise.
import t from 'tap';
import { createHash } from 'node:crypto';
import { MempoolCore, type MempoolOutput } from '../../lib/chain/mempool.js';
import { BroadcastCore, type BroadcastOutput } from '../../lib/chain/broadcast.js';
import { rawTransaction } from '../../lib/messages/transaction.js';

const txid = (n: number): Buffer => createHash('sha256').update(`wallet-defaults ${n}`).digest();

t.test('README: bounded caches: maxSeen 100,000, maxInFlight 20,000, fetchTimeoutMs 5,000, 500 per peer, 5,000 queued per peer', async (t) => {
  const core = new MempoolCore();
  t.match(core, { fetchTimeoutMs: 5000, maxInFlight: 20_000, maxPerPeer: 500, maxFallbacks: 8, maxQueuedPerPeer: 5000 });
  // maxSeen: the 100,001st delivered txid makes the first forgotten (so its announcement is fetched again).
  for (let i = 0; i < 100_001; i++) {
    const id = txid(i);
    core.announce('p', [id], 0);
    core.received('p', id, undefined, 0);
  }
  t.equal(core.stats().seen, 100_000, 'seen stays at 100,000');
  t.equal(core.announce('q', [txid(0)], 1).filter((o) => o.type === 'getdata').length, 1, 'the oldest was forgotten');
  t.equal(core.announce('q', [txid(100_000)], 1).length, 0, 'the newest is remembered');
});

t.test('README: a silent announcer is replaced after 5 s, up to 8 fallbacks remembered per txid', async (t) => {
  const core = new MempoolCore();
  const id = txid(-1);
  const asked: string[] = [];
  const collect = (out: MempoolOutput[]): MempoolOutput[] => {
    for (const o of out) if (o.type === 'getdata') asked.push(o.peer);
    return out;
  };
  for (let p = 0; p < 12; p++) collect(core.announce(`p${p}`, [id], 0));
  t.same(asked, ['p0']);
  let lost: MempoolOutput | undefined;
  for (let step = 1; step <= 12 && !lost; step++) {
    t.same(collect(core.tick(step * 5000 - 1)).filter((o) => o.type === 'getdata'), [], `nothing before ${step * 5} s`);
    lost = collect(core.tick(step * 5000)).find((o) => o.type === 'lost');
  }
  t.same(asked, ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'], 'the first announcer, then 8 fallbacks, 5 s apart');
  t.match(lost, { type: 'lost', announcers: 12, attempts: 9 }, 'lost after the 8th fallback stays silent; all 12 announcers counted');
});

t.test('README: a broadcast times out after 20 min by default', async (t) => {
  const core = new BroadcastCore();
  core.peerReady('a');
  core.peerReady('b');
  const raw = Buffer.from('0100000001' + '11'.repeat(32) + '00000000' + '00' + 'ffffffff' + '01' + 'e803000000000000' + '0151' + '00000000', 'hex');
  core.broadcast(rawTransaction(raw), 0);
  const settled = (out: BroadcastOutput[]) => out.filter((o) => o.type === 'settled');
  t.same(settled(core.tick(20 * 60_000 - 1)), [], 'pending 1 ms before 20 min');
  const s = settled(core.tick(20 * 60_000));
  t.equal(s.length, 1);
  t.match(s[0], { type: 'settled', result: { status: 'timeout' } });
});

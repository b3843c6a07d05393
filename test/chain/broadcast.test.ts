// BroadcastCore under fake time: inv to a subset, getdata served, propagated only on echoes from peers
// we never sent the tx to, rebroadcast every 60 s, and settled by a block, a reject, a dsdetected or time.
import t from 'tap';
import { BroadcastCore, type BroadcastOutput, type BroadcastResult } from '../../lib/chain/broadcast.js';
import { rawTransaction, type RawTransaction } from '../../lib/messages/transaction.js';
import type { DsDetectedMessage } from '../../lib/messages/dsdetected.js';

/** A one-input one-output tx spending prev:vout (the bytes are what parseTransaction reads). */
function makeTx(prevByte: number, vout: number, outValue = 1000n): RawTransaction {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const value = Buffer.alloc(8);
  value.writeBigInt64LE(outValue);
  parts.push(u32(1), Buffer.from([1]), Buffer.alloc(32, prevByte), u32(vout), Buffer.from([0]), u32(0xffffffff));
  parts.push(Buffer.from([1]), value, Buffer.from([1, 0x51]), u32(0));
  return rawTransaction(Buffer.concat(parts));
}

const of = <T extends BroadcastOutput['type']>(out: BroadcastOutput[], type: T) => out.filter((o): o is Extract<BroadcastOutput, { type: T }> => o.type === type);

function setup(peers: number, options = {}): BroadcastCore {
  const core = new BroadcastCore(options);
  for (let i = 0; i < peers; i++) core.peerReady(`p${i}`);
  return core;
}

t.test('inv to half the peers; getdata served; echoes from those we sent it to do not count', async (t) => {
  const core = setup(6);
  const tx = makeTx(1, 0);
  const invs = of(core.broadcast(tx, 0), 'inv');
  t.same(invs.map((o) => o.peer), ['p0', 'p1', 'p2']);
  t.throws(() => core.broadcast(tx, 1), /already/);
  const served = of(core.getdata('p0', [tx.txid], 10), 'tx');
  t.equal(served.length, 1);
  t.ok(served[0]!.tx.raw.equals(tx.raw));
  t.same(core.getdata('p0', [Buffer.alloc(32)], 11), [], 'unknown txids are not served');
  // p0 was sent it: its echo is not evidence of propagation.
  t.same(core.inv('p0', [tx.txid], 20), []);
  // p1 was announced to but never took it: it got it elsewhere, so it counts; one echo is not enough.
  t.same(core.inv('p1', [tx.txid], 30), []);
  const done = of(core.inv('p4', [tx.txid], 40), 'propagated');
  t.equal(done.length, 1);
  const r = done[0]!.result;
  t.match(r, { status: 'propagated', echoes: 2, propagatedAt: 40, startedAt: 0 });
  t.match(r.peers.find((p) => p.peer === 'p0'), { role: 'announced', sentAt: 10, echoedAt: 20 });
  t.match(r.peers.find((p) => p.peer === 'p4'), { role: 'witness', echoedAt: 40 });
  t.same(core.inv('p5', [tx.txid], 50), [], 'propagated once');
});

t.test('rebroadcast every 60 s to announced peers that did not take it, until mined', async (t) => {
  const core = setup(4, { rebroadcastMs: 60_000 });
  const tx = makeTx(2, 1);
  core.broadcast(tx, 0);
  core.getdata('p0', [tx.txid], 5);
  t.same(core.tick(59_999), []);
  t.same(of(core.tick(60_000), 'inv').map((o) => o.peer), ['p1'], 'p0 has it; p1 is asked again');
  // p1 leaves: the next rebroadcast keeps two announced peers by telling a new one.
  core.peerClosed('p1');
  core.peerReady('p9');
  t.same(of(core.tick(120_000), 'inv').map((o) => o.peer), ['p9']);
  const settled = of(core.mined(Buffer.alloc(32, 9), [Buffer.alloc(32), tx.txid], 130_000), 'settled');
  t.match(settled[0]!.result, { status: 'mined', rebroadcasts: 2, settledAt: 130_000 });
  t.ok(settled[0]!.result.minedIn!.equals(Buffer.alloc(32, 9)));
  t.same(core.tick(200_000), [], 'nothing more once mined');
  t.equal(core.active, 0);
});

t.test('reject, dsdetected and timeout settle it', async (t) => {
  const core = setup(2, { timeoutMs: 600_000 });
  const a = makeTx(3, 0);
  const b = makeTx(4, 7);
  const c = makeTx(5, 0);
  core.broadcast(a, 0);
  core.broadcast(b, 0);
  core.broadcast(c, 0);
  t.same(core.reject('p0', 'block', a.txid, 'x', 1), [], 'a block reject is not about our tx');
  const rejected = of(core.reject('p0', 'tx', a.txid, 'insufficient fee', 2), 'settled');
  t.match(rejected[0]!.result, { status: 'rejected', rejection: { peer: 'p0', reason: 'insufficient fee' } });
  // A conflicting spend of b's outpoint in a dsdetected; c's outpoint is untouched.
  const conflict = makeTx(4, 7, 999n);
  const ds: DsDetectedMessage = {
    command: 'dsdetected',
    version: 1,
    blocks: [{ headers: [], proof: { flags: 5, index: 1, txOrId: conflict, target: Buffer.alloc(32), nodes: [] } }],
  };
  const dsOut = of(core.dsDetected('p1', ds, 3), 'settled');
  t.equal(dsOut.length, 1);
  t.match(dsOut[0]!.result, { status: 'rejected', rejection: { peer: 'p1' } });
  t.ok(dsOut[0]!.result.txid.equals(b.txid));
  const late: BroadcastResult[] = of(core.tick(600_000), 'settled').map((o) => o.result);
  t.same(late.map((r) => [r.txid.equals(c.txid), r.status]), [[true, 'timeout']]);
});

t.test('announced peers that never ask for it: each rebroadcast tells one more (a witness that has not echoed)', async (t) => {
  const core = setup(4);
  const tx = makeTx(7, 0);
  t.same(of(core.broadcast(tx, 0), 'inv').map((o) => o.peer), ['p0', 'p1']);
  core.inv('p2', [tx.txid], 10); // p2 echoes (it has it from elsewhere): it stays a witness
  t.same(of(core.tick(60_000), 'inv').map((o) => o.peer), ['p0', 'p1', 'p3']);
  core.getdata('p3', [tx.txid], 60_100);
  t.same(of(core.tick(120_000), 'inv').map((o) => o.peer), ['p0', 'p1'], 'once one took it, no more peers are added');
});

t.test('no ready peer: broadcast throws', async (t) => {
  t.throws(() => new BroadcastCore().broadcast(makeTx(6, 0), 0), /no ready peer/);
});

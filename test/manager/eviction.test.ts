import t from 'tap';
import { decideEviction, selectEvictionVictim, type EvictionCandidate } from '../../lib/manager/eviction.js';

const key = Buffer.alloc(32, 7);

function peer(id: string, netgroup: string, connectedAt: number, extra: Partial<EvictionCandidate> = {}): EvictionCandidate {
  return { id, netgroup, connectedAt, minPingMs: 50, lastBlockAt: 0, lastTxAt: 0, ...extra };
}

t.test('nothing to evict: empty, or everyone protected', async (t) => {
  t.equal(selectEvictionVictim([]), undefined);
  const few = [peer('a', 'g1', 1), peer('b', 'g2', 2), peer('c', 'g3', 3)];
  t.equal(selectEvictionVictim(few, { netgroupKey: key }), undefined, 'three peers in three groups are all netgroup-protected');
  t.equal(selectEvictionVictim([peer('x', 'g', 1, { protected: true })], { protectByNetgroup: 0, protectByPing: 0, protectLongestFraction: 0 }), undefined);
});

t.test('the youngest peer of the most crowded netgroup goes', async (t) => {
  const none = { netgroupKey: key, protectByNetgroup: 0, protectByPing: 0, protectByTx: 0, protectByBlock: 0, protectLongestFraction: 0 };
  const peers = [peer('a1', 'A', 1), peer('b1', 'B', 2), peer('a2', 'A', 3), peer('b2', 'B', 4), peer('a3', 'A', 5), peer('c1', 'C', 6)];
  t.equal(selectEvictionVictim(peers, none)?.id, 'a3', 'A has three; its youngest is a3 (not the overall youngest c1)');
  // Tie on size: the group whose youngest member is youngest.
  const tie = [peer('a1', 'A', 1), peer('b1', 'B', 2), peer('a2', 'A', 3), peer('b2', 'B', 9)];
  t.equal(selectEvictionVictim(tie, none)?.id, 'b2');
});

t.test('each protection round keeps its peers', async (t) => {
  // 20 peers, all in one netgroup except the listed ones; default rounds (4 netgroup, 8 ping, 4 tx, 4 block, half by age).
  const peers: EvictionCandidate[] = [];
  for (let i = 0; i < 30; i++) peers.push(peer(`p${i}`, 'crowd', 1000 + i, { minPingMs: 100 + i }));
  peers.push(peer('fast', 'crowd', 5000, { minPingMs: 1 }));
  peers.push(peer('txer', 'crowd', 5001, { lastTxAt: 9000, minPingMs: 900 }));
  peers.push(peer('blocker', 'crowd', 5002, { lastBlockAt: 9000, minPingMs: 900 }));
  peers.push(peer('loner', 'rare', 5003, { minPingMs: 900 }));
  peers.push(peer('noping', 'crowd', 5004, { minPingMs: undefined }));
  const d = decideEviction(peers, { netgroupKey: key });
  t.equal(d.protectedBy.get('fast'), 'ping', 'lowest ping');
  t.equal(d.protectedBy.get('txer'), 'tx', 'recent transaction sender');
  t.equal(d.protectedBy.get('blocker'), 'block', 'recent block sender');
  t.equal(d.protectedBy.get('loner'), 'netgroup', 'only peer of its netgroup');
  t.equal(d.protectedBy.get('p0'), 'netgroup', 'the oldest of the crowded group holds its netgroup place');
  t.equal(d.protectedBy.get('p1'), 'ping', 'next lowest pings');
  t.equal(d.protectedBy.get('p7'), 'ping');
  t.equal(d.protectedBy.get('p8'), 'longest', 'then the oldest half of the rest');
  t.ok(d.victim, 'someone is evictable');
  t.equal(d.victim!.id, 'noping', 'the youngest unprotected peer of the crowded group');
  t.notOk(d.protectedBy.has(d.victim!.id));
  const protectedCount = d.protectedBy.size;
  // 35 peers: 2 netgroup + 8 ping + 1 tx + 1 block = 12; half of the remaining 23 = 11.
  t.equal(protectedCount, 23);
});

t.test('netgroup protection is one per group and keyed', async (t) => {
  const peers = [peer('a1', 'A', 1), peer('a2', 'A', 2), peer('b1', 'B', 3), peer('c1', 'C', 4), peer('d1', 'D', 5), peer('e1', 'E', 6), peer('f1', 'F', 7)];
  const opts = { protectByPing: 0, protectByTx: 0, protectByBlock: 0, protectLongestFraction: 0, protectByNetgroup: 2 };
  const chosen = new Set<string>();
  for (let k = 0; k < 20; k++) {
    const d = decideEviction(peers, { ...opts, netgroupKey: Buffer.alloc(32, k) });
    const groups = [...d.protectedBy.keys()].map((id) => peers.find((p) => p.id === id)!.netgroup);
    t.equal(new Set(groups).size, groups.length, 'distinct netgroups');
    t.equal(groups.length, 2);
    t.notOk(d.protectedBy.has('a2'), 'never the younger peer of a group');
    for (const g of groups) chosen.add(g);
  }
  t.ok(chosen.size > 2, `different keys protect different groups (${[...chosen].join(',')})`);
  const again = decideEviction(peers, { ...opts, netgroupKey: key });
  t.same([...again.protectedBy.keys()], [...decideEviction(peers, { ...opts, netgroupKey: key }).protectedBy.keys()], 'same key, same choice');
});

t.test('input is not modified', async (t) => {
  const peers = Object.freeze([peer('a', 'A', 2), peer('b', 'A', 1), peer('c', 'A', 3)]);
  const before = peers.map((p) => p.id);
  selectEvictionVictim(peers, { netgroupKey: key, protectByNetgroup: 0, protectByPing: 0, protectLongestFraction: 0 });
  t.same(peers.map((p) => p.id), before);
});

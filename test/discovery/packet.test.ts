import t from 'tap';
import { decode, encode, type Answer } from 'dns-packet';
import { addressesFrom, buildQuery, isReplyTo, rcodeOf, tryDecode, randomQueryId } from '../../lib/discovery/packet.js';

const reply = (id: number, name: string, type: 'A' | 'AAAA', answers: Answer[], flags = 0) =>
  decode(encode({ type: 'response', id, flags, questions: [{ type, name, class: 'IN' }], answers }));

t.test('queries ask one recursive question under the given id', (t) => {
  const q = decode(buildQuery(0xbeef, 'seed.test', 'AAAA'));
  t.equal(q.id, 0xbeef);
  t.equal(q.type, 'query');
  t.ok(q.flag_rd);
  t.same(q.questions, [{ name: 'seed.test', type: 'AAAA', class: 'IN' }]);
  const ids = new Set(Array.from({ length: 64 }, () => randomQueryId()));
  t.ok([...ids].every((id) => Number.isInteger(id) && id >= 0 && id <= 0xffff));
  t.ok(ids.size > 1, 'ids vary');
  t.end();
});

t.test('a reply must echo id, question name (any case), type and be a response', (t) => {
  const ok = reply(7, 'Seed.Test', 'A', []);
  t.ok(isReplyTo(ok, 7, 'seed.test.', 'A'));
  t.notOk(isReplyTo(ok, 8, 'seed.test', 'A'), 'other id');
  t.notOk(isReplyTo(ok, 7, 'other.test', 'A'), 'other name');
  t.notOk(isReplyTo(ok, 7, 'seed.test', 'AAAA'), 'other type');
  t.notOk(isReplyTo(decode(buildQuery(7, 'seed.test', 'A')), 7, 'seed.test', 'A'), 'a query is not a reply');
  t.end();
});

t.test('rcode names and undecodable bytes', (t) => {
  t.equal(rcodeOf(reply(1, 'a.test', 'A', [], 3)), 'NXDOMAIN');
  t.equal(rcodeOf(reply(1, 'a.test', 'A', [], 2)), 'SERVFAIL');
  t.equal(rcodeOf(reply(1, 'a.test', 'A', [], 0)), 'NOERROR');
  t.equal(tryDecode(Buffer.alloc(5)), undefined);
  const lying = Buffer.from('0001818000ff000000000000', 'hex');
  t.equal(tryDecode(lying), undefined, 'counts beyond the bytes');
  t.end();
});

t.test('addresses: only the asked type, for the asked name or its CNAME chain, valid for the family', (t) => {
  const answers: Answer[] = [
    { type: 'A', name: 'seed.test', ttl: 10, data: '127.0.0.1' },
    { type: 'A', name: 'elsewhere.test', ttl: 10, data: '127.0.0.99' },
    { type: 'CNAME', name: 'seed.test', ttl: 10, data: 'alias.test' },
    { type: 'CNAME', name: 'alias.test', ttl: 10, data: 'seed.test' },
    { type: 'A', name: 'ALIAS.test', ttl: 20, data: '127.0.0.2' },
    { type: 'AAAA', name: 'seed.test', ttl: 30, data: '::1' },
  ];
  const packet = reply(1, 'seed.test', 'A', answers);
  t.same(addressesFrom(packet, 'seed.test', 'A'), [
    { address: '127.0.0.1', ttl: 10 },
    { address: '127.0.0.2', ttl: 20 },
  ], 'a CNAME loop terminates; unrelated names are ignored');
  t.same(addressesFrom(packet, 'seed.test', 'AAAA'), [{ address: '::1', ttl: 30 }]);
  t.end();
});

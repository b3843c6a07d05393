// README "Replies are matched to requests": a reply builds on one of the locator hashes (or is empty),
// so a sendheaders announcement arriving meanwhile is not taken for it (isHeadersReply, public).
import t from 'tap';
import { isHeadersReply } from '../../lib/index.js';
import { syntheticChain, regtestGenesisHash } from '../helpers/synthetic-headers.js';

const chain = syntheticChain(30, 3);
const hashAt = (h: number): Buffer => (h === 0 ? regtestGenesisHash : chain[h - 1]!.hash);
const headersFrom = (h: number, n: number) => chain.slice(h, h + n).map((x) => x.header); // heights h+1 .. h+n

t.test('a reply builds on one of the locator hashes', (t) => {
  const locator = [hashAt(20), hashAt(10), hashAt(0)];
  t.ok(isHeadersReply(locator, Buffer.alloc(32), headersFrom(20, 5)), 'on the first locator hash');
  t.ok(isHeadersReply(locator, Buffer.alloc(32), headersFrom(10, 5)), 'on a later one (a fork point)');
  t.notOk(isHeadersReply(locator, Buffer.alloc(32), headersFrom(25, 1)), 'an announcement of a newer block is not the reply');
  t.notOk(isHeadersReply(locator, Buffer.alloc(32), headersFrom(21, 3)), 'headers building on a hash not in the locator');
  t.end();
});

t.test('an empty headers message is a reply (the peer has nothing past our locator)', (t) => {
  t.ok(isHeadersReply([hashAt(20)], Buffer.alloc(32), []));
  t.end();
});

t.test('the locator may be a set of hex hashes', (t) => {
  const set = new Set([hashAt(20).toString('hex')]);
  t.ok(isHeadersReply(set, Buffer.alloc(32), headersFrom(20, 2)));
  t.notOk(isHeadersReply(set, Buffer.alloc(32), headersFrom(22, 2)));
  t.end();
});

t.test('an empty locator asks for the stop header alone', (t) => {
  const stop = hashAt(7);
  t.ok(isHeadersReply([], stop, headersFrom(6, 1)), 'exactly the stop header');
  t.notOk(isHeadersReply([], stop, headersFrom(5, 1)), 'another header');
  t.notOk(isHeadersReply([], stop, headersFrom(6, 2)), 'more than one');
  t.end();
});

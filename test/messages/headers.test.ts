import t from 'tap';
import { headersCodec, MAX_HEADERS_PER_MESSAGE, type HeadersEntry } from '../../lib/messages/headers.js';
import { blockHash } from '../../lib/messages/block-header.js';
import { messageToJSON } from '../../lib/messages/index.js';
import { toDisplayHex } from '../../lib/hash.js';
import { checkCodec } from '../helpers/codec.js';
import { expectDecodeError } from './expect-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const genesisHeader = hex(
  '01000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a' +
    '29ab5f49 ffff001d 1dac2b7c',
);

t.test('headers with the mainnet genesis header', (t) => {
  const bytes = Buffer.concat([hex('01'), genesisHeader, hex('00')]);
  const m = headersCodec.decode(bytes);
  t.equal(m.headers.length, 1);
  const h = m.headers[0]!;
  t.equal(h.version, 1);
  t.equal(h.timestamp, 1231006505);
  t.equal(h.bits, 0x1d00ffff);
  t.equal(h.nonce, 2083236893);
  t.equal(h.txCount, 0);
  t.equal(toDisplayHex(blockHash(h)), '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
  t.same(headersCodec.encode(m), bytes);
  const json = messageToJSON(m) as { headers: { hash: string; txCount: number; merkleRoot: string }[] };
  t.equal(json.headers[0]!.hash, '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
  t.equal(json.headers[0]!.merkleRoot, '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b');
  t.equal(json.headers[0]!.txCount, 0);
  t.end();
});

t.test('a non-zero txcount is kept (the node ignores it)', (t) => {
  const bytes = Buffer.concat([hex('01'), genesisHeader, hex('fd0001')]);
  const m = headersCodec.decode(bytes);
  t.equal(m.headers[0]!.txCount, 256);
  t.same(headersCodec.encode(m), bytes);
  expectDecodeError(t, () => headersCodec.decode(Buffer.concat([hex('01'), genesisHeader, hex('fd0100')])), { command: 'headers', field: 'headers[0].txCount', reason: 'non-canonical' }, 'non-canonical txcount');
  t.end();
});

t.test('count bounds', (t) => {
  const err = expectDecodeError(t, () => headersCodec.decode(hex('feffffffff')), { command: 'headers', field: 'count', reason: 'truncated' }, '2^32-1 headers claimed');
  t.match(err?.message, /entries of >= 81 bytes/);
  expectDecodeError(t, () => headersCodec.decode(Buffer.concat([hex('02'), genesisHeader, hex('00'), Buffer.alloc(80)])), { command: 'headers', field: 'count', reason: 'truncated' }, '2 headers in 161 bytes');
  const header = headersCodec.decode(Buffer.concat([hex('01'), genesisHeader, hex('00')])).headers[0]!;
  const many = { command: 'headers' as const, headers: Array.from({ length: MAX_HEADERS_PER_MESSAGE + 1 }, () => header) };
  t.equal(headersCodec.decode(headersCodec.encode(many)).headers.length, 2001, 'more than 2000 decodes; the peer layer scores it');
  t.end();
});

t.test('round trips', (t) => {
  const base = headersCodec.decode(Buffer.concat([hex('01'), genesisHeader, hex('00')])).headers[0]!;
  const extreme: HeadersEntry = {
    version: -0x80000000,
    prevBlock: Buffer.alloc(32, 0xff),
    merkleRoot: Buffer.alloc(32, 1),
    timestamp: 0xffffffff,
    bits: 0,
    nonce: 0xffffffff,
    txCount: 0xffffffff,
  };
  checkCodec(t, headersCodec, [
    { command: 'headers', headers: [] },
    { command: 'headers', headers: [base] },
    { command: 'headers', headers: [base, extreme, { ...base, txCount: 70000 }] },
  ]);
  t.end();
});

t.test('one-byte and wider tx counts mixed in one message decode alike, and damage after them is still named', (t) => {
  const bytes = Buffer.concat([hex('04'), genesisHeader, hex('00'), genesisHeader, hex('fd0001'), genesisHeader, hex('fc'), genesisHeader, hex('00')]);
  const m = headersCodec.decode(bytes);
  t.same(m.headers.map((h) => h.txCount), [0, 256, 0xfc, 0]);
  t.equal(toDisplayHex(blockHash(m.headers[3]!)), '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
  t.same(headersCodec.encode(m), bytes, 'the same bytes back');
  expectDecodeError(t, () => headersCodec.decode(Buffer.concat([bytes, hex('00')])), { command: 'headers', field: 'end', reason: 'trailing-bytes' }, 'a byte after the last entry');
  // Three whole entries, then a fourth whose tx count is missing: count() passes (4 × 81 bytes are there), the entry does not.
  const short = Buffer.concat([hex('04'), genesisHeader, hex('00'), genesisHeader, hex('00'), genesisHeader, hex('00'), genesisHeader, hex('fd')]);
  expectDecodeError(t, () => headersCodec.decode(short), { command: 'headers', field: 'headers[3].txCount', reason: 'truncated' }, 'a cut tx count after fast-path entries');
  t.end();
});

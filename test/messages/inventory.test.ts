import t from 'tap';
import {
  getDataCodec,
  inventoryTypeName,
  invCodec,
  MSG_BLOCK,
  MSG_CMPCT_BLOCK,
  MSG_DATAREF_TX,
  MSG_FILTERED_BLOCK,
  MSG_TX,
  notFoundCodec,
  type InventoryMessage,
} from '../../lib/messages/inventory.js';
import type { MessageCodec } from '../../lib/messages/codec.js';
import { messageToJSON } from '../../lib/messages/index.js';
import { fromDisplayHex } from '../../lib/hash.js';
import { checkCodec } from '../helpers/codec.js';
import { expectDecodeError } from './expect-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const genesis = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f';

t.test('constants', (t) => {
  t.same([MSG_TX, MSG_BLOCK, MSG_FILTERED_BLOCK, MSG_CMPCT_BLOCK, MSG_DATAREF_TX], [1, 2, 3, 4, 5]);
  t.equal(inventoryTypeName(2), 'MSG_BLOCK');
  t.equal(inventoryTypeName(0x40000001), 'unknown(1073741825)');
  t.end();
});

t.test('an inv of the genesis block, byte by byte', (t) => {
  const bytes = Buffer.concat([hex('01 02000000'), fromDisplayHex(genesis)]);
  t.equal(bytes.length, 37);
  const m = invCodec.decode(bytes);
  t.same(m, { command: 'inv', inventory: [{ type: MSG_BLOCK, hash: fromDisplayHex(genesis) }] });
  t.same(messageToJSON(m), { command: 'inv', inventory: [{ type: 2, typeName: 'MSG_BLOCK', hash: genesis }] }, 'display-order hash');
  t.same(invCodec.encode(m), bytes);
  t.end();
});

t.test('varint bomb: 2^32-1 entries claimed in 5 bytes fails on the count, before allocating', (t) => {
  for (const codec of [invCodec, getDataCodec, notFoundCodec]) {
    const bomb = hex('feffffffff');
    const err = expectDecodeError(t, () => codec.decode(bomb), { command: codec.command, field: 'count', reason: 'truncated' }, `${codec.command} bomb`);
    // The message proves the check was count × 36 against what is left, not a failed read of entry 0.
    t.match(err?.message, /4294967295 entries of >= 36 bytes/, `${codec.command}: refused on the count`);
    // Even with some real bytes behind it, the claim is refused up front.
    const partial = Buffer.concat([hex('fd1027'), Buffer.alloc(36 * 9999)]);
    expectDecodeError(t, () => codec.decode(partial), { command: codec.command, field: 'count', reason: 'truncated' }, `${codec.command} 10000 claimed, 9999 present`);
  }
  expectDecodeError(t, () => invCodec.decode(hex('ffffffffffffffffff')), { command: 'inv', field: 'count', reason: 'too-large' }, 'count above 2^32-1');
  t.end();
});

t.test('non-canonical CompactSize counts are refused', (t) => {
  const entry = Buffer.concat([hex('01000000'), Buffer.alloc(32)]);
  for (const prefix of ['fd0100', 'fe01000000', 'ff0100000000000000', 'fdfc00']) {
    expectDecodeError(t, () => invCodec.decode(Buffer.concat([hex(prefix), entry])), { command: 'inv', field: 'count', reason: 'non-canonical' }, `count ${prefix}`);
  }
  t.same(invCodec.decode(Buffer.concat([hex('01'), entry])).inventory.length, 1, 'canonical 1 accepted');
  expectDecodeError(t, () => invCodec.decode(Buffer.concat([hex('01'), entry, hex('00')])), { command: 'inv', field: 'end', reason: 'trailing-bytes' }, 'trailing byte');
  t.end();
});

t.test('round trips', (t) => {
  const hashes = Array.from({ length: 300 }, (_, i) => Buffer.alloc(32, i & 0xff));
  const roundTrips = <C extends 'inv' | 'getdata' | 'notfound'>(codec: MessageCodec<InventoryMessage<C>>): void => {
    checkCodec(t, codec, [
      { command: codec.command, inventory: [] },
      { command: codec.command, inventory: [{ type: 0xffffffff, hash: Buffer.alloc(32, 0xff) }, { type: 0, hash: Buffer.alloc(32) }] },
    ]);
    // 300 entries: the count takes the 3-byte CompactSize form.
    const big = { command: codec.command, inventory: hashes.map((hash, i) => ({ type: (i % 5) + 1, hash })) };
    const bytes = codec.encode(big);
    t.equal(bytes.length, 3 + 300 * 36);
    t.same(codec.decode(bytes), big, `${codec.command}: 300 entries`);
  };
  roundTrips(invCodec);
  roundTrips(getDataCodec);
  roundTrips(notFoundCodec);
  t.end();
});

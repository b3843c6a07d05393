import t from 'tap';
import { filterAddCodec, filterLoadCodec, MAX_BLOOM_FILTER_SIZE, MAX_FILTER_ADD_SIZE } from '../../lib/messages/bloom.js';
import { checkCodec } from '../helpers/codec.js';
import { expectDecodeError, expectEncodeError } from './expect-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('filterload', (t) => {
  // BIP37 example layout: 2-byte filter, 11 hash funcs, tweak 5, BLOOM_UPDATE_ALL.
  const bytes = hex('02 b50f 0b000000 05000000 01');
  t.same(filterLoadCodec.decode(bytes), { command: 'filterload', filter: hex('b50f'), hashFuncs: 11, tweak: 5, flags: 1 });
  const over = Buffer.concat([hex('fda98c'), Buffer.alloc(36_001), Buffer.alloc(9)]);
  expectDecodeError(t, () => filterLoadCodec.decode(over), { command: 'filterload', field: 'filter', reason: 'too-large' }, '36,001-byte filter');
  expectEncodeError(t, () => filterLoadCodec.encode({ command: 'filterload', filter: Buffer.alloc(36_001), hashFuncs: 1, tweak: 0, flags: 0 }), 'filter', 'encoding 36,001 bytes');
  checkCodec(t, filterLoadCodec, [
    { command: 'filterload', filter: Buffer.alloc(0), hashFuncs: 0, tweak: 0, flags: 0 },
    { command: 'filterload', filter: hex('b50f'), hashFuncs: 0xffffffff, tweak: 0xffffffff, flags: 255 },
  ]);
  const max = { command: 'filterload' as const, filter: Buffer.alloc(MAX_BLOOM_FILTER_SIZE, 0xaa), hashFuncs: 50, tweak: 7, flags: 2 };
  t.same(filterLoadCodec.decode(filterLoadCodec.encode(max)), max, '36,000 bytes allowed');
  t.end();
});

t.test('filteradd', (t) => {
  t.same(filterAddCodec.decode(hex('03 010203')), { command: 'filteradd', data: hex('010203') });
  expectDecodeError(t, () => filterAddCodec.decode(Buffer.concat([hex('fd0902'), Buffer.alloc(521)])), { command: 'filteradd', field: 'data', reason: 'too-large' }, '521 bytes');
  expectDecodeError(t, () => filterAddCodec.decode(hex('03 0102')), { command: 'filteradd', field: 'data', reason: 'truncated' }, 'short data');
  checkCodec(t, filterAddCodec, [
    { command: 'filteradd', data: Buffer.alloc(0) },
    { command: 'filteradd', data: Buffer.alloc(MAX_FILTER_ADD_SIZE, 1) },
  ]);
  t.end();
});

import t from 'tap';
import { alertCodec, feeFilterCodec, sendCmpctCodec } from '../../lib/messages/control.js';
import { mempoolCodec } from '../../lib/messages/mempool.js';
import { messageFromJSON, messageToJSON } from '../../lib/messages/index.js';
import { checkCodec } from '../helpers/codec.js';
import { expectDecodeError } from './expect-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('feefilter: i64 sat/kB', (t) => {
  // The IBD value the node sends (PROTOCOL.md §6.9): 9,577,383 = 0x0092_23a7.
  const bytes = hex('a723920000000000');
  t.same(feeFilterCodec.decode(bytes), { command: 'feefilter', feeRate: 9_577_383n });
  t.same(messageToJSON(feeFilterCodec.decode(bytes)), { command: 'feefilter', feeRate: '9577383' });
  expectDecodeError(t, () => feeFilterCodec.decode(hex('00000000000000')), { command: 'feefilter', field: 'feeRate', reason: 'truncated' }, '7 bytes');
  expectDecodeError(t, () => feeFilterCodec.decode(hex('000000000000000000')), { command: 'feefilter', field: 'end', reason: 'trailing-bytes' }, '9 bytes');
  checkCodec(t, feeFilterCodec, [
    { command: 'feefilter', feeRate: 0n },
    { command: 'feefilter', feeRate: -1n },
    { command: 'feefilter', feeRate: (1n << 63n) - 1n },
    { command: 'feefilter', feeRate: -(1n << 63n) },
  ]);
  t.end();
});

t.test('sendcmpct: bool announce, u64 version', (t) => {
  const bytes = hex('00 0100000000000000');
  t.same(sendCmpctCodec.decode(bytes), { command: 'sendcmpct', announce: false, version: 1n }, 'what the node sends after verack');
  t.equal(sendCmpctCodec.decode(hex('02 0100000000000000')).announce, true, 'any non-zero byte is true');
  checkCodec(t, sendCmpctCodec, [
    { command: 'sendcmpct', announce: false, version: 1n },
    { command: 'sendcmpct', announce: true, version: (1n << 64n) - 1n },
  ]);
  t.end();
});

t.test('mempool: legacy, extended without age, extended with age', (t) => {
  t.same(mempoolCodec.decode(Buffer.alloc(0)), { command: 'mempool' }, 'legacy: empty payload');
  t.equal(mempoolCodec.decode(Buffer.alloc(0)).age, undefined);
  t.same(mempoolCodec.decode(hex('00')), { command: 'mempool', age: null }, 'flag 0: no age');
  t.same(mempoolCodec.decode(hex('01 100e000000000000')), { command: 'mempool', age: 3600n }, 'flag 1 + i64 age');
  t.same(mempoolCodec.encode({ command: 'mempool' }), Buffer.alloc(0));
  t.same(mempoolCodec.encode({ command: 'mempool', age: null }), hex('00'));
  t.same(mempoolCodec.encode({ command: 'mempool', age: 3600n }), hex('01 100e000000000000'));
  expectDecodeError(t, () => mempoolCodec.decode(hex('01 100e0000')), { command: 'mempool', field: 'age', reason: 'truncated' }, 'short age');
  expectDecodeError(t, () => mempoolCodec.decode(hex('00 00')), { command: 'mempool', field: 'end', reason: 'trailing-bytes' }, 'flag 0 then a byte');
  t.same(messageToJSON({ command: 'mempool', age: null }), { command: 'mempool', age: null });
  t.same(messageFromJSON({ command: 'mempool', age: null }), { command: 'mempool', age: null });
  t.same(messageFromJSON({ command: 'mempool' }), { command: 'mempool' });
  checkCodec(t, mempoolCodec, [
    { command: 'mempool' },
    { command: 'mempool', age: null },
    { command: 'mempool', age: 0n },
    { command: 'mempool', age: -(1n << 63n) },
    { command: 'mempool', age: (1n << 63n) - 1n },
  ]);
  t.end();
});

t.test('alert is opaque', (t) => {
  const blob = hex('73010000003766404f00000000b305434f00000000f2030000f1030000001027000048ee00000064000000004653656520626974636f696e2e6f72672f666562323020696620796f7520686176652074726f75626c6520636f6e6e656374696e67206166746572203230204665627275617279004730450221008389df45f0703f39ec8c1cc42c13810ffcae14995bb648340219e353b63b53eb022009ec65e1c1aaeec1fd334c6b684bde2b3f573060d5b70c3a46723326e4e8a4f1');
  t.same(alertCodec.decode(blob), { command: 'alert', payload: blob });
  checkCodec(t, alertCodec, [
    { command: 'alert', payload: Buffer.alloc(0) },
    { command: 'alert', payload: blob },
  ]);
  t.end();
});

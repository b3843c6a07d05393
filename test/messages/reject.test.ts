import t from 'tap';
import {
  rejectCodeName,
  rejectCodec,
  REJECT_INVALID,
  REJECT_MALFORMED,
  REJECT_TOOBUSY,
} from '../../lib/messages/reject.js';
import { messageToJSON } from '../../lib/messages/index.js';
import { fromDisplayHex } from '../../lib/hash.js';
import { checkCodec } from '../helpers/codec.js';
import { expectDecodeError, expectEncodeError } from './expect-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const txid = fromDisplayHex('4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b');

t.test('a tx reject with the txid', (t) => {
  const bytes = Buffer.concat([hex('02'), Buffer.from('tx'), hex('10 12'), Buffer.from('bad-txns-vin-empty'), txid]);
  const m = rejectCodec.decode(bytes);
  t.same(m, { command: 'reject', message: 'tx', code: REJECT_INVALID, reason: 'bad-txns-vin-empty', hash: txid });
  t.same(rejectCodec.encode(m), bytes);
  t.same(messageToJSON(m), {
    command: 'reject',
    message: 'tx',
    code: 16,
    codeName: 'INVALID',
    reason: 'bad-txns-vin-empty',
    hash: '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b',
  });
  t.end();
});

t.test('the node’s own MALFORMED reject of a tx carries no hash', (t) => {
  const bytes = Buffer.concat([hex('02'), Buffer.from('tx'), hex('01 15'), Buffer.from('error parsing message')]);
  const m = rejectCodec.decode(bytes);
  t.same(m, { command: 'reject', message: 'tx', code: REJECT_MALFORMED, reason: 'error parsing message' });
  t.equal(m.hash, undefined);
  t.same(rejectCodec.encode(m), bytes);
  t.end();
});

t.test('a getdata TOOBUSY reject', (t) => {
  const reason = "Max blocks' downloading size exceeded.";
  const bytes = Buffer.concat([hex('07'), Buffer.from('getdata'), hex('44'), Buffer.from([reason.length]), Buffer.from(reason)]);
  const m = rejectCodec.decode(bytes);
  t.equal(m.code, REJECT_TOOBUSY);
  t.equal(rejectCodeName(m.code), 'TOOBUSY');
  t.equal(rejectCodeName(0x99), 'unknown(0x99)');
  t.equal(m.reason, reason);
  t.end();
});

t.test('limits and malformed payloads', (t) => {
  const long = Buffer.concat([hex('0d'), Buffer.alloc(13, 0x61), hex('10 00')]);
  expectDecodeError(t, () => rejectCodec.decode(long), { command: 'reject', field: 'message', reason: 'too-large' }, '13-byte command');
  const longReason = Buffer.concat([hex('02'), Buffer.from('tx'), hex('10 70'), Buffer.alloc(112, 0x61)]);
  expectDecodeError(t, () => rejectCodec.decode(longReason), { command: 'reject', field: 'reason', reason: 'too-large' }, '112-byte reason');
  const okReason = Buffer.concat([hex('02'), Buffer.from('tx'), hex('10 6f'), Buffer.alloc(111, 0x61)]);
  t.equal(rejectCodec.decode(okReason).reason.length, 111, '111 bytes allowed');
  expectDecodeError(t, () => rejectCodec.decode(Buffer.concat([okReason, Buffer.alloc(31)])), { command: 'reject', field: 'hash', reason: 'truncated' }, 'partial hash');
  expectDecodeError(t, () => rejectCodec.decode(Buffer.concat([okReason, Buffer.alloc(33)])), { command: 'reject', field: 'end', reason: 'trailing-bytes' }, 'hash plus a byte');
  expectEncodeError(t, () => rejectCodec.encode({ command: 'reject', message: 'x', code: 1, reason: 'r'.repeat(112) }), 'reason', 'encoding a 112-byte reason');
  t.end();
});

t.test('round trips', (t) => {
  checkCodec(t, rejectCodec, [
    { command: 'reject', message: '', code: 0, reason: '' },
    { command: 'reject', message: 'block', code: 0x43, reason: 'checkpoint mismatch', hash: txid },
    { command: 'reject', message: 'x'.repeat(12), code: 255, reason: 'y'.repeat(111) },
    { command: 'reject', message: 'version', code: 0x60, reason: 'Mismatched association IDs' },
  ]);
  t.end();
});

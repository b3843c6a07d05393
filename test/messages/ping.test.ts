import t from 'tap';
import { pingCodec, pongCodec } from '../../lib/messages/ping.js';
import { verackCodec, getAddrCodec } from '../../lib/messages/empty.js';
import { DecodeError } from '../../lib/errors.js';
import { checkCodec } from '../helpers/codec.js';

t.test('ping and pong carry a u64 nonce', (t) => {
  checkCodec(t, pingCodec, [{ command: 'ping', nonce: 0n }, { command: 'ping', nonce: (1n << 64n) - 1n }]);
  checkCodec(t, pongCodec, [{ command: 'pong', nonce: 0x0123456789abcdefn }]);
  t.same(pingCodec.encode({ command: 'ping', nonce: 1n }).toString('hex'), '0100000000000000');
  t.throws(() => pingCodec.decode(Buffer.alloc(9)), DecodeError, 'trailing byte refused');
  t.end();
});

t.test('empty messages refuse a payload', (t) => {
  checkCodec(t, verackCodec, [{ command: 'verack' }]);
  checkCodec(t, getAddrCodec, [{ command: 'getaddr' }]);
  t.throws(() => verackCodec.decode(Buffer.from([0])), { name: 'DecodeError', field: 'end', reason: 'trailing-bytes' });
  t.end();
});

import t from 'tap';
import { pingCodec, pongCodec } from '../../lib/messages/ping.js';
import { verackCodec, getAddrCodec } from '../../lib/messages/empty.js';
import { DecodeError } from '../../lib/errors.js';
import { decodeMessage, encodeMessage, messageFromJSON, messageToJSON } from '../../lib/messages/index.js';
import { checkCodec } from '../helpers/codec.js';

t.test('ping and pong carry a u64 nonce', (t) => {
  checkCodec(t, pingCodec, [{ command: 'ping', nonce: 0n }, { command: 'ping', nonce: (1n << 64n) - 1n }]);
  checkCodec(t, pongCodec, [{ command: 'pong', nonce: 0x0123456789abcdefn }]);
  t.same(pingCodec.encode({ command: 'ping', nonce: 1n }).toString('hex'), '0100000000000000');
  t.throws(() => pingCodec.decode(Buffer.alloc(9)), DecodeError, 'trailing byte refused');
  t.end();
});

t.test('a pre-BIP31 ping: an empty payload is a ping without a nonce, and back', (t) => {
  const decoded = pingCodec.decode(Buffer.alloc(0));
  t.same(decoded, { command: 'ping' });
  t.notOk('nonce' in decoded, 'the nonce is absent, not 0');
  t.equal(pingCodec.encode(decoded).length, 0, 'encodes back to the empty payload');
  t.same(decodeMessage('ping', Buffer.alloc(0)), { command: 'ping' }, 'the registry decodes it too');
  t.equal(encodeMessage({ command: 'ping' }).payload.length, 0);
  const json = messageToJSON({ command: 'ping' });
  t.equal(JSON.stringify(json), '{"command":"ping"}', 'JSON shows no nonce');
  t.same(messageFromJSON({ command: 'ping' }), { command: 'ping' }, 'JSON without a nonce is a pre-BIP31 ping');
  t.equal(pingCodec.toJSON({ command: 'ping', nonce: 0n }).nonce, '0', 'a zero nonce stays a nonce');
  checkCodec(t, pingCodec, [{ command: 'ping' }, { command: 'ping', nonce: 7n }]);
  for (const n of [1, 7]) t.throws(() => pingCodec.decode(Buffer.alloc(n)), DecodeError, `${n} bytes is neither form`);
  t.throws(() => pongCodec.decode(Buffer.alloc(0)), DecodeError, 'a pong still needs its nonce');
  t.end();
});

t.test('empty messages refuse a payload', (t) => {
  checkCodec(t, verackCodec, [{ command: 'verack' }]);
  checkCodec(t, getAddrCodec, [{ command: 'getaddr' }]);
  t.throws(() => verackCodec.decode(Buffer.from([0])), { name: 'DecodeError', field: 'end', reason: 'trailing-bytes' });
  t.end();
});

import t from 'tap';
import { EncodeError, FramingError } from '../../lib/errors.js';
import { sha256d } from '../../lib/hash.js';
import { encodeFrame, encodeFrameHeader, encodeMessageFrame, payloadChecksum } from '../../lib/framing/encoder.js';
import { mainnet, regtest } from '../../lib/networks.js';

const VERACK_HEX = 'e3e1f3e876657261636b000000000000000000005df6e0e2';
const GiB = 1024 ** 3;

t.test('mainnet verack is byte-exact', (t) => {
  t.equal(encodeFrame(mainnet.magic, 'verack', Buffer.alloc(0)).toString('hex'), VERACK_HEX);
  t.equal(encodeMessageFrame(mainnet.magic, { command: 'verack' }).toString('hex'), VERACK_HEX);
  t.equal(encodeFrameHeader(mainnet.magic, 'verack', 0, payloadChecksum(Buffer.alloc(0))).toString('hex'), VERACK_HEX);
  t.end();
});

t.test('ping frame: header fields and checksum', (t) => {
  const frame = encodeMessageFrame(regtest.magic, { command: 'ping', nonce: 0x0102030405060708n });
  t.equal(frame.length, 32);
  t.equal(frame.toString('hex', 0, 4), 'dab5bffa');
  t.equal(frame.toString('latin1', 4, 16), 'ping\0\0\0\0\0\0\0\0');
  t.equal(frame.readUInt32LE(16), 8);
  const payload = frame.subarray(24);
  t.equal(payload.toString('hex'), '0807060504030201');
  t.same(frame.subarray(20, 24), sha256d(payload).subarray(0, 4));
  t.same(encodeFrameHeader(regtest.magic, 'ping', 8, payloadChecksum(payload)), frame.subarray(0, 24), 'header alone matches');
  t.end();
});

t.test('commands must be 1..12 printable ASCII chars', (t) => {
  const ok = encodeFrame(mainnet.magic, 'abcdefghijkl', Buffer.alloc(1));
  t.equal(ok.toString('latin1', 4, 16), 'abcdefghijkl', '12 chars fill the field with no NUL');
  for (const bad of ['', 'abcdefghijklm', 'ver\0ack', 'tab\there', 'caf\u00e9', 'x\u007f']) {
    t.throws(() => encodeFrame(mainnet.magic, bad, Buffer.alloc(0)), { name: 'FramingError', reason: 'bad-command', command: bad }, JSON.stringify(bad));
    t.throws(() => encodeFrameHeader(mainnet.magic, bad, 0, Buffer.alloc(4)), FramingError);
  }
  t.throws(() => encodeFrame(mainnet.magic, 'extmsg', Buffer.alloc(0)), { name: 'FramingError', reason: 'bad-command' }, 'extmsg is reserved');
  t.throws(() => encodeFrame(Buffer.alloc(3), 'ping', Buffer.alloc(8)), RangeError, 'magic must be 4 bytes');
  t.end();
});

t.test('legacy header needs a checksum and a sane length', (t) => {
  t.throws(() => encodeFrameHeader(mainnet.magic, 'block', 10, undefined), { name: 'EncodeError', command: 'block', field: 'checksum' });
  t.throws(() => encodeFrameHeader(mainnet.magic, 'block', 10, Buffer.alloc(3)), EncodeError);
  t.throws(() => encodeFrameHeader(mainnet.magic, 'block', -1, Buffer.alloc(4)), { name: 'EncodeError', field: 'length' });
  t.throws(() => encodeFrameHeader(mainnet.magic, 'block', 1.5, Buffer.alloc(4)), EncodeError);
  const max = encodeFrameHeader(mainnet.magic, 'block', 0xffff_ffff, Buffer.alloc(4), { peerVersion: 70015 });
  t.equal(max.length, 24, '4 GiB - 1 still fits the legacy header, for any peer');
  t.equal(max.readUInt32LE(16), 0xffff_ffff);
  t.end();
});

t.test('extmsg header for payloads over 4 GiB', (t) => {
  const length = 5 * GiB;
  const h = encodeFrameHeader(mainnet.magic, 'block', length, undefined, { peerVersion: 70016 });
  t.equal(h.length, 44);
  t.equal(h.toString('hex', 0, 4), 'e3e1f3e8');
  t.equal(h.toString('latin1', 4, 16), 'extmsg\0\0\0\0\0\0');
  t.equal(h.readUInt32LE(16), 0xffff_ffff);
  t.equal(h.readUInt32LE(20), 0, 'checksum is zero');
  t.equal(h.toString('latin1', 24, 36), 'block\0\0\0\0\0\0\0');
  t.equal(h.readBigUInt64LE(36), BigInt(length));
  t.same(
    encodeFrameHeader(mainnet.magic, 'block', length, Buffer.from('ffffffff', 'hex'), { peerVersion: 70017 }),
    h,
    'a given checksum is ignored for extmsg; newer peers qualify too',
  );
  t.equal(encodeFrameHeader(mainnet.magic, 'block', 0xffff_ffff + 1, undefined, { peerVersion: 70016 }).length, 44);
  t.end();
});

t.test('extmsg refused for peers below 70016', (t) => {
  for (const peerVersion of [70015, 209, undefined]) {
    t.throws(
      () => encodeFrameHeader(mainnet.magic, 'block', 5 * GiB, undefined, { peerVersion }),
      { name: 'FramingError', reason: 'extmsg-not-allowed', command: 'block' },
      `peer version ${peerVersion}`,
    );
  }
  t.throws(
    () => encodeFrame(mainnet.magic, 'inv', Buffer.alloc(10), { peerVersion: 70015, forceExtended: true }),
    { name: 'FramingError', reason: 'extmsg-not-allowed' },
  );
  t.end();
});

t.test('forceExtended wraps a small payload in extmsg', (t) => {
  const payload = Buffer.alloc(100, 7);
  const frame = encodeFrame(mainnet.magic, 'inv', payload, { peerVersion: 70016, forceExtended: true });
  t.equal(frame.length, 144);
  t.equal(frame.toString('latin1', 4, 10), 'extmsg');
  t.equal(frame.toString('latin1', 24, 27), 'inv');
  t.equal(frame.readBigUInt64LE(36), 100n);
  t.same(frame.subarray(44), payload);
  t.end();
});

import t from 'tap';
import { authChCodec, authRespCodec } from '../../lib/messages/auth.js';
import { createStreamCodec, streamAckCodec, STREAM_TYPE_DATA1 } from '../../lib/messages/streams.js';
import { uuidAssociationId } from '../../lib/messages/version.js';
import { checkCodec } from '../helpers/codec.js';
import { expectDecodeError, expectEncodeError } from './expect-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const challenge = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const assoc = uuidAssociationId(hex('00112233445566778899aabbccddeeff'));

t.test('authch: u32 version, u32 msgLen, 32-byte challenge (40 bytes)', (t) => {
  const bytes = Buffer.concat([hex('01000000 20000000'), challenge]);
  t.equal(bytes.length, 40);
  const m = authChCodec.decode(bytes);
  t.same(m, { command: 'authch', version: 1, messageLength: 32, challenge });
  // The node reads 32 challenge bytes whatever msgLen says.
  t.equal(authChCodec.decode(Buffer.concat([hex('01000000 ffffffff'), challenge])).messageLength, 0xffffffff);
  expectDecodeError(t, () => authChCodec.decode(Buffer.concat([bytes, hex('00')])), { command: 'authch', field: 'end', reason: 'trailing-bytes' }, 'trailing byte');
  expectEncodeError(t, () => authChCodec.encode({ ...m, challenge: Buffer.alloc(31) }), 'challenge', 'short challenge');
  checkCodec(t, authChCodec, [m, { command: 'authch', version: 0xffffffff, messageLength: 0, challenge: Buffer.alloc(32) }]);
  t.end();
});

t.test('authresp: var_bytes pubkey (≤ 33), u64 nonce, var_bytes signature (≤ 72)', (t) => {
  const pub = Buffer.alloc(33, 2);
  const sig = Buffer.alloc(71, 0x30);
  const bytes = Buffer.concat([hex('21'), pub, hex('0807060504030201'), hex('47'), sig]);
  const m = authRespCodec.decode(bytes);
  t.same(m, { command: 'authresp', publicKey: pub, nonce: 0x0102030405060708n, signature: sig });
  t.same(authRespCodec.encode(m), bytes);
  expectDecodeError(t, () => authRespCodec.decode(Buffer.concat([hex('22'), Buffer.alloc(34)])), { command: 'authresp', field: 'publicKey', reason: 'too-large' }, '34-byte key');
  expectDecodeError(t, () => authRespCodec.decode(Buffer.concat([hex('21'), pub, Buffer.alloc(8), hex('49'), Buffer.alloc(73)])), { command: 'authresp', field: 'signature', reason: 'too-large' }, '73-byte signature');
  checkCodec(t, authRespCodec, [
    m,
    { command: 'authresp', publicKey: Buffer.alloc(0), nonce: (1n << 64n) - 1n, signature: Buffer.alloc(72, 1) },
  ]);
  t.end();
});

t.test('createstrm and streamack', (t) => {
  const bytes = Buffer.concat([hex('11'), assoc, hex('02 0d'), Buffer.from('BlockPriority')]);
  const m = createStreamCodec.decode(bytes);
  t.same(m, { command: 'createstrm', associationId: assoc, streamType: STREAM_TYPE_DATA1, policyName: 'BlockPriority' });
  t.same(createStreamCodec.encode(m), bytes);
  const tooLongName = Buffer.concat([hex('11'), assoc, hex('02 41'), Buffer.alloc(65, 0x41)]);
  expectDecodeError(t, () => createStreamCodec.decode(tooLongName), { command: 'createstrm', field: 'policyName', reason: 'too-large' }, '65-byte policy name');
  expectDecodeError(t, () => createStreamCodec.decode(Buffer.concat([hex('82'), Buffer.alloc(131)])), { command: 'createstrm', field: 'associationId', reason: 'too-large' }, '130-byte association ID');
  checkCodec(t, createStreamCodec, [
    m,
    { command: 'createstrm', associationId: Buffer.alloc(0), streamType: 255, policyName: '' },
    { command: 'createstrm', associationId: Buffer.alloc(129, 9), streamType: 0, policyName: 'x'.repeat(64) },
  ]);

  const ack = Buffer.concat([hex('11'), assoc, hex('02')]);
  t.same(streamAckCodec.decode(ack), { command: 'streamack', associationId: assoc, streamType: 2 });
  expectDecodeError(t, () => streamAckCodec.decode(Buffer.concat([ack, hex('00')])), { command: 'streamack', field: 'end', reason: 'trailing-bytes' }, 'trailing byte');
  checkCodec(t, streamAckCodec, [
    { command: 'streamack', associationId: assoc, streamType: 2 },
    { command: 'streamack', associationId: Buffer.alloc(0), streamType: 0 },
  ]);
  t.end();
});

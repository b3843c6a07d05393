import t from 'tap';
import { protoconfCodec, streamPolicyNames, type ProtoconfMessage } from '../../lib/messages/protoconf.js';
import { limitClassOf } from '../../lib/messages/index.js';
import { checkCodec } from '../helpers/codec.js';
import { expectDecodeError, expectEncodeError } from './expect-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('the node’s protoconf: 2 fields, 2 MiB, "BlockPriority,Default"', (t) => {
  const bytes = Buffer.concat([hex('02 00002000 15'), Buffer.from('BlockPriority,Default')]);
  const m = protoconfCodec.decode(bytes);
  t.same(m, { command: 'protoconf', numberOfFields: 2, maxRecvPayloadLength: 2_097_152, streamPolicies: 'BlockPriority,Default' });
  t.same(streamPolicyNames(m.streamPolicies!), ['BlockPriority', 'Default']);
  t.same(protoconfCodec.encode(m), bytes);
  t.equal(limitClassOf('protoconf'), 'protoconf');
  t.end();
});

t.test('field count rules', (t) => {
  expectDecodeError(t, () => protoconfCodec.decode(hex('00')), { command: 'protoconf', field: 'numberOfFields', reason: 'invalid-value' }, 'zero fields');
  expectDecodeError(t, () => protoconfCodec.decode(hex('')), { command: 'protoconf', field: 'numberOfFields', reason: 'truncated' }, 'empty');
  expectDecodeError(t, () => protoconfCodec.decode(hex('fd0200 00001000')), { command: 'protoconf', field: 'numberOfFields', reason: 'non-canonical' }, 'non-canonical count');
  t.same(protoconfCodec.decode(hex('01 00001000')), { command: 'protoconf', numberOfFields: 1, maxRecvPayloadLength: 1_048_576 }, 'one field: no policies');
  expectDecodeError(t, () => protoconfCodec.decode(hex('02 00001000')), { command: 'protoconf', field: 'streamPolicies', reason: 'truncated' }, 'two fields, one present');
  const long = Buffer.concat([hex('02 00002000 fd8b02'), Buffer.alloc(651, 0x41)]);
  expectDecodeError(t, () => protoconfCodec.decode(long), { command: 'protoconf', field: 'streamPolicies', reason: 'too-large' }, '651-byte policies');
  const max = Buffer.concat([hex('02 00002000 fd8a02'), Buffer.alloc(650, 0x41)]);
  t.equal(protoconfCodec.decode(max).streamPolicies!.length, 650, '650 bytes allowed');
  t.end();
});

t.test('unknown extra fields are kept', (t) => {
  const bytes = Buffer.concat([hex('04 00002000 07'), Buffer.from('Default'), hex('2a 0102')]);
  const m = protoconfCodec.decode(bytes);
  t.equal(m.numberOfFields, 4);
  t.same(m.extra, hex('2a0102'));
  t.same(protoconfCodec.encode(m), bytes);
  t.end();
});

t.test('encoding refuses inconsistent messages', (t) => {
  expectEncodeError(t, () => protoconfCodec.encode({ command: 'protoconf', numberOfFields: 0, maxRecvPayloadLength: 1 }), 'numberOfFields', 'zero fields');
  expectEncodeError(t, () => protoconfCodec.encode({ command: 'protoconf', numberOfFields: 2, maxRecvPayloadLength: 1 }), 'streamPolicies', 'missing policies');
  expectEncodeError(t, () => protoconfCodec.encode({ command: 'protoconf', numberOfFields: 1, maxRecvPayloadLength: 1, streamPolicies: 'Default' }), 'streamPolicies', 'policies with one field');
  expectEncodeError(t, () => protoconfCodec.encode({ command: 'protoconf', numberOfFields: 2, maxRecvPayloadLength: 2 ** 32, streamPolicies: '' }), 'maxRecvPayloadLength', 'u32 overflow');
  t.end();
});

t.test('round trips', (t) => {
  const samples: ProtoconfMessage[] = [
    { command: 'protoconf', numberOfFields: 1, maxRecvPayloadLength: 0 },
    { command: 'protoconf', numberOfFields: 2, maxRecvPayloadLength: 0xffffffff, streamPolicies: '' },
    { command: 'protoconf', numberOfFields: 2, maxRecvPayloadLength: 2_097_152, streamPolicies: 'Default' },
    { command: 'protoconf', numberOfFields: 300, maxRecvPayloadLength: 1_048_576, streamPolicies: 'A,B', extra: hex('00ff00') },
    { command: 'protoconf', numberOfFields: 1, maxRecvPayloadLength: 5, extra: hex('01') },
  ];
  checkCodec(t, protoconfCodec, samples);
  t.end();
});

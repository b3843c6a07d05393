import t from 'tap';
import {
  MAX_USER_AGENT_LENGTH,
  parseAssociationId,
  uuidAssociationId,
  versionCodec,
  type VersionMessage,
} from '../../lib/messages/version.js';
import { formatEndpoint, netAddressToString, parseNetAddress } from '../../lib/messages/net-address.js';
import { decodeMessage, messageFromJSON, messageToJSON } from '../../lib/messages/index.js';
import { checkCodec } from '../helpers/codec.js';
import { expectDecodeError, expectEncodeError } from './expect-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const zeros16 = Buffer.alloc(16);
const localhost = parseNetAddress('127.0.0.1');

// A v1.2.2 node's version, byte by byte (PROTOCOL.md §6.2: 105 bytes without an association ID).
const nodeVersion = hex(`
  80110100
  2100000000000000
  00f1536500000000
  0000000000000000 00000000000000000000ffff7f000001 480c
  2100000000000000 00000000000000000000000000000000 0000
  efcdab8967452301
  12 2f426974636f696e2053563a312e322e322f
  96000000
  01
  00
`);

const full: VersionMessage = {
  command: 'version',
  version: 70016,
  services: 0x21n,
  timestamp: 1700000000n,
  addrRecv: { services: 0n, ip: localhost, port: 18444 },
  addrFrom: { services: 0x21n, ip: zeros16, port: 0 },
  nonce: 0x0123456789abcdefn,
  userAgent: '/Bitcoin SV:1.2.2/',
  startHeight: 150,
  relay: true,
  associationId: Buffer.alloc(0),
};

t.test('a real v1.2.2 node version (105 bytes)', (t) => {
  t.equal(nodeVersion.length, 105);
  const m = versionCodec.decode(nodeVersion);
  t.same(m, full);
  t.equal(m.userAgent, '/Bitcoin SV:1.2.2/');
  t.equal(netAddressToString(m.addrRecv.ip), '127.0.0.1');
  t.equal(netAddressToString(m.addrFrom!.ip), '::', 'the node sends the unspecified address, not 0.0.0.0');
  t.same(parseAssociationId(m.associationId!), { kind: 'null' });
  t.same(versionCodec.encode(m), nodeVersion, 'encodes back byte for byte');
  t.end();
});

t.test('only the mandatory 46 bytes', (t) => {
  const bytes = nodeVersion.subarray(0, 46);
  const m = versionCodec.decode(bytes);
  t.same(m, { command: 'version', version: 70016, services: 0x21n, timestamp: 1700000000n, addrRecv: full.addrRecv });
  t.equal(m.nonce, undefined);
  t.equal(m.userAgent, undefined);
  t.equal(m.relay, undefined);
  t.same(versionCodec.encode(m), bytes);
  expectDecodeError(t, () => versionCodec.decode(nodeVersion.subarray(0, 45)), { command: 'version', field: 'addrRecv.port', reason: 'truncated' }, '45 bytes');
  expectDecodeError(t, () => versionCodec.decode(nodeVersion.subarray(0, 50)), { command: 'version', field: 'addrFrom.services', reason: 'truncated' }, 'half an addrFrom');
  expectDecodeError(t, () => versionCodec.decode(nodeVersion.subarray(0, 75)), { command: 'version', field: 'nonce', reason: 'truncated' }, 'addrFrom without its nonce');
  t.end();
});

t.test('a 17-byte UUID association ID (122 bytes)', (t) => {
  const uuid = hex('0f1e2d3c4b5a69788796a5b4c3d2e1f0');
  const bytes = Buffer.concat([nodeVersion.subarray(0, 104), hex('1100'), uuid]);
  t.equal(bytes.length, 122);
  const m = versionCodec.decode(bytes);
  t.same(m.associationId, Buffer.concat([hex('00'), uuid]));
  t.same(parseAssociationId(m.associationId!), { kind: 'uuid', uuid });
  t.same(uuidAssociationId(uuid), m.associationId);
  t.same(versionCodec.encode(m), bytes);
  t.end();
});

t.test('association ID rules', (t) => {
  t.same(parseAssociationId(hex('00')), { kind: 'null' }, 'one byte is a null ID');
  expectDecodeError(t, () => parseAssociationId(hex('01' + '00'.repeat(16))), { command: 'version', field: 'associationId', reason: 'invalid-value' }, 'unknown type');
  expectDecodeError(t, () => parseAssociationId(hex('00' + '00'.repeat(15))), { command: 'version', field: 'associationId', reason: 'invalid-value' }, '15-byte UUID');
  const long = Buffer.concat([nodeVersion.subarray(0, 104), hex('82'), Buffer.alloc(130)]);
  expectDecodeError(t, () => versionCodec.decode(long), { command: 'version', field: 'associationId', reason: 'too-large' }, '130-byte association ID');
  const max = versionCodec.decode(Buffer.concat([nodeVersion.subarray(0, 104), hex('81'), Buffer.alloc(129, 7)]));
  t.equal(max.associationId!.length, 129, '129 bytes is allowed');
  t.end();
});

t.test('extra bytes after the association ID round-trip', (t) => {
  const bytes = Buffer.concat([nodeVersion, hex('deadbeef')]);
  const m = versionCodec.decode(bytes);
  t.same(m.extra, hex('deadbeef'));
  t.same(versionCodec.encode(m), bytes);
  const json = JSON.parse(JSON.stringify(messageToJSON(m)));
  t.equal(json.extra, 'deadbeef');
  t.same(versionCodec.encode(messageFromJSON(json) as VersionMessage), bytes);
  t.end();
});

t.test('user agent is limited to 256 bytes', (t) => {
  const withUa = (ua: string): Buffer =>
    versionCodec.encode({ ...versionCodec.decode(nodeVersion.subarray(0, 80)), userAgent: ua });
  const ok = versionCodec.decode(withUa('u'.repeat(MAX_USER_AGENT_LENGTH)));
  t.equal(ok.userAgent!.length, 256);
  const tooLong = Buffer.concat([nodeVersion.subarray(0, 80), hex('fd0101'), Buffer.alloc(257, 0x61)]);
  expectDecodeError(t, () => versionCodec.decode(tooLong), { command: 'version', field: 'userAgent', reason: 'too-large' }, '257-byte UA');
  expectEncodeError(t, () => withUa('u'.repeat(257)), 'userAgent', 'encoding a 257-byte UA');
  t.end();
});

t.test('optional groups must be contiguous when encoding', (t) => {
  expectEncodeError(t, () => versionCodec.encode({ ...full, nonce: undefined }), 'nonce', 'addrFrom without nonce');
  const { addrFrom: _a, nonce: _n, ...noFrom } = full;
  expectEncodeError(t, () => versionCodec.encode(noFrom), 'addrFrom', 'userAgent without addrFrom');
  expectEncodeError(t, () => versionCodec.encode({ ...full, relay: undefined }), 'relay', 'associationId without relay');
  expectEncodeError(t, () => versionCodec.encode({ ...full, extra: Buffer.alloc(0) }), 'extra', 'empty extra');
  t.end();
});

t.test('non-canonical and huge CompactSize in the UA length', (t) => {
  const nonCanonical = Buffer.concat([nodeVersion.subarray(0, 80), hex('fd1200'), Buffer.from('/Bitcoin SV:1.2.2/')]);
  expectDecodeError(t, () => versionCodec.decode(nonCanonical), { command: 'version', field: 'userAgent', reason: 'non-canonical' }, 'fd-prefixed 18');
  const huge = Buffer.concat([nodeVersion.subarray(0, 80), hex('ffffffffffffffffff')]);
  expectDecodeError(t, () => versionCodec.decode(huge), { command: 'version', field: 'userAgent', reason: 'too-large' }, '2^64-1 length');
  t.end();
});

t.test('round trips, JSON and truncations', (t) => {
  const { associationId: _id, ...withoutAssociationId } = full;
  const v6 = parseNetAddress('2001:db8::1');
  checkCodec(t, versionCodec, [
    full,
    versionCodec.decode(nodeVersion.subarray(0, 46)),
    versionCodec.decode(nodeVersion.subarray(0, 80)),
    versionCodec.decode(nodeVersion.subarray(0, 99)),
    versionCodec.decode(nodeVersion.subarray(0, 103)),
    withoutAssociationId,
    { ...full, relay: false, startHeight: -1, associationId: uuidAssociationId(Buffer.alloc(16, 0xab)), extra: hex('00ff') },
    {
      command: 'version',
      version: -1,
      services: (1n << 64n) - 1n,
      timestamp: -(1n << 63n),
      addrRecv: { services: 0n, ip: v6, port: 65535 },
      addrFrom: { services: 1n, ip: Buffer.alloc(16, 0xff), port: 1 },
      nonce: 0n,
      userAgent: '',
      startHeight: 0x7fffffff,
    },
  ]);
  const json = messageToJSON(full);
  t.same(json.addrRecv, { services: '0', ip: '127.0.0.1', port: 18444 });
  t.equal(json.services, '33');
  t.equal(json.associationId, '');
  t.same(decodeMessage('version', nodeVersion), full, 'registered');
  t.end();
});

t.test('address text helpers', (t) => {
  const cases: [string, string][] = [
    ['1.2.3.4', '00000000000000000000ffff01020304'],
    ['0.0.0.0', '00000000000000000000ffff00000000'],
    ['255.255.255.255', '00000000000000000000ffffffffffff'],
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001'],
    ['2001:0:0:1::1', '20010000000000010000000000000001'],
    ['fe80::', 'fe800000000000000000000000000000'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['::102:304', '00000000000000000000000001020304'],
  ];
  for (const [text, bytes] of cases) {
    t.equal(netAddressToString(hex(bytes)), text, `format ${text}`);
    t.same(parseNetAddress(text), hex(bytes), `parse ${text}`);
  }
  t.same(parseNetAddress('::ffff:10.0.0.1'), parseNetAddress('10.0.0.1'), 'IPv4-mapped text');
  t.same(parseNetAddress('2001:DB8:0:0:0:0:0:1'), parseNetAddress('2001:db8::1'), 'upper case, uncompressed');
  for (const bad of ['', '1.2.3', '1.2.3.256', '01.2.3.4', ':::', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3:4:5:6:7::8', 'localhost']) {
    t.throws(() => parseNetAddress(bad), TypeError, `refuses ${JSON.stringify(bad)}`);
  }
  t.equal(formatEndpoint(parseNetAddress('1.2.3.4'), 8333), '1.2.3.4:8333');
  t.equal(formatEndpoint(parseNetAddress('::1'), 18444), '[::1]:18444');
  t.end();
});

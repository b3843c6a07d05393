import t from 'tap';
import { getBlocksCodec, getHdrsEnCodec, getHeadersCodec, type LocatorMessage } from '../../lib/messages/locator.js';
import type { MessageCodec } from '../../lib/messages/codec.js';
import { messageToJSON } from '../../lib/messages/index.js';
import { fromDisplayHex } from '../../lib/hash.js';
import { checkCodec } from '../helpers/codec.js';
import { expectDecodeError } from './expect-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const genesis = fromDisplayHex('000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
const zero = Buffer.alloc(32);

t.test('getheaders from genesis, byte by byte', (t) => {
  const bytes = Buffer.concat([hex('80110100 01'), genesis, zero]);
  t.equal(bytes.length, 4 + 1 + 64);
  const m = getHeadersCodec.decode(bytes);
  t.same(m, { command: 'getheaders', version: 70016, locator: [genesis], hashStop: zero });
  t.same(getHeadersCodec.encode(m), bytes);
  t.same(messageToJSON(m), {
    command: 'getheaders',
    version: 70016,
    locator: ['000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f'],
    hashStop: '0'.repeat(64),
  });
  t.end();
});

t.test('bounds and errors', (t) => {
  for (const codec of [getBlocksCodec, getHeadersCodec, getHdrsEnCodec]) {
    expectDecodeError(t, () => codec.decode(hex('80110100 feffffffff')), { command: codec.command, field: 'count', reason: 'truncated' }, `${codec.command}: 2^32-1 hashes claimed`);
    expectDecodeError(t, () => codec.decode(hex('80110100 fd0000')), { command: codec.command, field: 'count', reason: 'non-canonical' }, `${codec.command}: non-canonical count`);
    expectDecodeError(t, () => codec.decode(Buffer.concat([hex('80110100 01'), genesis])), { command: codec.command, field: 'hashStop', reason: 'truncated' }, `${codec.command}: no hashStop`);
    expectDecodeError(t, () => codec.decode(Buffer.concat([hex('80110100 00'), zero, hex('00')])), { command: codec.command, field: 'end', reason: 'trailing-bytes' }, `${codec.command}: trailing byte`);
    const json = { command: codec.command, version: 70016, locator: [genesis.toString('hex'), 'zz'], hashStop: zero.toString('hex') };
    t.throws(() => codec.fromJSON(json), { name: 'EncodeError', command: codec.command, field: 'locator[1]', message: /expected a 64-hex-digit hash, got "zz"/ }, `${codec.command}: a bad locator hash in JSON is named`);
    t.throws(() => codec.fromJSON({ ...json, locator: 'zz' }), { name: 'EncodeError', field: 'locator' }, `${codec.command}: locator must be an array`);
  }
  t.end();
});

t.test('round trips', (t) => {
  const locator = Array.from({ length: 101 }, (_, i) => Buffer.alloc(32, i));
  const roundTrips = <C extends 'getblocks' | 'getheaders' | 'gethdrsen'>(codec: MessageCodec<LocatorMessage<C>>): void => {
    checkCodec(t, codec, [
      { command: codec.command, version: 0, locator: [], hashStop: zero },
      { command: codec.command, version: -1, locator: [genesis], hashStop: genesis },
      { command: codec.command, version: 0x7fffffff, locator, hashStop: Buffer.alloc(32, 0xff) },
    ]);
  };
  roundTrips(getBlocksCodec);
  roundTrips(getHeadersCodec);
  roundTrips(getHdrsEnCodec);
  t.end();
});

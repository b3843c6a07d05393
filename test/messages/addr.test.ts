import t from 'tap';
import { addrCodec, MAX_ADDR_PER_MESSAGE, type AddrEntry } from '../../lib/messages/addr.js';
import { messageToJSON } from '../../lib/messages/index.js';
import { parseNetAddress } from '../../lib/messages/net-address.js';
import { checkCodec } from '../helpers/codec.js';
import { expectDecodeError } from './expect-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('one entry, byte by byte', (t) => {
  const bytes = hex(`01
    29ab5f49
    2100000000000000
    00000000000000000000ffff0a000001
    208d`);
  const m = addrCodec.decode(bytes);
  t.same(m, { command: 'addr', addresses: [{ time: 1231006505, services: 0x21n, ip: parseNetAddress('10.0.0.1'), port: 8333 }] });
  t.same(addrCodec.encode(m), bytes);
  t.same(messageToJSON(m), { command: 'addr', addresses: [{ time: 1231006505, services: '33', ip: '10.0.0.1', port: 8333 }] });
  const badIp = { command: 'addr', addresses: [{ time: 1, services: '1', ip: '10.0.0.1', port: 1 }, { time: 1, services: '1', ip: 'localhost', port: 1 }] };
  t.throws(() => addrCodec.fromJSON(badIp), { name: 'EncodeError', command: 'addr', field: 'addresses[1].ip', message: /expected an IPv4 or IPv6 address, got "localhost"/ });
  t.end();
});

t.test('count is bounded by the bytes, not by the 1000 policy', (t) => {
  const many: AddrEntry[] = Array.from({ length: MAX_ADDR_PER_MESSAGE + 1 }, (_, i) => ({
    time: i,
    services: 1n,
    ip: parseNetAddress('::1'),
    port: i,
  }));
  const bytes = addrCodec.encode({ command: 'addr', addresses: many });
  t.equal(addrCodec.decode(bytes).addresses.length, 1001, 'more than 1000 decodes; the peer layer scores it');
  const err = expectDecodeError(t, () => addrCodec.decode(hex('feffffffff')), { command: 'addr', field: 'count', reason: 'truncated' }, '2^32-1 entries claimed');
  t.match(err?.message, /4294967295 entries/);
  expectDecodeError(t, () => addrCodec.decode(Buffer.concat([hex('02'), Buffer.alloc(59)])), { command: 'addr', field: 'count', reason: 'truncated' }, 'two entries need 60 bytes');
  expectDecodeError(t, () => addrCodec.decode(hex('fd0100')), { command: 'addr', field: 'count', reason: 'non-canonical' }, 'non-canonical count');
  expectDecodeError(t, () => addrCodec.decode(Buffer.concat([hex('00'), hex('00')])), { command: 'addr', field: 'end', reason: 'trailing-bytes' }, 'trailing byte');
  t.end();
});

t.test('round trips', (t) => {
  checkCodec(t, addrCodec, [
    { command: 'addr', addresses: [] },
    {
      command: 'addr',
      addresses: [
        { time: 0, services: 0n, ip: Buffer.alloc(16), port: 0 },
        { time: 0xffffffff, services: (1n << 64n) - 1n, ip: parseNetAddress('2001:db8::ff'), port: 65535 },
        { time: 1700000000, services: 0x25n, ip: parseNetAddress('192.168.1.1'), port: 18444 },
      ],
    },
  ]);
  t.end();
});

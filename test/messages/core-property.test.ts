// Seeded random round trips: for every core codec, random valid messages must survive
// encode -> decode and the JSON form unchanged. Bounded: 200 messages per command.
import t from 'tap';
import { coreCodecs, type CoreMessage } from '../../lib/messages/core.js';
import { messageFromJSON, messageToJSON } from '../../lib/messages/index.js';
import type { MessageCodec } from '../../lib/messages/codec.js';
import type { NetAddress } from '../../lib/messages/net-address.js';
import type { VersionMessage } from '../../lib/messages/version.js';
import type { HeadersEntry } from '../../lib/messages/headers.js';
import { seededRandom as prng } from '../helpers/prng.js';

const PER_COMMAND = 200;

class Gen {
  constructor(readonly next: () => number) {}
  int(max: number): number {
    return Math.floor(this.next() * (max + 1));
  }
  u8 = (): number => this.int(0xff);
  u16 = (): number => this.int(0xffff);
  u32 = (): number => this.edge([0, 0xffffffff], () => this.int(0xffffffff));
  i32 = (): number => this.edge([0, -1, 0x7fffffff, -0x80000000], () => this.int(0xffffffff) - 0x80000000);
  u64 = (): bigint => this.edge([0n, (1n << 64n) - 1n], () => (BigInt(this.u32()) << 32n) | BigInt(this.u32()));
  i64 = (): bigint => BigInt.asIntN(64, this.u64());
  bool = (): boolean => this.next() < 0.5;
  bytes = (max: number): Buffer => Buffer.from(Array.from({ length: this.int(max) }, this.u8));
  fixed = (n: number): Buffer => Buffer.from(Array.from({ length: n }, this.u8));
  hash = (): Buffer => this.fixed(32);
  str = (max: number): string => String.fromCharCode(...Array.from({ length: this.int(max) }, this.u8));
  list<T>(max: number, item: () => T): T[] {
    return Array.from({ length: this.int(max) }, item);
  }
  /** Edge values a quarter of the time. */
  edge<T>(edges: T[], other: () => T): T {
    return this.next() < 0.25 ? edges[this.int(edges.length - 1)]! : other();
  }
  netAddress = (): NetAddress => ({ services: this.u64(), ip: this.fixed(16), port: this.u16() });
}

function version(g: Gen): VersionMessage {
  const groups = g.int(6);
  const m: { -readonly [K in keyof VersionMessage]: VersionMessage[K] } = {
    command: 'version',
    version: g.i32(),
    services: g.u64(),
    timestamp: g.i64(),
    addrRecv: g.netAddress(),
  };
  if (groups >= 1) [m.addrFrom, m.nonce] = [g.netAddress(), g.u64()];
  if (groups >= 2) m.userAgent = g.str(256);
  if (groups >= 3) m.startHeight = g.i32();
  if (groups >= 4) m.relay = g.bool();
  if (groups >= 5) m.associationId = g.bytes(129);
  if (groups >= 6) m.extra = Buffer.concat([g.fixed(1), g.bytes(20)]);
  return m;
}

function header(g: Gen): HeadersEntry {
  return { version: g.i32(), prevBlock: g.hash(), merkleRoot: g.hash(), timestamp: g.u32(), bits: g.u32(), nonce: g.u32(), txCount: g.u32() };
}

const generators: { [C in CoreMessage['command']]: (g: Gen) => Extract<CoreMessage, { command: C }> } = {
  version,
  verack: () => ({ command: 'verack' }),
  protoconf: (g) => {
    const numberOfFields = g.edge([1, 2, 3], () => g.int(0xffff) + 1);
    const base = { command: 'protoconf' as const, numberOfFields, maxRecvPayloadLength: g.u32() };
    const withPolicies = numberOfFields >= 2 ? { ...base, streamPolicies: g.str(650) } : base;
    return g.bool() ? { ...withPolicies, extra: Buffer.concat([g.fixed(1), g.bytes(10)]) } : withPolicies;
  },
  authch: (g) => ({ command: 'authch', version: g.u32(), messageLength: g.u32(), challenge: g.hash() }),
  authresp: (g) => ({ command: 'authresp', publicKey: g.bytes(33), nonce: g.u64(), signature: g.bytes(72) }),
  createstrm: (g) => ({ command: 'createstrm', associationId: g.bytes(129), streamType: g.u8(), policyName: g.str(64) }),
  streamack: (g) => ({ command: 'streamack', associationId: g.bytes(129), streamType: g.u8() }),
  getaddr: () => ({ command: 'getaddr' }),
  sendheaders: () => ({ command: 'sendheaders' }),
  sendhdrsen: () => ({ command: 'sendhdrsen' }),
  filterclear: () => ({ command: 'filterclear' }),
  ping: (g) => ({ command: 'ping', nonce: g.u64() }),
  pong: (g) => ({ command: 'pong', nonce: g.u64() }),
  addr: (g) => ({ command: 'addr', addresses: g.list(20, () => ({ time: g.u32(), ...g.netAddress() })) }),
  inv: (g) => ({ command: 'inv', inventory: g.list(20, () => ({ type: g.u32(), hash: g.hash() })) }),
  getdata: (g) => ({ command: 'getdata', inventory: g.list(20, () => ({ type: g.u32(), hash: g.hash() })) }),
  notfound: (g) => ({ command: 'notfound', inventory: g.list(20, () => ({ type: g.u32(), hash: g.hash() })) }),
  getblocks: (g) => ({ command: 'getblocks', version: g.i32(), locator: g.list(20, g.hash), hashStop: g.hash() }),
  getheaders: (g) => ({ command: 'getheaders', version: g.i32(), locator: g.list(20, g.hash), hashStop: g.hash() }),
  gethdrsen: (g) => ({ command: 'gethdrsen', version: g.i32(), locator: g.list(20, g.hash), hashStop: g.hash() }),
  headers: (g) => ({ command: 'headers', headers: g.list(10, () => header(g)) }),
  reject: (g) => {
    const base = { command: 'reject' as const, message: g.str(12), code: g.u8(), reason: g.str(111) };
    return g.bool() ? { ...base, hash: g.hash() } : base;
  },
  feefilter: (g) => ({ command: 'feefilter', feeRate: g.i64() }),
  sendcmpct: (g) => ({ command: 'sendcmpct', announce: g.bool(), version: g.u64() }),
  mempool: (g) => {
    const form = g.int(2);
    return form === 0 ? { command: 'mempool' } : form === 1 ? { command: 'mempool', age: null } : { command: 'mempool', age: g.i64() };
  },
  filterload: (g) => ({ command: 'filterload', filter: g.bytes(300), hashFuncs: g.u32(), tweak: g.u32(), flags: g.u8() }),
  filteradd: (g) => ({ command: 'filteradd', data: g.bytes(520) }),
  alert: (g) => ({ command: 'alert', payload: g.bytes(200) }),
};

t.test('every core codec has a generator', (t) => {
  t.same(coreCodecs.map((c) => c.command).sort(), Object.keys(generators).sort());
  t.end();
});

t.test(`${PER_COMMAND} random messages per command round-trip`, (t) => {
  for (const [i, codec] of (coreCodecs as MessageCodec<CoreMessage>[]).entries()) {
    const g = new Gen(prng(0x5eed + i));
    const generate = generators[codec.command] as (g: Gen) => CoreMessage;
    const messages = Array.from({ length: PER_COMMAND }, () => generate(g));
    const decoded: CoreMessage[] = [];
    let firstFailure = '';
    for (const [n, message] of messages.entries()) {
      try {
        const payload = codec.encode(message);
        const back = codec.decode(payload);
        decoded.push(back);
        const viaJson = messageFromJSON(JSON.parse(JSON.stringify(messageToJSON(back))));
        if (!codec.encode(back).equals(payload)) throw new Error('re-encoding changed the bytes');
        if (!codec.encode(viaJson as CoreMessage).equals(payload)) throw new Error('the JSON round trip changed the bytes');
      } catch (err) {
        firstFailure ||= `#${n}: ${String(err)}`;
      }
    }
    t.equal(firstFailure, '', `${codec.command}: ${PER_COMMAND} byte and JSON round trips`);
    t.same(decoded, messages, `${codec.command}: decode(encode(x)) == x for all ${PER_COMMAND}`);
  }
  t.end();
});

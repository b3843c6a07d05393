import t from 'tap';
import type { Test } from 'tap';
import { FramingError } from '../../lib/errors.js';
import { FrameDecoder, type FrameDecoderOptions } from '../../lib/framing/decoder.js';
import { encodeFrame, encodeFrameHeader, encodeMessageFrame } from '../../lib/framing/encoder.js';
import type { FrameEvent } from '../../lib/framing/types.js';
import { decodeMessage } from '../../lib/messages/index.js';
import { mainnet, testnet } from '../../lib/networks.js';
import { seededBytes, seededRandom, summarize } from './fixtures/chunks.js';

const MAGIC = mainnet.magic;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function decoder(opts: Partial<FrameDecoderOptions> = {}): FrameDecoder {
  return new FrameDecoder({ magic: MAGIC, ...opts });
}

function pushInChunks(d: FrameDecoder, bytes: Buffer, sizes: () => number): { events: FrameEvent[]; maxBuffered: number } {
  const events: FrameEvent[] = [];
  let maxBuffered = 0;
  for (let off = 0; off < bytes.length; ) {
    const end = Math.min(bytes.length, off + sizes());
    for (const e of d.push(bytes.subarray(off, end))) events.push(e);
    maxBuffered = Math.max(maxBuffered, d.bytesBuffered);
    off = end;
  }
  return { events, maxBuffered };
}

t.test('mainnet verack decodes and re-encodes byte-exact', (t) => {
  const wire = Buffer.from('e3e1f3e876657261636b000000000000000000005df6e0e2', 'hex');
  const d = decoder();
  const events = d.push(wire);
  t.equal(events.length, 1);
  const e = events[0];
  if (e.type !== 'frame') throw new Error('expected a frame');
  t.equal(e.header.command, 'verack');
  t.equal(e.header.length, 0);
  t.equal(e.header.extended, false);
  t.equal(e.header.headerSize, 24);
  t.equal(e.header.checksum.toString('hex'), '5df6e0e2');
  t.equal(e.payload.length, 0);
  t.same(decodeMessage(e.header.command, e.payload), { command: 'verack' });
  t.same(encodeFrame(MAGIC, e.header.command, e.payload), wire);
  t.equal(d.bytesBuffered, 0);
  t.ok(d.idle);
  t.end();
});

t.test('chunked decoding gives the same frames as whole decoding', (t) => {
  const block = seededBytes(1, 40_000);
  const unknown = seededBytes(2, 3_000);
  const wrapped = seededBytes(3, 100);
  const frames = [
    encodeMessageFrame(MAGIC, { command: 'verack' }),
    encodeMessageFrame(MAGIC, { command: 'ping', nonce: 42n }),
    encodeFrame(MAGIC, 'xyzzy', unknown),
    encodeFrame(MAGIC, 'block', block),
    encodeFrame(MAGIC, 'block', Buffer.alloc(0)),
    encodeFrame(MAGIC, 'inv', wrapped, { peerVersion: 70016, forceExtended: true }),
    encodeFrame(MAGIC, 'block', wrapped, { peerVersion: 70016, forceExtended: true }),
    encodeMessageFrame(MAGIC, { command: 'pong', nonce: 42n }),
  ];
  const wire = Buffer.concat(frames);
  const whole = summarize(decoder().push(wire));
  t.same(
    whole.map((s) => `${s.type}:${s.command}`),
    [
      'frame:verack',
      'frame:ping',
      'frame:xyzzy',
      'stream-start:block',
      'stream-end:block',
      'stream-start:block',
      'stream-end:block',
      'frame:inv',
      'stream-start:block',
      'stream-end:block',
      'frame:pong',
    ],
  );
  t.equal(whole[2].payloadHex, unknown.toString('hex'));
  t.equal(whole[4].payloadHex, block.toString('hex'));
  t.equal(whole[4].checksumOk, true);
  t.equal(whole[7].payloadHex, wrapped.toString('hex'));
  t.equal(whole[7].extended, true);
  t.equal(whole[9].payloadHex, wrapped.toString('hex'));

  const oneByte = pushInChunks(decoder(), wire, () => 1);
  t.same(summarize(oneByte.events), whole, '1-byte chunks');
  t.ok(oneByte.maxBuffered <= unknown.length, `the streamed block is never buffered (max ${oneByte.maxBuffered})`);

  const random = seededRandom(7);
  for (let i = 0; i < 40; i++) {
    const maxChunk = [3, 64, 1500, 70_000][i % 4];
    const d = decoder();
    const { events, maxBuffered } = pushInChunks(d, wire, () => 1 + Math.floor(random() * maxChunk));
    t.same(summarize(events), whole, `random chunks round ${i} (max ${maxChunk})`);
    t.ok(maxBuffered <= unknown.length + 44, 'buffered bytes bounded by the largest whole frame');
    t.ok(d.idle);
  }
  t.end();
});

t.test('whole frames inside one chunk are zero-copy views', (t) => {
  const wire = Buffer.concat([encodeFrame(MAGIC, 'xyzzy', Buffer.alloc(10, 1)), encodeFrame(MAGIC, 'inv', Buffer.alloc(37, 2))]);
  const events = decoder().push(wire);
  for (const e of events) {
    if (e.type !== 'frame') throw new Error('expected frames');
    t.equal(e.payload.buffer, wire.buffer, `${e.header.command} payload shares the chunk's memory`);
  }
  t.end();
});

/** Push the bytes one at a time; the error must come exactly at `failAt` bytes, and stick. */
function expectRefusal(
  t: Test,
  bytes: Buffer,
  failAt: number,
  expected: { reason: string; command: string },
  opts: Partial<FrameDecoderOptions> = {},
): void {
  const d = decoder(opts);
  let thrown: unknown;
  let at = 0;
  for (; at < bytes.length && thrown === undefined; at++) {
    try {
      d.push(bytes.subarray(at, at + 1));
    } catch (err) {
      thrown = err;
    }
  }
  t.type(thrown, FramingError, `${expected.reason}: typed error`);
  t.match(thrown, expected, `${expected.reason}: reason and command`);
  t.equal(at, failAt, `${expected.reason}: refused after byte ${failAt}`);
  t.ok(d.bytesBuffered <= 44, `${expected.reason}: nothing allocated (${d.bytesBuffered} bytes buffered)`);
  t.equal(d.error, thrown);
  t.throws(() => d.push(Buffer.alloc(1)), thrown as Error, 'failed decoder keeps throwing the same error');
  try {
    d.push(Buffer.alloc(0));
  } catch (again) {
    t.equal(again, thrown, 'the very same error object');
  }
  // And fed whole, the same refusal.
  t.throws(() => decoder(opts).push(bytes), { name: 'FramingError', ...expected });
}

t.test('headers refused before any payload byte is read', (t) => {
  const withPayload = (header: Buffer, n = 64): Buffer => Buffer.concat([header, Buffer.alloc(n)]);
  expectRefusal(t, withPayload(encodeFrameHeader(MAGIC, 'inv', 0xffff_ffff, Buffer.alloc(4))), 24, {
    reason: 'oversized',
    command: 'inv',
  });
  expectRefusal(t, withPayload(encodeFrameHeader(MAGIC, 'addr', 2 * MiB + 1, Buffer.alloc(4))), 24, {
    reason: 'oversized',
    command: 'addr',
  });
  expectRefusal(t, withPayload(encodeFrameHeader(MAGIC, 'protoconf', MiB + 1, Buffer.alloc(4))), 24, {
    reason: 'oversized',
    command: 'protoconf',
  });
  expectRefusal(t, withPayload(encodeFrameHeader(MAGIC, 'tx', 1_000_000_001, Buffer.alloc(4))), 24, {
    reason: 'oversized',
    command: 'tx',
  });
  expectRefusal(
    t,
    withPayload(encodeFrameHeader(MAGIC, 'block', 1001, Buffer.alloc(4))),
    24,
    { reason: 'oversized', command: 'block' },
    { limits: { block: 1000 } },
  );
  expectRefusal(
    t,
    withPayload(encodeFrameHeader(MAGIC, 'getblocktxn', 31, Buffer.alloc(4))),
    24,
    { reason: 'oversized', command: 'getblocktxn' },
    { limits: { block: 215 } },
  );
  expectRefusal(t, withPayload(encodeFrame(testnet.magic, 'verack', Buffer.alloc(0))), 24, {
    reason: 'bad-magic',
    command: 'verack',
  });
  const nonPrintable = encodeFrame(MAGIC, 'verack', Buffer.alloc(0));
  nonPrintable[6] = 0x01;
  expectRefusal(t, withPayload(nonPrintable), 24, { reason: 'bad-command', command: '0x76650161636b' });
  const nulInside = encodeFrame(MAGIC, 'verack', Buffer.alloc(0));
  nulInside.write('ver\0ack', 4, 'latin1');
  expectRefusal(t, withPayload(nulInside), 24, { reason: 'bad-command', command: '0x7665720061636b' });
  t.end();
});

t.test('limits themselves are accepted', (t) => {
  for (const [command, length, limits] of [
    ['addr', 2 * MiB, {}],
    ['protoconf', MiB, {}],
    ['tx', 1_000_000_000, {}],
    ['block', 1000, { block: 1000 }],
    ['getblocktxn', 30, { block: 215 }],
  ] as const) {
    const d = decoder({ limits, shouldStream: () => false });
    t.same(d.push(encodeFrameHeader(MAGIC, command, length, Buffer.alloc(4))), [], `${command} header of ${length} accepted`);
    t.equal(d.bytesBuffered, 0, 'no payload allocated before its bytes arrive');
    d.push(Buffer.alloc(1));
    t.ok(d.bytesBuffered <= Math.max(length, 4 * MiB), 'payload buffer bounded');
  }
  t.end();
});

t.test('bad checksum names the command', (t) => {
  const frame = encodeMessageFrame(MAGIC, { command: 'ping', nonce: 1n });
  frame[20] ^= 0xff;
  expectRefusal(t, frame, frame.length, { reason: 'bad-checksum', command: 'ping' });
  const lenient = decoder({ verifyChecksum: false }).push(frame);
  t.equal(lenient.length, 1, 'verifyChecksum: false lets it through');

  const block = encodeFrame(MAGIC, 'block', seededBytes(5, 1000));
  block[21] ^= 0x01;
  const events = decoder().push(block);
  const end = events[events.length - 1];
  t.equal(end.type, 'stream-end');
  t.equal(end.type === 'stream-end' && end.checksumOk, false, 'a streamed frame reports the mismatch at its end');
  t.end();
});

t.test('unknown commands pass with the default limit', (t) => {
  const payload = Buffer.alloc(2 * MiB, 9);
  const { events } = pushInChunks(decoder(), encodeFrame(MAGIC, 'madeup', payload), () => 65536);
  t.equal(events.length, 1);
  const e = events[0];
  if (e.type !== 'frame') throw new Error('expected a frame');
  t.equal(e.header.command, 'madeup');
  t.same(decodeMessage('madeup', e.payload), { command: 'unknown', name: 'madeup', payload });
  expectRefusal(t, Buffer.concat([encodeFrameHeader(MAGIC, 'madeup', 2 * MiB + 1, Buffer.alloc(4)), Buffer.alloc(8)]), 24, {
    reason: 'oversized',
    command: 'madeup',
  });
  t.end();
});

t.test('extmsg: a 5 GiB block streams with bounded memory', (t) => {
  const length = 5 * GiB;
  const header = encodeFrameHeader(MAGIC, 'block', length, undefined, { peerVersion: 70016 });
  const d = decoder();
  t.same(d.push(header.subarray(0, 24)), [], 'nothing known after 24 bytes of an extmsg header');
  const start = d.push(header.subarray(24));
  t.equal(start.length, 1);
  t.match(start[0], { type: 'stream-start', header: { command: 'block', length, extended: true, headerSize: 44 } });
  t.same(start[0].header.checksum, Buffer.alloc(4));

  // Feed every byte as views of one reused 8 MiB chunk: nothing is hashed or buffered.
  const chunk = Buffer.alloc(8 * MiB, 0xab);
  let streamed = 0;
  let maxBuffered = 0;
  let endEvent: FrameEvent | undefined;
  const trailer = encodeMessageFrame(MAGIC, { command: 'ping', nonce: 5n });
  for (let i = 0; i < length / chunk.length; i++) {
    for (const e of d.push(chunk)) {
      if (e.type === 'stream-data') streamed += e.chunk.length;
      else endEvent = e;
    }
    maxBuffered = Math.max(maxBuffered, d.bytesBuffered);
    if (i === 7) t.equal(streamed, 64 * MiB, 'first 64 MiB arrive as stream-data');
  }
  t.equal(streamed, length, 'all 5 GiB arrived as views');
  t.equal(maxBuffered, 0, 'never buffered');
  t.match(endEvent, { type: 'stream-end', checksumOk: true }, 'extmsg is never checksum-verified');
  t.match(d.push(trailer), [{ type: 'frame', header: { command: 'ping', extended: false } }], 'next frame follows');
  t.end();
});

t.test('extmsg: limits apply to the extended command and length', (t) => {
  const big = encodeFrameHeader(MAGIC, 'block', 5 * GiB, undefined, { peerVersion: 70016 });
  expectRefusal(t, Buffer.concat([big, Buffer.alloc(16)]), 44, { reason: 'oversized', command: 'block' }, { limits: { block: 4 * GiB } });
  const inv = encodeFrameHeader(MAGIC, 'inv', 5 * GiB, undefined, { peerVersion: 70016 });
  expectRefusal(t, Buffer.concat([inv, Buffer.alloc(16)]), 44, { reason: 'oversized', command: 'inv' });
  const huge = Buffer.from(big);
  huge.writeBigUInt64LE(0xffff_ffff_ffff_ffffn, 36);
  expectRefusal(t, huge, 44, { reason: 'oversized', command: 'block' }, { limits: { block: Number.MAX_SAFE_INTEGER } });

  const badExt = Buffer.from(big);
  badExt[26] = 0x07;
  expectRefusal(t, badExt, 44, { reason: 'bad-command', command: '0x626c07636b' });
  const nested = Buffer.from(big);
  nested.write('extmsg\0', 24, 'latin1');
  expectRefusal(t, nested, 44, { reason: 'bad-extmsg', command: 'extmsg' });
  t.end();
});

t.test('extmsg wrapping a small payload is a whole frame, not checksum-checked', (t) => {
  const payload = seededBytes(11, 100);
  const frame = encodeFrame(MAGIC, 'inv', payload, { peerVersion: 70016, forceExtended: true });
  frame.writeUInt32LE(0xdeadbeef, 20); // basic checksum: ignored
  frame.writeUInt32LE(7, 16); // basic length: ignored
  const events = decoder().push(frame);
  t.equal(events.length, 1);
  const e = events[0];
  if (e.type !== 'frame') throw new Error('expected a frame');
  t.match(e.header, { command: 'inv', length: 100, extended: true, headerSize: 44 });
  t.same(e.payload, payload);
  t.end();
});

t.test('shouldStream chooses which frames stream', (t) => {
  const tx = seededBytes(3, 500);
  const wire = Buffer.concat([encodeFrame(MAGIC, 'tx', tx), encodeFrame(MAGIC, 'block', tx)]);
  const s = summarize(decoder({ shouldStream: (h) => h.command === 'tx' }).push(wire));
  t.same(
    s.map((x) => `${x.type}:${x.command}`),
    ['stream-start:tx', 'stream-end:tx', 'frame:block'],
  );
  t.end();
});

t.test('options are validated at construction', (t) => {
  t.throws(() => new FrameDecoder({ magic: Buffer.alloc(5) }), RangeError);
  t.throws(() => new FrameDecoder({ magic: MAGIC, limits: { block: -5 } }), RangeError);
  t.end();
});

t.test("badChecksum: 'drop' skips the bad frame with a dropped event and keeps decoding", (t) => {
  const magic = Buffer.from('dab5bffa', 'hex');
  const good = encodeFrame(magic, 'ping', Buffer.alloc(8, 1));
  const bad = encodeFrame(magic, 'ping', Buffer.alloc(8, 2));
  bad[20] ^= 0xff;
  const decoder = new FrameDecoder({ magic, badChecksum: 'drop' });
  const events = decoder.push(Buffer.concat([bad, good]));
  t.same(events.map((e) => e.type), ['dropped', 'frame']);
  const dropped = events[0]!;
  t.equal(dropped.type === 'dropped' && dropped.error.reason, 'bad-checksum');
  t.equal(decoder.error, undefined, 'the decoder is not failed');
  t.throws(() => new FrameDecoder({ magic }).push(bad), { name: 'FramingError', reason: 'bad-checksum' }, "default 'fail' still throws");
  t.end();
});

t.test("onHeader 'skip' lets a payload go by unread and unbuffered, then decoding goes on", (t) => {
  const payload = seededBytes(7, 300_000);
  const wire = Buffer.concat([encodeFrame(MAGIC, 'tx', payload), encodeFrame(MAGIC, 'ping', Buffer.alloc(8, 3))]);
  const seen: string[] = [];
  const d = decoder({
    onHeader: (h) => {
      seen.push(h.command);
      return h.command === 'tx' ? 'skip' : 'read';
    },
    onBuffer: () => t.fail('a skipped payload is never gathered'),
  });
  const { events, maxBuffered } = pushInChunks(d, wire, () => 4096);
  t.same(seen, ['tx', 'ping'], 'asked once per header');
  t.same(events.map((e) => `${e.type}:${e.header.command}`), ['skipped:tx', 'frame:ping']);
  t.ok(maxBuffered <= 24, `nothing beyond a partial header is held (max ${maxBuffered})`);
  t.end();
});

t.test('onHeader refuses a 200 MB header before any payload byte is allocated', (t) => {
  const header = encodeFrameHeader(MAGIC, 'tx', 200_000_000, Buffer.alloc(4));
  const d = decoder({
    onHeader: (h) => {
      throw new FramingError(h.command, 'oversized', 'not before the handshake');
    },
  });
  t.throws(() => d.push(Buffer.concat([header, Buffer.alloc(1000)])), { name: 'FramingError', reason: 'oversized' });
  t.equal(d.bytesBuffered, 0, 'no payload buffer exists');
  t.throws(() => d.push(Buffer.alloc(10)), { name: 'FramingError', reason: 'oversized' }, 'the decoder stays failed');
  t.end();
});

t.test('onBuffer is called only for a whole frame that straddles chunks, before its buffer exists', (t) => {
  const small = encodeFrame(MAGIC, 'ping', Buffer.alloc(8, 1));
  const big = encodeFrame(MAGIC, 'inv', seededBytes(9, 100_000));
  const calls: { command: string; length: number; bufferedBefore: number }[] = [];
  const d = decoder({ onBuffer: (h) => calls.push({ command: h.command, length: h.length, bufferedBefore: d.bytesBuffered }) });
  d.push(small); // whole inside one chunk: a zero-copy view
  const { events } = pushInChunks(d, big, () => 8192);
  t.same(calls, [{ command: 'inv', length: 100_000, bufferedBefore: 0 }]);
  t.equal(events.length, 1);
  const refusing = decoder({
    onBuffer: (h) => {
      throw new RangeError(`no room for ${h.length}`);
    },
  });
  t.throws(() => refusing.push(big.subarray(0, 5000)), RangeError);
  t.equal(refusing.bytesBuffered, 0, 'refused before allocating');
  t.end();
});

t.test('push with a callback hands over each event before the next header is looked at', (t) => {
  const wire = Buffer.concat([
    encodeFrame(MAGIC, 'verack', Buffer.alloc(0)),
    encodeFrame(MAGIC, 'inv', Buffer.alloc(37)),
    encodeFrame(MAGIC, 'ping', Buffer.alloc(8)),
  ]);
  const order: string[] = [];
  const d = decoder({
    onHeader: (h) => {
      order.push(`header:${h.command}`);
      return 'read';
    },
  });
  d.push(wire, (ev) => {
    order.push(`${ev.type}:${ev.header.command}`);
    return ev.header.command !== 'inv'; // stop after inv: ping is not decoded
  });
  t.same(order, ['header:verack', 'frame:verack', 'header:inv', 'frame:inv']);
  t.end();
});

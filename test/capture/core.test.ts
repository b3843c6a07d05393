// The sans-IO capture core: records match the format's description whatever the chunk splits,
// extmsg frames are recorded under their real command and length, garbage and >4 GiB stop the capture.
import t from 'tap';
import { CaptureCore, type CapturePiece } from '../../lib/capture/core.js';
import { RecordParser } from '../../lib/capture/format.js';
import { encodeFrame } from '../../lib/framing/index.js';
import { regtest } from '../../lib/networks.js';

const MAGIC = regtest.magic;

/** A record as the format describes it, built by hand: u64 LE µs, 12-byte NUL-padded command, u32 LE length, payload. */
function handRecord(timeUs: bigint, command: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(24);
  head.writeBigUInt64LE(timeUs, 0);
  head.write(command, 8, 'latin1');
  head.writeUInt32LE(payload.length, 20);
  return Buffer.concat([head, payload]);
}

/** An extmsg frame: legacy header with command "extmsg", length 0xffffffff, checksum 0, then command and u64 length. */
function extFrame(command: string, payload: Buffer): Buffer {
  const h = Buffer.alloc(44);
  MAGIC.copy(h, 0);
  h.write('extmsg', 4, 'latin1');
  h.writeUInt32LE(0xffffffff, 16);
  h.write(command, 24, 'latin1');
  h.writeBigUInt64LE(BigInt(payload.length), 36);
  return Buffer.concat([h, payload]);
}

const payloadA = Buffer.from('0102030405060708', 'hex');
const payloadB = Buffer.alloc(300, 7);
const payloadC = Buffer.from('cafe', 'hex');
const frames = [
  encodeFrame(MAGIC, 'ping', payloadA),
  encodeFrame(MAGIC, 'verack', Buffer.alloc(0)),
  encodeFrame(MAGIC, 'block', payloadB),
  extFrame('tx', payloadC),
];
const stream = Buffer.concat(frames);
const T = 1_700_000_000_000_000n;

/** Feeds `chunks` at time T (each chunk one µs later) and returns the .dat bytes and .wire bytes emitted. */
function run(chunks: Buffer[]): { dat: Buffer; wire: Buffer; pieces: CapturePiece[] } {
  const core = new CaptureCore(MAGIC);
  const pieces: CapturePiece[] = [];
  chunks.forEach((c, i) => pieces.push(...core.push(c, T + BigInt(i))));
  const dat: Buffer[] = [];
  const wire: Buffer[] = [];
  for (const p of pieces) {
    if (p.type === 'record') {
      dat.push(p.header);
      wire.push(p.wire);
    } else if (p.type === 'payload') dat.push(p.bytes);
  }
  return { dat: Buffer.concat(dat), wire: Buffer.concat(wire), pieces };
}

/** Zero the time fields (times depend on which chunk completed each header) so splits compare. */
function withoutTimes(dat: Buffer): Buffer {
  const copy = Buffer.from(dat);
  const parser = new RecordParser();
  let offset = 0;
  for (const ev of parser.push(copy)) {
    if (ev.type === 'record') {
      copy.fill(0, offset, offset + 8);
      offset += 24 + ev.length;
    }
  }
  return copy;
}

t.test('one chunk: the records are the format, byte for byte', async (t) => {
  const { dat, wire } = run([stream]);
  const expected = Buffer.concat([
    handRecord(T, 'ping', payloadA),
    handRecord(T, 'verack', Buffer.alloc(0)),
    handRecord(T, 'block', payloadB),
    handRecord(T, 'tx', payloadC),
  ]);
  t.same(dat.toString('hex'), expected.toString('hex'));
  // .wire: the 4 checksum bytes as sent and the extmsg flag, 8 bytes per record.
  t.equal(wire.length, 32);
  t.same(wire.subarray(0, 4), frames[0]!.subarray(20, 24), 'ping checksum kept');
  t.same(wire.subarray(8, 12), Buffer.from('5df6e0e2', 'hex'), 'empty payload checksum');
  t.equal(wire[4], 0);
  t.equal(wire[28], 1, 'the extmsg frame is flagged');
});

t.test('split in two at every offset, and in three at every pair of offsets', async (t) => {
  const whole = withoutTimes(run([stream]).dat).toString('hex');
  const wire = run([stream]).wire.toString('hex');
  let bad = 0;
  let cases = 0;
  for (let i = 0; i <= stream.length; i++) {
    const r = run([stream.subarray(0, i), stream.subarray(i)]);
    cases++;
    if (withoutTimes(r.dat).toString('hex') !== whole || r.wire.toString('hex') !== wire) bad++;
    // No piece is ever empty and payload pieces never exceed what the chunk held.
    if (r.pieces.some((p) => p.type === 'payload' && p.bytes.length === 0)) bad++;
  }
  for (let i = 0; i <= stream.length; i += 3) {
    for (let j = i; j <= stream.length; j += 5) {
      const r = run([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
      cases++;
      if (withoutTimes(r.dat).toString('hex') !== whole || r.wire.toString('hex') !== wire) bad++;
    }
  }
  t.equal(bad, 0, `${cases} splits all give the same records`);
  // One byte at a time: a record's time is that of the chunk that completed its header.
  const bytewise = run([...stream].map((b) => Buffer.from([b])));
  const parser = new RecordParser();
  const times = parser.push(bytewise.dat).flatMap((ev) => (ev.type === 'record' ? [ev.timeUs - T] : []));
  t.same(times, [23n, 24n + 8n + 23n, 2n * 24n + 8n + 23n, 3n * 24n + 8n + 300n + 43n], 'time of the byte that completed each header');
});

t.test('payload pieces are views of the chunks, never gathered', async (t) => {
  const big = encodeFrame(MAGIC, 'block', Buffer.alloc(1_000_000, 1));
  const chunks: Buffer[] = [];
  for (let o = 0; o < big.length; o += 65536) chunks.push(big.subarray(o, o + 65536));
  const { pieces } = run(chunks);
  const payloads = pieces.filter((p) => p.type === 'payload');
  t.equal(payloads.length, chunks.length, 'one piece per chunk');
  t.ok(payloads.every((p) => p.type === 'payload' && chunks.some((c) => c.buffer === p.bytes.buffer)), 'each piece shares its chunk\'s memory');
});

t.test('garbage stops the capture of that direction with a note, never a throw', async (t) => {
  const bad = Buffer.from(frames[0]!);
  bad.write('fabfb5da', 0, 'hex'); // BTC's regtest magic
  const { pieces, dat } = run([frames[1]!, bad, frames[0]!]);
  t.equal(pieces.filter((p) => p.type === 'record').length, 1, 'the verack before it is recorded');
  const stop = pieces.find((p) => p.type === 'stopped');
  t.equal(stop?.type === 'stopped' && stop.reason, 'garbage');
  t.match(stop?.type === 'stopped' ? stop.detail : '', /magic fabfb5da/);
  t.same(stop?.type === 'stopped' ? stop.bytes : undefined, bad.subarray(0, 24), 'the refused header is kept for the note');
  t.equal(dat.length, 24, 'nothing after it');
  const cmd = Buffer.from(frames[0]!);
  cmd[6] = 0x01; // unprintable byte in the command
  t.equal(run([cmd]).pieces[0]?.type, 'stopped');
  // Random bytes of any size never throw.
  const core = new CaptureCore(MAGIC);
  for (let i = 0; i < 200; i++) core.push(Buffer.from(Array.from({ length: i }, (_, k) => (k * 131 + i) & 0xff)), 0n);
  t.ok(core.stopped, 'stopped on random bytes');
});

t.test('an extmsg payload over 4 GiB cannot be a record: capture stops, nothing partial is written', async (t) => {
  const h = extFrame('block', Buffer.alloc(0));
  h.writeBigUInt64LE(0x1_0000_0000n, 36);
  const { pieces, dat } = run([frames[0]!, h, Buffer.alloc(100)]);
  t.equal(dat.length, 24 + 8, 'only the ping');
  const stop = pieces.at(-1);
  t.equal(stop?.type === 'stopped' && stop.reason, 'too-large');
  // Exactly 0xffffffff still fits the u32.
  const fits = extFrame('block', Buffer.alloc(0));
  fits.writeBigUInt64LE(0xffff_ffffn, 36);
  const r = run([fits, Buffer.alloc(10)]);
  t.equal(r.pieces[0]?.type === 'record' && r.pieces[0].length, 0xffffffff);
  t.equal(r.pieces[1]?.type === 'payload' && r.pieces[1].bytes.length, 10);
});

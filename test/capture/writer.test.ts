// The capture writer's files, byte for byte against the format's description, rotation and the
// bounded queue.
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureWriter } from '../../lib/capture/writer.js';
import { encodeFrame } from '../../lib/framing/index.js';
import { regtest } from '../../lib/networks.js';
import { closeReason } from '../../lib/peer/reasons.js';

const MAGIC = regtest.magic;

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'bsvwire-capture-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The format's description, by hand: u64 LE microseconds, command NUL-padded to 12, u32 LE length, payload. */
function record(timeUs: number, command: string, payload: Buffer): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64LE(BigInt(timeUs), 0);
  Buffer.from(command, 'ascii').copy(b, 8);
  b.writeUInt32LE(payload.length, 20);
  return Buffer.concat([b, payload]);
}

t.test('one session: folder, both files and the notes, byte for byte', async (t) => {
  const dir = tempDir(t);
  let now = 1_700_000_000_000_000n;
  const writer = new CaptureWriter({ dir, network: regtest, nowUs: () => now });
  const tap = writer.tap({ address: '127.0.0.1', port: 18444, direction: 'outbound', type: 'manual' });
  const ping = encodeFrame(MAGIC, 'ping', Buffer.from('0807060504030201', 'hex'));
  const verack = encodeFrame(MAGIC, 'verack', Buffer.alloc(0));
  const block = encodeFrame(MAGIC, 'block', Buffer.alloc(100_000, 0xab));
  now += 5n;
  tap.sent(verack);
  now += 1n;
  // received in awkward pieces: a header split, a payload split over several chunks
  const recv = Buffer.concat([ping, block]);
  tap.received(recv.subarray(0, 10));
  now += 1n;
  tap.received(recv.subarray(10, 40));
  now += 1n;
  for (let o = 40; o < recv.length; o += 7000) tap.received(recv.subarray(o, o + 7000));
  tap.closed(closeReason('local', 'bye'), undefined);
  await writer.close();

  const folder = join(dir, '127.0.0.1_18444');
  t.same(readdirSync(folder).sort(), ['bsv-wire.jsonl', 'msgs_recv.dat', 'msgs_recv.wire', 'msgs_sent.dat', 'msgs_sent.wire']);
  const T = 1_700_000_000_000_000;
  // The ping's header completes in the second chunk (T+7); the block's header in the third (T+8).
  const expectedRecv = Buffer.concat([record(T + 7, 'ping', Buffer.from('0807060504030201', 'hex')), record(T + 8, 'block', Buffer.alloc(100_000, 0xab))]);
  t.ok(readFileSync(join(folder, 'msgs_recv.dat')).equals(expectedRecv), 'msgs_recv.dat is exactly the two records');
  t.ok(readFileSync(join(folder, 'msgs_sent.dat')).equals(record(T + 5, 'verack', Buffer.alloc(0))), 'msgs_sent.dat is the verack record');
  const wire = readFileSync(join(folder, 'msgs_recv.wire'));
  t.same(wire, Buffer.concat([ping.subarray(20, 24), Buffer.alloc(4), block.subarray(20, 24), Buffer.alloc(4)]), '.wire keeps each checksum as sent');
  const notes = readFileSync(join(folder, 'bsv-wire.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.same(notes, [
    { note: 'open', timeUs: T, network: 'regtest', magic: 'dab5bffa', peer: '127.0.0.1:18444', direction: 'outbound', type: 'manual' },
    { note: 'close', timeUs: T + 8, code: 'local', message: 'bye' },
  ]);
});

t.test('IPv6 folder names follow Core: [addr]:port with every colon replaced', async (t) => {
  const dir = tempDir(t);
  const writer = new CaptureWriter({ dir, network: regtest });
  const tap = writer.tap({ address: '::1', port: 8333, direction: 'inbound' });
  tap.received(encodeFrame(MAGIC, 'verack', Buffer.alloc(0)));
  tap.closed(closeReason('remote-closed', 'x'), 'because');
  await writer.close();
  t.ok(existsSync(join(dir, '[__1]_8333', 'msgs_recv.dat')));
  const notes = readFileSync(join(dir, '[__1]_8333', 'bsv-wire.jsonl'), 'utf8');
  t.match(notes, /"ban":"because"/);
});

t.test('a second session appends to the same files after its own open note', async (t) => {
  const dir = tempDir(t);
  const writer = new CaptureWriter({ dir, network: regtest });
  for (let i = 0; i < 2; i++) {
    const tap = writer.tap({ address: '127.0.0.1', port: 1, direction: 'outbound' });
    tap.received(encodeFrame(MAGIC, 'verack', Buffer.alloc(0)));
    tap.closed(closeReason('remote-closed', `session ${i}`), undefined);
  }
  await writer.close();
  const folder = join(dir, '127.0.0.1_1');
  t.equal(readFileSync(join(folder, 'msgs_recv.dat')).length, 48, 'two records');
  const notes = readFileSync(join(folder, 'bsv-wire.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).note);
  t.same(notes, ['open', 'close', 'open', 'close'], 'each session its open and close note, in order');
});

t.test('rotation: whole records per file, numbered files kept up to keepFiles', async (t) => {
  const dir = tempDir(t);
  const writer = new CaptureWriter({ dir, network: regtest, maxFileBytes: 1000, keepFiles: 2 });
  const tap = writer.tap({ address: '127.0.0.1', port: 2, direction: 'outbound' });
  const frame = encodeFrame(MAGIC, 'ping', Buffer.alloc(376, 1)); // a 400-byte record: two per file
  for (let i = 0; i < 9; i++) tap.received(frame);
  const big = encodeFrame(MAGIC, 'block', Buffer.alloc(5000, 2)); // larger than the cap: alone in its file
  tap.received(big);
  tap.closed(closeReason('local', 'done'), undefined);
  await writer.close();
  const folder = join(dir, '127.0.0.1_2');
  const dats = readdirSync(folder).filter((n) => n.endsWith('.dat')).sort();
  // 9 pings make files of 2,2,2,2,1 records; the 5000-byte block starts a new one: 6 files, 2 rotated kept.
  t.same(dats, ['msgs_recv.4.dat', 'msgs_recv.5.dat', 'msgs_recv.dat']);
  t.equal(readFileSync(join(folder, 'msgs_recv.4.dat')).length, 800);
  t.equal(readFileSync(join(folder, 'msgs_recv.5.dat')).length, 400);
  t.equal(readFileSync(join(folder, 'msgs_recv.dat')).length, 5024);
  t.equal(readFileSync(join(folder, 'msgs_recv.5.wire')).length, 8, 'the sidecar rotates with its file');
  const rotations = readFileSync(join(folder, 'bsv-wire.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"rotate"'));
  t.equal(rotations.length, 5);
});

t.test('a disk slower than the peer: the direction stops with a note, memory stays bounded', async (t) => {
  const dir = tempDir(t);
  const writer = new CaptureWriter({ dir, network: regtest, maxQueueBytes: 64 * 1024 });
  const tap = writer.tap({ address: '127.0.0.1', port: 3, direction: 'outbound' });
  const frame = encodeFrame(MAGIC, 'block', Buffer.alloc(1024 * 1024, 3));
  // 8 MiB handed over synchronously: the writer cannot have written any of it yet.
  for (let i = 0; i < 8; i++) tap.received(frame);
  t.ok(tap.backlog <= 64 * 1024 + 1024 * 1024 + 48, `backlog ${tap.backlog} stays near the bound`);
  tap.sent(encodeFrame(MAGIC, 'verack', Buffer.alloc(0)));
  tap.closed(closeReason('local', 'done'), undefined);
  await writer.close();
  const folder = join(dir, '127.0.0.1_3');
  const notes = readFileSync(join(folder, 'bsv-wire.jsonl'), 'utf8');
  t.match(notes, /"note":"stop".*"direction":"recv".*"reason":"overflow"/);
  t.ok(readFileSync(join(folder, 'msgs_recv.dat')).length < 2 * 1024 * 1024, 'what was queued is written, nothing after');
  t.equal(readFileSync(join(folder, 'msgs_sent.dat')).length, 24, 'the other direction goes on');
});

t.test('garbage on the wire: a stop note with the refused header', async (t) => {
  const dir = tempDir(t);
  const writer = new CaptureWriter({ dir, network: regtest });
  const tap = writer.tap({ address: '127.0.0.1', port: 4, direction: 'outbound' });
  tap.received(Buffer.from('this is not a bitcoin frame header at all', 'latin1'));
  tap.closed(closeReason('bad-magic', 'x'), 'bad magic');
  await writer.close();
  const notes = readFileSync(join(dir, '127.0.0.1_4', 'bsv-wire.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const stop = notes.find((n) => n.note === 'stop');
  t.equal(stop.reason, 'garbage');
  t.equal(Buffer.from(stop.bytes, 'hex').toString('latin1'), 'this is not a bitcoin fr');
});

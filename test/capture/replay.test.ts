// Capture a hostile peer live (an in-memory scripted peer against a real PeerConnection with the
// writer's tap), then replay the capture: the same close reason and ban, from the recorded bytes alone.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureWriter } from '../../lib/capture/writer.js';
import { replayCapture } from '../../lib/capture/replay.js';
import { encodeFrame } from '../../lib/framing/index.js';
import { regtest } from '../../lib/networks.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { FrameBudget } from '../../lib/peer/frame-budget.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import type { CloseReason } from '../../lib/peer/reasons.js';
import { duplexPair } from '../helpers/duplex-pair.js';
import { scriptedHandshake, sendScripted } from '../helpers/scripted-peer.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'bsvwire-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Live {
  readonly folder: string;
  readonly close: CloseReason;
  readonly ban: string | undefined;
}

/** A live inbound connection, captured, driven by `script` from the peer's side until it closes. */
async function captureLive(t: Test, script: (peer: import('node:stream').Duplex, conn: PeerConnection) => Promise<void>): Promise<Live> {
  const dir = tempDir(t);
  const writer = new CaptureWriter({ dir, network: regtest });
  const [ours, theirs] = duplexPair();
  const conn = new PeerConnection(ours, {
    network: regtest,
    direction: 'inbound',
    remote: { address: '127.0.0.9', port: 40001 },
    userAgentPolicy: ACCEPT_ANY_UA,
    frameBudget: new FrameBudget(),
    wireTap: writer.tap({ address: '127.0.0.9', port: 40001, direction: 'inbound', type: 'inbound' }),
  });
  t.teardown(() => conn.close());
  let ban: string | undefined;
  conn.on('ban', (b) => (ban = b.reason));
  const closed = new Promise<CloseReason>((resolve) => conn.once('close', resolve));
  await script(theirs, conn);
  const close = await closed;
  await writer.close();
  return { folder: join(dir, '127.0.0.9_40001'), close, ban };
}

t.test('oversized length claim after the handshake: replay bans and closes as live', async (t) => {
  const live = await captureLive(t, async (peer, conn) => {
    await scriptedHandshake(peer, conn);
    const header = encodeFrame(regtest.magic, 'ping', Buffer.alloc(8)).subarray(0, 24);
    header.writeUInt32LE(3 * 1024 * 1024, 16); // over the 2 MiB default limit
    peer.write(header);
    peer.write(Buffer.alloc(1000)); // a little of the claimed payload before we hang up
  });
  t.equal(live.close.code, 'protocol-violation');
  t.match(live.ban, /oversized|3145728/);
  const notes = readFileSync(join(live.folder, 'bsv-wire.jsonl'), 'utf8');
  t.match(notes, /"note":"close".*"code":"protocol-violation".*"ban"/);
  const events: string[] = [];
  const [r] = await replayCapture({
    folder: live.folder,
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
    onSession: (conn) => {
      conn.on('ready', () => events.push('ready'));
      conn.on('ban', () => events.push('ban'));
      conn.on('close', (c) => events.push(`close ${c.code}`));
    },
  });
  t.equal(r?.close?.code, live.close.code, 'same close code');
  t.equal(r?.ban, live.ban, 'same ban reason');
  t.same(events, ['ready', 'ban', 'close protocol-violation']);
  t.equal(r?.session.open?.direction, 'inbound');
  t.same(r?.sent.slice(0, 2), ['version', 'verack'], 'the replayed connection answered the handshake');
  t.same(r?.sent, r?.capturedSent, 'and sent what the live one sent, in order');
});

t.test('a bad-checksum flood: the .wire sidecar keeps the bad checksums, so replay bans too', async (t) => {
  const live = await captureLive(t, async (peer, conn) => {
    await scriptedHandshake(peer, conn);
    const bad = encodeFrame(regtest.magic, 'ping', Buffer.alloc(8, 1));
    bad.writeUInt32LE(0xdeadbeef, 20);
    peer.write(Buffer.concat(Array.from({ length: 10_000 }, () => bad)));
  });
  t.equal(live.close.code, 'banned');
  t.match(live.ban, /bad-checksum-flood/);
  const [r] = await replayCapture({ folder: live.folder, peerOptions: { userAgentPolicy: ACCEPT_ANY_UA } });
  t.equal(r?.close?.code, 'banned');
  t.equal(r?.ban, live.ban);
  // Without the sidecar (as in a capture Core wrote) checksums are recomputed and come out good:
  // the flood is gone, which is why bsv-wire keeps .wire.
  renameSync(join(live.folder, 'msgs_recv.wire'), join(live.folder, 'msgs_recv.wire.off'));
  const [plain] = await replayCapture({ folder: live.folder, peerOptions: { userAgentPolicy: ACCEPT_ANY_UA } });
  t.not(plain?.close?.code, 'banned');
  t.equal(plain?.ban, undefined);
});

t.test('garbage (wrong magic): the refused header from the stop note is fed, replay bans for bad magic', async (t) => {
  const live = await captureLive(t, async (peer, conn) => {
    await scriptedHandshake(peer, conn);
    peer.write(encodeFrame(Buffer.from('e3e1f3e8', 'hex'), 'ping', Buffer.alloc(8)));
  });
  t.equal(live.close.code, 'bad-magic');
  t.match(readFileSync(join(live.folder, 'bsv-wire.jsonl'), 'utf8'), /"note":"stop".*"reason":"garbage"/);
  const [r] = await replayCapture({ folder: live.folder, peerOptions: { userAgentPolicy: ACCEPT_ANY_UA } });
  t.equal(r?.close?.code, 'bad-magic');
  t.equal(r?.ban, live.ban);
});

t.test('a timeout that closed the peer live fires in replay on the capture clock', async (t) => {
  // A peer that sends version but never verack: the handshake timeout closes it. Live uses a short
  // timeout; replay gets the same option, and the capture's clock runs to the recorded close.
  const timeouts = { handshakeMs: 300 };
  const dir = tempDir(t);
  const writer = new CaptureWriter({ dir, network: regtest });
  const [ours, theirs] = duplexPair();
  const conn = new PeerConnection(ours, {
    network: regtest, direction: 'inbound', remote: { address: '127.0.0.8', port: 1 }, userAgentPolicy: ACCEPT_ANY_UA,
    timeouts, tickIntervalMs: 20, wireTap: writer.tap({ address: '127.0.0.8', port: 1, direction: 'inbound' }),
  });
  t.teardown(() => conn.close());
  const closed = new Promise<CloseReason>((resolve) => conn.once('close', resolve));
  sendScripted(theirs, { command: 'version', version: 70016, services: 1n, timestamp: 1n, addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 }, addrFrom: { services: 0n, ip: Buffer.alloc(16), port: 0 }, nonce: 7n, userAgent: '/x:1/', startHeight: 0, relay: true } as never);
  const live = await closed;
  await writer.close();
  t.equal(live.code, 'handshake-timeout');
  const [r] = await replayCapture({ folder: join(dir, '127.0.0.8_1'), peerOptions: { userAgentPolicy: ACCEPT_ANY_UA, timeouts } });
  t.equal(r?.close?.code, 'handshake-timeout', 'the timer fired on the capture clock');
});

t.test('a Core-made capture (no notes, no sidecar) replays with --network defaults', async (t) => {
  const dir = tempDir(t);
  // Hand-built per the format: a version record from the peer, then nothing (it hung up).
  const live = await captureLive(t, async (peer, conn) => {
    await scriptedHandshake(peer, conn);
    peer.end();
  });
  const folder = join(dir, 'core');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(folder);
  writeFileSync(join(folder, 'msgs_recv.dat'), readFileSync(join(live.folder, 'msgs_recv.dat')));
  const [r] = await replayCapture({ folder, network: regtest, peerOptions: { userAgentPolicy: ACCEPT_ANY_UA } });
  t.equal(r?.session.open, undefined);
  t.equal(r?.records, 2, 'version and verack');
  t.equal(r?.close?.code, 'remote-closed');
});

t.test('two sessions of one folder, an extmsg frame, rotated files: each session replays on its own', async (t) => {
  const dir = tempDir(t);
  // Small files: the capture rotates several times, and replay reads the rotated files in order.
  const writer = new CaptureWriter({ dir, network: regtest, maxFileBytes: 200, keepFiles: 100 });
  const live: { close: CloseReason; ban: string | undefined }[] = [];
  for (let session = 0; session < 2; session++) {
    const [ours, theirs] = duplexPair();
    const conn = new PeerConnection(ours, {
      network: regtest, direction: 'inbound', remote: { address: '127.0.0.7', port: 7 }, userAgentPolicy: ACCEPT_ANY_UA, frameBudget: new FrameBudget(),
      wireTap: writer.tap({ address: '127.0.0.7', port: 7, direction: 'inbound' }),
    });
    t.teardown(() => conn.close());
    let ban: string | undefined;
    conn.on('ban', (b) => (ban = b.reason));
    const closed = new Promise<CloseReason>((resolve) => conn.once('close', resolve));
    await scriptedHandshake(theirs, conn);
    if (session === 0) {
      // An extmsg ping (extended header, real command and u64 length), answered with a pong; then the peer hangs up.
      const h = Buffer.alloc(44);
      regtest.magic.copy(h, 0);
      h.write('extmsg', 4, 'latin1');
      h.writeUInt32LE(0xffffffff, 16);
      h.write('ping', 24, 'latin1');
      h.writeBigUInt64LE(8n, 36);
      const pong = new Promise<void>((resolve) => theirs.on('data', (d: Buffer) => d.includes(Buffer.from('pong')) && resolve()));
      theirs.write(Buffer.concat([h, Buffer.alloc(8, 9)]));
      await pong;
      theirs.end();
    } else {
      const header = encodeFrame(regtest.magic, 'addr', Buffer.alloc(1)).subarray(0, 24);
      header.writeUInt32LE(0xfffffff0, 16);
      theirs.write(header);
    }
    live.push({ close: await closed, ban });
    await new Promise((r) => setTimeout(r, 5)); // sessions at distinct microseconds
  }
  await writer.close();
  const folder = join(dir, '127.0.0.7_7');
  const { readdirSync } = await import('node:fs');
  t.ok(readdirSync(folder).filter((n) => /^msgs_recv\.\d+\.dat$/.test(n)).length >= 2, 'the capture rotated');
  t.same(live.map((l) => l.close.code), ['remote-closed', 'protocol-violation']);
  const results = await replayCapture({ folder, peerOptions: { userAgentPolicy: ACCEPT_ANY_UA } });
  t.equal(results.length, 2, 'two sessions');
  t.same(results.map((r) => r.close?.code), ['remote-closed', 'protocol-violation']);
  t.same(results.map((r) => r.ban), live.map((l) => l.ban));
  t.ok(results[0]!.sent.includes('pong'), 'the extmsg ping was rebuilt and answered');
  t.same(results[0]!.sent, results[0]!.capturedSent, 'session 1 sent what it sent live');
  t.equal(results[0]!.records, 3, 'version, verack, ping');
});

t.test('--realtime keeps the capture\'s spacing; the default runs as fast as it can', async (t) => {
  const dir = tempDir(t);
  const writer = new CaptureWriter({ dir, network: regtest });
  const [ours, theirs] = duplexPair();
  const conn = new PeerConnection(ours, {
    network: regtest, direction: 'inbound', remote: { address: '127.0.0.6', port: 6 }, userAgentPolicy: ACCEPT_ANY_UA,
    wireTap: writer.tap({ address: '127.0.0.6', port: 6, direction: 'inbound' }),
  });
  t.teardown(() => conn.close());
  const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
  await scriptedHandshake(theirs, conn);
  await new Promise((r) => setTimeout(r, 400));
  sendScripted(theirs, { command: 'ping', nonce: 1n });
  await new Promise((r) => setTimeout(r, 50));
  theirs.end();
  await closed;
  await writer.close();
  const folder = join(dir, '127.0.0.6_6');
  let started = Date.now();
  const [fast] = await replayCapture({ folder, peerOptions: { userAgentPolicy: ACCEPT_ANY_UA } });
  const fastMs = Date.now() - started;
  started = Date.now();
  const [slow] = await replayCapture({ folder, realtime: true, peerOptions: { userAgentPolicy: ACCEPT_ANY_UA } });
  const slowMs = Date.now() - started;
  t.equal(fast?.close?.code, 'remote-closed');
  t.equal(slow?.close?.code, 'remote-closed');
  t.ok(slowMs >= 400, `realtime took ${slowMs} ms for a capture spanning over 400 ms`);
  t.ok(fastMs < slowMs, `as fast as possible took ${fastMs} ms`);
});

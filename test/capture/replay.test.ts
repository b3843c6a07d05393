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

// --capture and replay end to end with the built command: a session against the bcash regtest node,
// and sessions with scripted hostile loopback peers, captured by `connect --capture`, then replayed by
// `replay`: the same events (handshake, block, ban, close) in the same order with the same fields, and --check
// passing. Only loopback is touched.
import t, { type Test } from 'tap';
import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordParser } from '../../lib/capture/format.js';
import { encodeFrame, FrameDecoder } from '../../lib/framing/index.js';
import { regtest } from '../../lib/networks.js';
import { startRegtestNode, type RegtestNode } from '../helpers/regtest.js';
import { scriptedVersion, sendScripted } from '../helpers/scripted-peer.js';
import { jsonEvents, runCli, startCli, tempDir } from './fixtures/run-cli.js';

/** What replay prints: the per-peer events, blocks included (placed by the headers replayed from genesis). */
const PER_PEER = new Set(['handshake', 'block', 'ban', 'close']);
const withoutTime = (e: Record<string, unknown>): Record<string, unknown> => {
  const { time: _time, ...rest } = e;
  return rest;
};

function records(file: string): { command: string; length: number; timeUs: bigint }[] {
  const out: { command: string; length: number; timeUs: bigint }[] = [];
  for (const ev of new RecordParser().push(readFileSync(file))) if (ev.type === 'record') out.push({ command: ev.command, length: ev.length, timeUs: ev.timeUs });
  return out;
}

t.test('against the regtest node: capture a session, replay it, the same events', async (t) => {
  let node: RegtestNode | undefined;
  t.teardown(() => node?.stop());
  node = await startRegtestNode();
  await node.mine(3);
  const dataDir = tempDir(t);
  const capture = tempDir(t);
  const peer = `127.0.0.1:${node.p2pPort}`;
  const run = startCli(['connect', '--network', 'regtest', '--json', '--datadir', dataDir, '--peer', peer, '--capture', capture]);
  await run.waitForLine((l) => l.includes('"event":"handshake"'), 20_000, 'handshake');
  const [mined] = await node.mine(1);
  await run.waitForLine((l) => l.includes('"event":"block"') && l.includes(mined!), 15_000, 'the mined block');
  run.child.kill('SIGINT');
  const live = await run.done;
  t.equal(live.code, 0, live.stderr);

  const folder = join(capture, `127.0.0.1_${node.p2pPort}`);
  t.same(readdirSync(capture), [`127.0.0.1_${node.p2pPort}`], 'one folder, named as Core names it');
  const recv = records(join(folder, 'msgs_recv.dat'));
  const sent = records(join(folder, 'msgs_sent.dat'));
  t.same(recv.slice(0, 2).map((r) => r.command), ['version', 'verack'], 'the node answered version, verack');
  t.equal(sent[0]?.command, 'version', 'we spoke first');
  t.ok(recv.some((r) => r.command === 'inv' || r.command === 'headers'), 'the block announcement is in the capture');
  t.ok(recv.every((r, i) => i === 0 || r.timeUs >= recv[i - 1]!.timeUs), 'times never go back');
  const nowUs = BigInt(Date.now()) * 1000n;
  t.ok(recv[0]!.timeUs > nowUs - 600_000_000n && recv[0]!.timeUs <= nowUs, 'times are microseconds since the epoch');

  const replay = await runCli(['replay', capture, '--json', '--check']);
  t.equal(replay.code, 0, `replay --check passes; stderr: ${replay.stderr}`);
  const liveEvents = jsonEvents(live.stdout).filter((e) => PER_PEER.has(e.event as string));
  const replayed = jsonEvents(replay.stdout);
  t.ok(liveEvents.length >= 3, 'live: a handshake, the mined block and a close');
  t.ok(replayed.some((e) => e.event === 'block' && e.hash === mined && e.height === 4), 'the replay places the mined block at height 4');
  t.same(replayed.map(withoutTime), liveEvents.map(withoutTime), 'the same events, same fields, same order');
  t.match(replay.stderr, /session 1: \d+ frames fed; closed local; live: local; sent \d+ frames, all in the capture's \d+ in order/);
  // Event times are the capture's, within the live session.
  const liveHandshake = Date.parse(liveEvents[0]!.time as string);
  t.ok(Math.abs(Date.parse(replayed[0]!.time as string) - liveHandshake) < 1000, 'the handshake is dated by the capture clock');
});

t.test('follow --capture: blocks stream into the capture whole, and the session replays', async (t) => {
  let node: RegtestNode | undefined;
  t.teardown(() => node?.stop());
  node = await startRegtestNode();
  await node.mine(5);
  const capture = tempDir(t);
  const peer = `127.0.0.1:${node.p2pPort}`;
  // From an empty data directory follow starts after the header tip; mining after it is up gives it blocks to fetch.
  const run = startCli(['follow', '--network', 'regtest', '--datadir', tempDir(t), '--peer', peer, '--capture', capture, '--duration', '30']);
  await run.waitForLine((l) => l.includes('"event":"following"'), 30_000, 'following');
  const mined = await node.mine(2);
  await run.waitForLine((l) => l.includes(mined[1]!), 20_000, 'the second mined block');
  run.child.kill('SIGINT');
  const live = await run.done;
  t.equal(live.code, 0, live.stderr);
  const folder = join(capture, `127.0.0.1_${node.p2pPort}`);
  const blocks = records(join(folder, 'msgs_recv.dat')).filter((r) => r.command === 'block');
  t.ok(blocks.length >= 2, `${blocks.length} block records`);
  const sizes = await Promise.all(mined.map(async (h) => ((await node!.rpc('getblock', [h, false])) as string).length / 2));
  for (const size of sizes) t.ok(blocks.some((b) => b.length === size), `a ${size}-byte block recorded whole`);
  const replay = await runCli(['replay', capture, '--check']);
  t.equal(replay.code, 0, `replay --check: ${replay.stderr}`);
  t.match(replay.stderr, /closed local; live: local/);
});

t.test('--capture into a directory that cannot be written: one clear error, exit 2', async (t) => {
  // Under a regular file: no directory can be made there, whoever runs the test (root included).
  const file = join(tempDir(t), 'a-file');
  writeFileSync(file, '');
  const r = await runCli(['connect', '--network', 'regtest', '--peer', '127.0.0.1:1', '--capture', join(file, 'capture'), '--duration', '1']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--capture: cannot write to .*a-file\/capture/);
});

/** A loopback peer that does the handshake, then runs `hostile` on every connection. */
async function hostilePeer(t: Test, hostile: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const decoder = new FrameDecoder({ magic: regtest.magic });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const ev of decoder.push(chunk)) {
          if (ev.type !== 'frame') continue;
          if (ev.header.command === 'version') {
            sendScripted(socket, scriptedVersion());
            sendScripted(socket, { command: 'verack' });
          } else if (ev.header.command === 'verack') hostile(socket);
        }
      } catch {
        socket.destroy();
      }
    });
  });
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function captureHostile(t: Test, hostile: (socket: Socket) => void): Promise<{ live: Record<string, unknown>[]; capture: string; port: number }> {
  const port = await hostilePeer(t, hostile);
  const capture = tempDir(t);
  const run = startCli(['connect', '--network', 'regtest', '--json', '--datadir', tempDir(t), '--peer', `127.0.0.1:${port}`, '--capture', capture]);
  await run.waitForLine((l) => l.includes('"event":"close"'), 20_000, 'the hostile peer closed');
  run.child.kill('SIGINT');
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  return { live: jsonEvents(result.stdout).filter((e) => PER_PEER.has(e.event as string)), capture, port };
}

t.test('hostile: an oversized length claim; replay gives the same ban and close', async (t) => {
  const { live, capture } = await captureHostile(t, (socket) => {
    const header = encodeFrame(regtest.magic, 'inv', Buffer.alloc(1)).subarray(0, 24);
    header.writeUInt32LE(50 * 1024 * 1024, 16); // 50 MiB claimed for an inv: over the 2 MiB limit
    socket.write(header);
  });
  const firstClose = live.find((e) => e.event === 'close')!;
  t.match(firstClose, { code: 'protocol-violation' });
  t.ok(live.some((e) => e.event === 'ban'), 'live: banned');
  const replay = await runCli(['replay', capture, '--json', '--check', '--expect-close', 'protocol-violation', '--expect-ban']);
  t.equal(replay.code, 0, `replay passes its checks; stderr: ${replay.stderr}`);
  t.same(jsonEvents(replay.stdout).map(withoutTime), live.map(withoutTime), 'same events in order');
  // The same capture does not pass for another expectation: the check can fail.
  const wrong = await runCli(['replay', capture, '--expect-close', 'bad-magic']);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /replay differs: expected close bad-magic, got protocol-violation/);
});

t.test('hostile: a bad-checksum flood; replay gives the same ban and close', async (t) => {
  const { live, capture, port } = await captureHostile(t, (socket) => {
    const bad = encodeFrame(regtest.magic, 'ping', Buffer.alloc(8, 1));
    bad.writeUInt32LE(0x01020304, 20);
    socket.write(Buffer.concat(Array.from({ length: 10_000 }, () => bad)));
  });
  t.match(live.find((e) => e.event === 'close'), { code: 'banned' });
  t.match(live.find((e) => e.event === 'ban'), { reason: /bad-checksum-flood/ });
  const wire = readFileSync(join(capture, `127.0.0.1_${port}`, 'msgs_recv.wire'));
  t.ok(wire.length >= 8 * 10_002, 'a checksum entry per record');
  const replay = await runCli(['replay', capture, '--json', '--check', '--expect-close', 'banned', '--expect-ban']);
  t.equal(replay.code, 0, `replay passes its checks; stderr: ${replay.stderr}`);
  t.same(jsonEvents(replay.stdout).map(withoutTime), live.map(withoutTime), 'same events in order');
});

// Integration: a real bcash regtest node on loopback (test/helpers/regtest.ts).
import net from 'node:net';
import t from 'tap';
import { PayloadWriter } from '../../lib/encoding/writer.js';
import { sha256d } from '../../lib/hash.js';
import { PROTOCOL_VERSION, regtest } from '../../lib/networks.js';
import { TransportError } from '../../lib/transport/errors.js';
import { dialTcp } from '../../lib/transport/tcp.js';
import { startRegtestNode } from '../helpers/regtest.js';

const STEP_TIMEOUT_MS = 10_000;

/** A frame built by hand, so this test does not depend on the framing layer under test elsewhere. */
function frame(command: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(24);
  regtest.magic.copy(header, 0);
  header.write(command, 4, 'ascii');
  header.writeUInt32LE(payload.length, 16);
  sha256d(payload).copy(header, 20, 0, 4);
  return Buffer.concat([header, payload]);
}

function netAddr(w: PayloadWriter, ipv4: string, port: number): void {
  w.u64('services', 0n);
  w.bytes('ip', Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), Buffer.from(ipv4.split('.').map(Number))]), 16);
  w.u16be('port', port);
}

function versionPayload(remotePort: number): Buffer {
  const w = new PayloadWriter('version');
  w.i32('version', PROTOCOL_VERSION);
  w.u64('services', 0n);
  w.i64('timestamp', BigInt(Math.floor(Date.now() / 1000)));
  netAddr(w, '127.0.0.1', remotePort);
  netAddr(w, '127.0.0.1', 0);
  w.u64('nonce', 0x1122334455667788n);
  w.varStr('userAgent', '/bsv-wire-test:0.1.0/');
  w.i32('startHeight', 0);
  w.bool('relay', true);
  return w.render();
}

interface RawFrame {
  magic: Buffer;
  commandBytes: Buffer;
  command: string;
  payload: Buffer;
  checksumOk: boolean;
}

/** Read whole frames from the socket until `want` frames are seen or the time runs out. */
function readFrames(socket: net.Socket, until: (frames: RawFrame[]) => boolean): Promise<RawFrame[]> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const frames: RawFrame[] = [];
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      if (err) reject(err);
      else resolve(frames);
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 24) {
        const length = buffered.readUInt32LE(16);
        if (length > 1_000_000) return done(new Error(`unexpected frame length ${length}`));
        if (buffered.length < 24 + length) break;
        const commandBytes = buffered.subarray(4, 16);
        const payload = buffered.subarray(24, 24 + length);
        frames.push({
          magic: buffered.subarray(0, 4),
          commandBytes,
          command: commandBytes.toString('ascii').replace(/\0+$/, ''),
          payload,
          checksumOk: sha256d(payload).subarray(0, 4).equals(buffered.subarray(20, 24)),
        });
        buffered = buffered.subarray(24 + length);
      }
      if (until(frames)) done();
    };
    const onClose = (): void => done(new Error(`closed after ${frames.map((f) => f.command).join(',') || 'nothing'}`));
    const timer = setTimeout(() => done(new Error(`timed out; got ${frames.map((f) => f.command).join(',') || 'nothing'}`)), STEP_TIMEOUT_MS);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}

const node = await startRegtestNode();
t.teardown(() => node.stop()); // idempotent: the last test stops it too
t.comment(`regtest node ready in ${node.startMs} ms (p2p ${node.p2pPort}, rpc ${node.rpcPort})`);

t.test('the node accepts TCP on its P2P port and mines on request', async (t) => {
  const socket = await dialTcp(node.host, node.p2pPort, { timeoutMs: STEP_TIMEOUT_MS });
  t.equal(socket.remotePort, node.p2pPort);
  socket.destroy();

  t.equal(await node.rpc('getblockcount'), 0, 'a fresh node starts at genesis');
  t.equal(await node.rpc('getblockhash', [0]), regtest.genesisHash, 'same regtest genesis as lib/networks');
  const hashes = await node.mine(10);
  t.equal(hashes.length, 10);
  t.equal(await node.rpc('getblockcount'), 10);
  t.equal(await node.rpc('getblockhash', [10]), hashes[9], 'the last mined hash is the tip');
  await t.rejects(node.rpc('nosuchmethod'), /RPC nosuchmethod/, 'RPC errors reject');
});

t.test('a hand-built version gets a version and verack back, with the regtest magic on the wire', async (t) => {
  const socket = await dialTcp(node.host, node.p2pPort, { timeoutMs: STEP_TIMEOUT_MS });
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  const reply = readFrames(socket, (frames) => frames.some((f) => f.command === 'verack'));
  socket.write(frame('version', versionPayload(node.p2pPort)));
  const frames = await reply;

  const version = frames.find((f) => f.command === 'version');
  if (!version) throw new Error('no version frame');
  t.same(version.magic, Buffer.from('dab5bffa', 'hex'), 'bcash regtest sends da b5 bf fa');
  t.same(version.magic, regtest.magic, '= lib/networks regtest magic');
  t.same(version.commandBytes, Buffer.from('version\0\0\0\0\0', 'ascii'), 'command is NUL-padded ASCII');
  t.ok(version.checksumOk, 'payload checksum is the first 4 bytes of sha256d');
  t.equal(version.payload.readInt32LE(0), 70015, 'bcash speaks 70015');
  // version(4) services(8) time(8) addr_recv(26) addr_from(26) nonce(8), then the user agent.
  const uaOffset = 4 + 8 + 8 + 26 + 26 + 8;
  const uaLength = version.payload[uaOffset];
  t.equal(version.payload.subarray(uaOffset + 1, uaOffset + 1 + uaLength).toString('ascii'), '/bcash:1.1.1/');

  // Finish the handshake and check it holds: verack, then ping -> pong with our nonce.
  const after = readFrames(socket, (fs) => fs.some((f) => f.command === 'pong'));
  socket.write(frame('verack', Buffer.alloc(0)));
  const nonce = Buffer.from('0102030405060708', 'hex');
  socket.write(frame('ping', nonce));
  const later = await after;
  const pong = later.find((f) => f.command === 'pong');
  t.same(pong?.payload, nonce, 'pong echoes the ping nonce');
  t.same(node.bans, [], 'the node found nothing to ban');
});

t.test('after stop() the P2P port refuses connections', async (t) => {
  const port = node.p2pPort;
  await node.stop();
  const error = await dialTcp('127.0.0.1', port, { timeoutMs: STEP_TIMEOUT_MS }).then(
    () => null,
    (err: unknown) => err,
  );
  t.type(error, TransportError);
  t.equal((error as TransportError).code, 'refused');
});

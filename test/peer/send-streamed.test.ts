// PeerConnection.sendStreamed: a frame written piece by piece (a block served from disk) is never
// interleaved with the connection's own output, such as the pongs it owes meanwhile.
import t, { type Test } from 'tap';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';
import { onRawFrames, scriptedHandshake } from '../helpers/scripted-peer.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { regtest } from '../../lib/networks.js';
import { encodeMessageFrame } from '../../lib/framing/index.js';
import { sha256d } from '../../lib/hash.js';
import type { Message } from '../../lib/messages/index.js';
import type { CloseReason } from '../../lib/peer/reasons.js';

interface Seen {
  readonly command: string;
  readonly payload: Buffer;
}

/** Our connection after a scripted handshake, with a raw decoder on the other end that records each frame (or the framing error that interleaving would cause). */
async function readyPair(t: Test): Promise<{ conn: PeerConnection; theirs: Duplex; seen: Seen[]; errors: Error[] }> {
  const [ours, theirs] = duplexPair();
  const seen: Seen[] = [];
  const errors: Error[] = [];
  onRawFrames(theirs, (command, payload) => seen.push({ command, payload: Buffer.from(payload) }), (err) => errors.push(err));
  const conn = new PeerConnection(ours, { network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA });
  t.teardown(() => conn.close());
  await scriptedHandshake(theirs, conn);
  return { conn, theirs, seen, errors };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('pongs owed while a streamed frame is written follow it, and the frame arrives whole', async (t) => {
  const { conn, theirs, seen, errors } = await readyPair(t);
  await tick();
  seen.length = 0;
  const payload = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
  let pings = 0;
  async function* pieces(): AsyncGenerator<Buffer> {
    for (let at = 0; at < payload.length; at += 64 * 1024) {
      // The peer pings between our pieces: each pong is owed while the block is half written.
      if (pings < 5) theirs.write(encodeMessageFrame(regtest.magic, { command: 'ping', nonce: BigInt(++pings) } as Message));
      await tick();
      yield payload.subarray(at, at + 64 * 1024);
    }
  }
  const ok = await conn.sendStreamed('block', payload.length, sha256d(payload).subarray(0, 4), pieces());
  for (let i = 0; i < 20 && seen.length < 6; i++) await tick();
  t.equal(ok, true, 'the streamed frame was written whole');
  t.same(errors, [], 'the other side decoded every byte as frames (no bad checksum, no bad magic)');
  t.same(seen.map((s) => s.command), ['block', 'pong', 'pong', 'pong', 'pong', 'pong'], 'the block first, then the 5 pongs owed meanwhile');
  t.ok(seen[0]?.payload.equals(payload), 'the block payload is the bytes given');
  t.equal(conn.state, 'ready', 'the connection is still ready');
});

t.test('pieces that fall short of the declared length close the connection: the frame cannot be finished', async (t) => {
  const { conn } = await readyPair(t);
  const closed = new Promise<CloseReason>((resolve) => conn.once('close', resolve));
  const ok = await conn.sendStreamed('block', 1000, Buffer.alloc(4), [Buffer.alloc(400)]);
  t.equal(ok, false, 'reported as not sent');
  t.match(await closed, { code: 'local' }, 'closed by us, not blamed on the peer');
  t.equal(await conn.sendStreamed('block', 1, Buffer.alloc(4), [Buffer.alloc(1)]), false, 'a closed connection sends nothing');
});

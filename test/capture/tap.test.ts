// The WireTap hook on PeerConnection: it sees exactly the bytes both ways, a promise from received()
// pauses reading until it settles, a throwing tap is taken off, and nothing is tapped after the close.
import t from 'tap';
import { PeerConnection } from '../../lib/peer/connection.js';
import { FrameDecoder } from '../../lib/framing/index.js';
import { regtest } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { duplexPair } from '../helpers/duplex-pair.js';
import { scriptedHandshake, sendScripted } from '../helpers/scripted-peer.js';

t.test('the tap sees every byte both ways, in order, and is told of the close', async (t) => {
  const [ours, theirs] = duplexPair();
  const received: Buffer[] = [];
  const sent: Buffer[] = [];
  const theirWrites: Buffer[] = [];
  const ourWrites: Buffer[] = [];
  let closedWith: string | undefined;
  const conn = new PeerConnection(ours, {
    network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA,
    wireTap: { received: (c) => void received.push(Buffer.from(c)), sent: (c) => void sent.push(Buffer.from(c)), closed: (r) => (closedWith = r.code) },
  });
  t.teardown(() => conn.close());
  theirs.on('data', (d: Buffer) => ourWrites.push(d));
  const write = theirs.write.bind(theirs);
  theirs.write = ((chunk: Buffer, ...rest: never[]) => {
    theirWrites.push(Buffer.from(chunk));
    return write(chunk, ...rest);
  }) as typeof theirs.write;
  await scriptedHandshake(theirs, conn);
  sendScripted(theirs, { command: 'ping', nonce: 5n });
  await new Promise((r) => setTimeout(r, 50));
  await conn.close();
  t.same(Buffer.concat(received), Buffer.concat(theirWrites), 'received = what the peer wrote');
  t.same(Buffer.concat(sent), Buffer.concat(ourWrites), 'sent = what reached the peer');
  const commands = new FrameDecoder({ magic: regtest.magic }).push(Buffer.concat(sent)).map((e) => (e.type === 'frame' ? e.header.command : e.type));
  t.same(commands.slice(0, 2), ['version', 'verack']);
  t.ok(commands.includes('pong'));
  t.equal(closedWith, 'local');
  const after = received.length;
  theirs.write(Buffer.alloc(10));
  await new Promise((r) => setTimeout(r, 20));
  t.equal(received.length, after, 'nothing tapped after the close');
});

t.test('a promise from received() holds reading paused until it settles', async (t) => {
  const [ours, theirs] = duplexPair();
  let release: () => void = () => {};
  let hold = false;
  const conn = new PeerConnection(ours, {
    network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA,
    wireTap: { received: () => (hold ? new Promise<void>((r) => (release = r)) : undefined), sent: () => {} },
  });
  t.teardown(() => conn.close());
  await scriptedHandshake(theirs, conn);
  hold = true;
  sendScripted(theirs, { command: 'ping', nonce: 6n });
  await new Promise((r) => setTimeout(r, 20));
  t.equal(conn.readingPaused, true, 'paused while the tap is behind');
  hold = false;
  release();
  await new Promise((r) => setTimeout(r, 20));
  t.equal(conn.readingPaused, false, 'reading again once it settled');
});

t.test('a throwing tap is taken off and reported; the connection carries on', async (t) => {
  const [ours, theirs] = duplexPair();
  let calls = 0;
  const conn = new PeerConnection(ours, {
    network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA,
    wireTap: { received: () => { calls++; throw new Error('tap broke'); }, sent: () => {} },
  });
  t.teardown(() => conn.close());
  const errors: unknown[] = [];
  conn.on('listenerError', (e) => errors.push(e));
  await scriptedHandshake(theirs, conn);
  t.equal(conn.state, 'ready', 'the handshake completed anyway');
  t.equal(calls, 1, 'called once, then detached');
  t.match(String(errors[0]), /tap broke/);
});

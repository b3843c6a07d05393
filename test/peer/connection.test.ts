import t from 'tap';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';
import { PeerConnection, type PeerConnectionOptions } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { PeerError } from '../../lib/peer/reasons.js';
import { regtest } from '../../lib/networks.js';
import { fromDisplayHex } from '../../lib/hash.js';
import { FrameDecoder, encodeMessageFrame, encodeFrame } from '../../lib/framing/index.js';
import { decodeMessage, type Message, type MessageOf } from '../../lib/messages/index.js';
import { blockCodec } from '../../lib/messages/block.js';
import { encodeBlockHeader, blockHash, type BlockHeader } from '../../lib/messages/block-header.js';
import { merkleRoot } from '../../lib/messages/merkle.js';
import { rawTransaction } from '../../lib/messages/transaction.js';

/** The connection's private request waiters, to check that a settled request leaves none behind. */
const waiters = (conn: PeerConnection): { listenerCount(event: string): number } =>
  (conn as unknown as { replyWaiters: { listenerCount(event: string): number } }).replyWaiters;

/** A scripted peer speaking raw frames, so tests control exactly what arrives. */
class ScriptedPeer {
  readonly received: Message[] = [];
  private readonly decoder = new FrameDecoder({ magic: regtest.magic, shouldStream: () => false });
  private waiters: { cmd: string; resolve: (m: Message) => void }[] = [];
  constructor(readonly stream: Duplex) {
    // Our side closing aborts the crossed pair; that is expected here.
    stream.on('error', () => {});
    stream.on('data', (chunk: Buffer) => {
      for (const ev of this.decoder.push(chunk)) {
        if (ev.type !== 'frame') continue;
        const m = decodeMessage(ev.header.command, ev.payload);
        this.received.push(m);
        const i = this.waiters.findIndex((w) => w.cmd === m.command);
        if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
      }
    });
  }
  send(m: Message): void {
    this.stream.write(encodeMessageFrame(regtest.magic, m, { peerVersion: 70016 }));
  }
  next<C extends Message['command']>(cmd: C): Promise<MessageOf<C>> {
    const have = this.received.findIndex((m) => m.command === cmd);
    if (have >= 0) return Promise.resolve(this.received.splice(have, 1)[0] as MessageOf<C>);
    return new Promise((resolve) => this.waiters.push({ cmd, resolve: resolve as (m: Message) => void }));
  }
  version(): MessageOf<'version'> {
    return {
      command: 'version', version: 70016, services: 1n, timestamp: 1n,
      addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 },
      addrFrom: { services: 1n, ip: Buffer.alloc(16), port: 0 },
      nonce: 42n, userAgent: '/scripted:1/', startHeight: 5, relay: true,
    };
  }
  async handshake(): Promise<void> {
    await this.next('version');
    this.send(this.version());
    this.send({ command: 'verack' });
    await this.next('verack');
  }
}

/** An outbound PeerConnection over an in-memory pair to a ScriptedPeer, before the handshake. */
function scripted(opts: Partial<PeerConnectionOptions> = {}): { peer: ScriptedPeer; conn: PeerConnection; ours: Duplex } {
  const [ours, theirs] = duplexPair();
  const peer = new ScriptedPeer(theirs);
  const conn = new PeerConnection(ours, { network: regtest, direction: 'outbound', userAgentPolicy: ACCEPT_ANY_UA, ...opts });
  return { peer, conn, ours };
}

async function handshake(peer: ScriptedPeer, conn: PeerConnection): Promise<void> {
  await peer.handshake();
  await conn.ready(5000);
}

/** scripted() with the handshake done. */
async function readyScripted(): Promise<ReturnType<typeof scripted>> {
  const pair = scripted();
  await handshake(pair.peer, pair.conn);
  return pair;
}

t.test('two PeerConnections complete a handshake over an in-memory pair and ping', async (t) => {
  const [a, b] = duplexPair();
  // Separate nonce sets: with the shared default, the pair would rightly look like a self-connection.
  const out = new PeerConnection(a, { network: regtest, direction: 'outbound', userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set() });
  const inb = new PeerConnection(b, { network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA, selfNonces: new Set() });
  const states: string[] = [];
  out.on('state', (s) => states.push(s.to));
  const [vIn, vOut] = await Promise.all([out.ready(5000), inb.ready(5000)]);
  t.equal(vIn.userAgent, '/bsv-wire:0.1.0/');
  t.equal(vOut.version, 70016);
  t.same(states.slice(-2), ['awaiting-verack', 'ready'], 'state events after construction');
  const rtt = await out.ping(5000);
  t.ok(rtt >= 0);
  t.ok(out.rtt.samples >= 1);
  const s = out.stats();
  t.ok(s.sentPerCommand.version && s.sentPerCommand.verack && s.sentPerCommand.protoconf);
  t.ok(s.receivedPerCommand.version!.bytes > 24);
  t.equal(s.bytesReceived, Object.values(s.receivedPerCommand).reduce((n, c) => n + c.bytes, 0), 'per-command bytes add up');
  await out.close();
  t.equal(out.state, 'closed');
  t.equal(out.closeReason?.code, 'local');
});

t.test('a connection to ourselves is detected through the shared nonce set', async (t) => {
  const [a, b] = duplexPair();
  const out = new PeerConnection(a, { network: regtest, direction: 'outbound', userAgentPolicy: ACCEPT_ANY_UA });
  const inb = new PeerConnection(b, { network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA });
  const err: unknown = await inb.ready(5000).catch((e: unknown) => e);
  t.equal((err as PeerError).reason?.code, 'self-connection');
  await t.rejects(out.ready(5000));
});

t.test('getHeaders, getBlock streaming, getTx, sendTx against a scripted peer', async (t) => {
  const { peer, conn } = await readyScripted();

  const coinbase = rawTransaction(Buffer.from('01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0401020304ffffffff0100f2052a010000000151000000000', 'hex').subarray(0, 85));
  const other = rawTransaction(Buffer.from('0100000000' + '01' + '0000000000000000' + '0151' + '00000000', 'hex'));
  const header = { version: 1, prevBlock: Buffer.alloc(32, 7), merkleRoot: merkleRoot([coinbase.txid, other.txid]), timestamp: 1, bits: 0x207fffff, nonce: 0 };
  const hash = blockHash(header);

  const headersP = conn.getHeaders([Buffer.alloc(32, 7)], undefined, { timeoutMs: 5000 });
  const gh = await peer.next('getheaders');
  t.equal(gh.locator.length, 1);
  peer.send({ command: 'headers', headers: [{ ...header, txCount: 0 }] } as Message);
  const headers = await headersP;
  t.equal(headers.headers.length, 1);

  const txids: string[] = [];
  conn.on('blockTx', (tx) => txids.push(tx.txid.toString('hex')));
  let sawHeader = false;
  conn.on('blockHeader', (h) => (sawHeader = h.hash.equals(hash)));
  const blockP = conn.getBlock(hash, { timeoutMs: 5000 });
  const gd = await peer.next('getdata');
  t.equal(gd.inventory[0]!.type, 2);
  const payload = blockCodec.encode({ command: 'block', header, transactions: [coinbase, other] });
  const frame = encodeFrame(regtest.magic, 'block', payload);
  for (let i = 0; i < frame.length; i += 7) peer.stream.write(frame.subarray(i, i + 7));
  const end = await blockP;
  t.equal(end.txCount, 2);
  t.equal(end.checksumOk, true);
  t.equal(end.merkleRootOk, true);
  t.ok(sawHeader);
  t.same(txids, [coinbase.txid.toString('hex'), other.txid.toString('hex')]);

  const txP = conn.getTx(other.txid, { timeoutMs: 5000 });
  await peer.next('getdata');
  peer.send({ command: 'tx', ...other });
  t.ok((await txP).txid.equals(other.txid));

  const missingP = conn.getTx(Buffer.alloc(32, 9), { timeoutMs: 5000 });
  await peer.next('getdata');
  peer.send({ command: 'notfound', inventory: [{ type: 1, hash: Buffer.alloc(32, 9) }] } as Message);
  await t.rejects(missingP, /no transaction/);

  conn.sendTx({ command: 'tx', ...other });
  const inv = await peer.next('inv');
  t.ok(inv.inventory[0]!.hash.equals(other.txid));
  peer.send({ command: 'getdata', inventory: [{ type: 1, hash: other.txid }] } as Message);
  const served = await peer.next('tx');
  t.ok(served.raw.equals(other.raw), 'served the announced tx on getdata');
  await conn.close();
});

t.test('getTx answered with notfound leaves no listener or timer behind', async (t) => {
  const { peer, conn } = await readyScripted();
  const closeListeners = waiters(conn).listenerCount('close');
  const missingP = conn.getTx(Buffer.alloc(32, 9), { timeoutMs: 5000 });
  await peer.next('getdata');
  peer.send({ command: 'notfound', inventory: [{ type: 1, hash: Buffer.alloc(32, 9) }] } as Message);
  await t.rejects(missingP, /no transaction/);
  t.equal(waiters(conn).listenerCount('tx'), 0, 'the tx waiter is gone');
  t.equal(waiters(conn).listenerCount('notfound'), 0, 'the notfound watcher is gone');
  t.equal(waiters(conn).listenerCount('close'), closeListeners, 'the close waiter is gone');
  await conn.close();
});

t.test('a request whose send throws rejects with that error and leaves no waiter behind', async (t) => {
  const { peer, conn } = await readyScripted();
  const closeListeners = waiters(conn).listenerCount('close');
  const locator = Array.from({ length: 40_000 }, () => Buffer.alloc(32));
  await t.rejects(conn.getHeaders(locator, undefined, { timeoutMs: 5000 }), /exceeds the peer's limit/);
  t.equal(waiters(conn).listenerCount('headers'), 0, 'the headers waiter is gone');
  t.equal(waiters(conn).listenerCount('close'), closeListeners, 'the close waiter is gone');
  t.equal(conn.state, 'ready');
  await conn.close();
});

t.test('getHeaders takes the reply to its locator, not a sendheaders announcement that arrives first', async (t) => {
  const { peer, conn } = await readyScripted();
  const fork = Buffer.alloc(32, 0x11);
  const older = Buffer.alloc(32, 0x22);
  const mk = (prevBlock: Buffer, nonce: number): BlockHeader => ({ version: 1, prevBlock, merkleRoot: Buffer.alloc(32, 3), timestamp: 1000 + nonce, bits: 0x207fffff, nonce });
  const replyFirst = mk(fork, 1);
  const replySecond = mk(blockHash(replyFirst), 2);
  // The peer's new tip, announced because of sendheaders: it builds on the peer's tip, not on our locator.
  const announced = mk(Buffer.alloc(32, 0x33), 3);

  const headersP = conn.getHeaders([fork, older], undefined, { timeoutMs: 5000 });
  let settled = false;
  void headersP.then(() => (settled = true), () => (settled = true));
  await peer.next('getheaders');
  peer.send({ command: 'headers', headers: [{ ...announced, txCount: 0 }] } as Message);
  // A ping round trip proves the announcement was read and handled before the reply is sent.
  peer.send({ command: 'ping', nonce: 77n });
  t.equal((await peer.next('pong')).nonce, 77n);
  t.equal(settled, false, 'the announcement did not settle the request');
  peer.send({ command: 'headers', headers: [{ ...replyFirst, txCount: 0 }, { ...replySecond, txCount: 0 }] } as Message);
  const reply = await headersP;
  t.equal(reply.headers.length, 2, 'resolved with the reply');
  t.ok(reply.headers[0]!.prevBlock.equals(fork), 'the reply starts at the locator');

  // An empty headers message is a reply ("nothing past your locator"), never an announcement.
  const emptyP = conn.getHeaders([fork], undefined, { timeoutMs: 5000 });
  await peer.next('getheaders');
  peer.send({ command: 'headers', headers: [] } as Message);
  t.equal((await emptyP).headers.length, 0);

  // An empty locator asks for the stop header alone: only that header answers it.
  const stop = blockHash(replySecond);
  const stopP = conn.getHeaders([], stop, { timeoutMs: 5000 });
  await peer.next('getheaders');
  peer.send({ command: 'headers', headers: [{ ...announced, txCount: 0 }] } as Message);
  peer.send({ command: 'headers', headers: [{ ...replySecond, txCount: 0 }] } as Message);
  t.ok(blockHash((await stopP).headers[0]!).equals(stop), 'the stop header, not the announcement');

  // A peer that knows none of the locator hashes answers from its genesis.
  const genesisFirst = mk(fromDisplayHex(regtest.genesisHash), 4);
  const fromGenesisP = conn.getHeaders([older], undefined, { timeoutMs: 5000 });
  await peer.next('getheaders');
  peer.send({ command: 'headers', headers: [{ ...genesisFirst, txCount: 0 }] } as Message);
  t.ok(blockHash((await fromGenesisP).headers[0]!).equals(blockHash(genesisFirst)), 'a reply from genesis is a reply');

  // An unanswered request still times out after an announcement.
  const lonelyP = conn.getHeaders([older], undefined, { timeoutMs: 300 });
  await peer.next('getheaders');
  peer.send({ command: 'headers', headers: [{ ...announced, txCount: 0 }] } as Message);
  await t.rejects(lonelyP, /timed out|timeout/i);
  await conn.close();
});

t.test('a getdata before verack is not served', async (t) => {
  const { peer, conn } = scripted();
  const tx = rawTransaction(Buffer.from('0100000000' + '01' + '0000000000000000' + '0151' + '00000000', 'hex'));
  await peer.next('version');
  peer.send(peer.version());
  await peer.next('verack');
  conn.sendTx({ command: 'tx', ...tx });
  await peer.next('inv');
  peer.send({ command: 'getdata', inventory: [{ type: 1, hash: tx.txid }] } as Message);
  peer.send({ command: 'ping', nonce: 5n });
  t.equal((await peer.next('pong')).nonce, 5n);
  t.equal(peer.received.filter((m) => m.command === 'tx').length, 0, 'no tx before the handshake is done');
  peer.send({ command: 'verack' });
  await conn.ready(5000);
  peer.send({ command: 'getdata', inventory: [{ type: 1, hash: tx.txid }] } as Message);
  t.ok((await peer.next('tx')).txid.equals(tx.txid), 'served once ready');
  await conn.close();
});

t.test('a throwing app listener never escapes the connection', async (t) => {
  const { peer, conn } = scripted();
  const errors: unknown[] = [];
  conn.on('listenerError', (e) => errors.push(e));
  conn.on('ping', () => {
    throw new Error('app bug');
  });
  await handshake(peer, conn);
  peer.send({ command: 'ping', nonce: 9n });
  const pong = await peer.next('pong');
  t.equal(pong.nonce, 9n, 'still answered');
  t.equal(errors.length, 1);
  t.equal(conn.state, 'ready');
  await conn.close();
});

t.test('a throwing app listener cannot starve a pending request of its reply or close', async (t) => {
  const { peer, conn } = scripted();
  const errors: unknown[] = [];
  conn.on('listenerError', (e) => errors.push(e));
  conn.on('headers', () => {
    throw new Error('app bug on headers');
  });
  conn.on('close', () => {
    throw new Error('app bug on close');
  });
  await handshake(peer, conn);
  const headersP = conn.getHeaders([Buffer.alloc(32, 7)], undefined, { timeoutMs: 5000 });
  await peer.next('getheaders');
  peer.send({ command: 'headers', headers: [] } as Message);
  t.equal((await headersP).headers.length, 0, 'the reply reached the request');
  const pendingP = conn.getHeaders([Buffer.alloc(32)], undefined, { timeoutMs: 5000 });
  await peer.next('getheaders');
  peer.stream.destroy();
  const err: unknown = await pendingP.catch((e: unknown) => e);
  t.type(err, PeerError, 'the close reached the request (not its timeout)');
  t.equal(errors.length, 2, 'both app errors reported');
});

t.test('a pre-BIP31 peer: its empty ping gets no pong, no misbehaviour, and the connection stays ready', async (t) => {
  const { peer, conn } = scripted();
  const misbehavior: unknown[] = [];
  conn.on('misbehavior', (m) => misbehavior.push(m));
  const pings: Message[] = [];
  conn.on('ping', (m) => pings.push(m));
  await peer.next('version');
  peer.send({ ...peer.version(), version: 60000 });
  peer.send({ command: 'verack' });
  await peer.next('verack');
  await conn.ready(5000);
  // Two empty frames, as a protocol-60000 peer sends them, then one BIP31 ping as a marker:
  // frames are processed in order, so once the marker's pong is here the empty ones were handled.
  peer.stream.write(encodeFrame(regtest.magic, 'ping', Buffer.alloc(0)));
  peer.stream.write(encodeFrame(regtest.magic, 'ping', Buffer.alloc(0)));
  peer.send({ command: 'ping', nonce: 11n });
  t.equal((await peer.next('pong')).nonce, 11n, 'the first pong written answers the marker');
  t.same(peer.received.filter((m) => m.command === 'pong'), [{ command: 'pong', nonce: 11n }], 'no other pong was written');
  t.same(peer.received.filter((m) => m.command === 'ping'), [{ command: 'ping' }], 'our first ping to it was empty, as the node sends it');
  t.same(pings.slice(0, 2), [{ command: 'ping' }, { command: 'ping' }], 'the app saw two pings without a nonce');
  t.same(misbehavior, [], 'no misbehaviour');
  t.equal(conn.stats().misbehaviorScore, 0);
  t.equal(conn.state, 'ready');
  await conn.close();
});

t.test('a frame with a bad checksum is dropped and the connection goes on', async (t) => {
  const { peer, conn } = await readyScripted();
  const bad = encodeMessageFrame(regtest.magic, { command: 'ping', nonce: 1n });
  bad[20] ^= 0xff;
  peer.stream.write(bad);
  peer.send({ command: 'ping', nonce: 2n });
  const pong = await peer.next('pong');
  t.equal(pong.nonce, 2n, 'only the intact ping is answered');
  t.equal(conn.state, 'ready');
  t.equal(conn.stats().receivedPerCommand.ping?.messages, 2, 'the dropped frame is still counted');
  await conn.close();
});

t.test('received commands without a codec share one stats key, so a peer cannot grow the counters', async (t) => {
  const { peer, conn } = await readyScripted();
  for (let i = 0; i < 50; i++) peer.send({ command: 'unknown', name: `junk${i}`, payload: Buffer.alloc(0) });
  peer.send({ command: 'ping', nonce: 3n });
  await peer.next('pong');
  const received = conn.stats().receivedPerCommand;
  t.equal(received['*other*']?.messages, 50, 'all counted under *other*');
  t.equal(received['*other*']?.bytes, 50 * 24);
  t.equal(Object.keys(received).filter((k) => k.startsWith('junk')).length, 0, 'no key per name');
  t.equal(received.ping?.messages, 1, 'known commands keep their own key');
  await conn.close();
});

t.test('oversized sends are refused before they reach the peer', async (t) => {
  const { peer, conn } = await readyScripted();
  const inventory = Array.from({ length: 30_000 }, () => ({ type: 1, hash: Buffer.alloc(32) }));
  t.equal(conn.send({ command: 'inv', inventory } as Message), false, 'refused');
  t.match(conn.lastSendRefusal, { reason: 'oversize', command: 'inv', message: /exceeds the peer's limit/ });
  await conn.close();
});

t.test('slow block consumers pause the socket (input backpressure)', async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let calls = 0;
  const { peer, conn, ours } = scripted({
    onBlockTransaction: () => {
      calls++;
      return gate;
    },
  });
  await handshake(peer, conn);
  const tx = rawTransaction(Buffer.from('0100000000' + '01' + '0000000000000000' + '0151' + '00000000', 'hex'));
  const header = { version: 1, prevBlock: Buffer.alloc(32), merkleRoot: merkleRoot([tx.txid]), timestamp: 1, bits: 0, nonce: 0 };
  const ended = new Promise((r) => conn.once('blockEnd', r));
  peer.stream.write(encodeFrame(regtest.magic, 'block', blockCodec.encode({ command: 'block', header, transactions: [tx] })));
  await ended;
  t.equal(calls, 1);
  t.equal(ours.isPaused(), true, 'paused while the handler is pending');
  release();
  await new Promise((r) => setImmediate(r));
  t.equal(ours.isPaused(), false, 'resumed once it settles');
  await conn.close();
  t.ok(encodeBlockHeader(header).length === 80);
});

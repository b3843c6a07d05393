// PeerConnection against real peers: a bcash regtest node, the npm SOCKS5 server (microsocks as an
// optional cross-check), and hostile raw servers.
import t, { type Test } from 'tap';
import net from 'node:net';
import { connectPeer } from '../../lib/connect/dial.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { PeerError } from '../../lib/peer/reasons.js';
import { regtest, mainnet } from '../../lib/networks.js';
import { blockHash } from '../../lib/messages/block-header.js';
import { fromDisplayHex, toDisplayHex } from '../../lib/hash.js';
import { socksDialer, listen } from '../../lib/transport/index.js';
import { encodeFrame, encodeMessageFrame } from '../../lib/framing/index.js';
import type { MessageOf } from '../../lib/messages/index.js';
import { startRegtestNode, type RegtestNode } from '../helpers/regtest.js';
import { microsocksSkip, startMicrosocks, startSocks5Server, type SocksServer } from '../helpers/socks.js';

const base = { network: regtest, userAgentPolicy: ACCEPT_ANY_UA, host: '127.0.0.1' } as const;
let node: RegtestNode;

t.before(async () => {
  node = await startRegtestNode();
});
t.teardown(async () => {
  await node?.stop();
});

const genesis = fromDisplayHex(regtest.genesisHash);

t.test('outbound handshake, ping RTT, headers that chain to genesis, and bytes against getpeerinfo', async (t) => {
  const started = performance.now();
  const peer = await connectPeer({ ...base, port: node.p2pPort });
  t.teardown(() => peer.close()); // also if an assertion below throws
  const handshakeMs = performance.now() - started;
  t.comment(`handshake with bcash took ${handshakeMs.toFixed(1)} ms`);
  t.equal(peer.state, 'ready');
  t.match(peer.remote.version?.userAgent, /bcash/);
  const rtt = await peer.ping(10_000);
  t.ok(rtt >= 0 && peer.rtt.samples >= 1, `ping RTT ${rtt} ms`);

  const mined = await node.mine(10);
  const reply = await peer.getHeaders([genesis], undefined, { timeoutMs: 10_000 });
  t.equal(reply.headers.length, 10);
  let prev = genesis;
  for (const h of reply.headers) {
    t.ok(h.prevBlock.equals(prev), 'links to the previous header');
    prev = blockHash(h);
  }
  t.same(reply.headers.map((h) => toDisplayHex(blockHash(h))), mined, 'the hashes the node mined');

  // Compare our byte counters with the node's view of the same connection once it is quiet.
  let ours = peer.stats();
  let theirs: { bytessent: number; bytesrecv: number } | undefined;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    ours = peer.stats();
    const info = (await node.rpc('getpeerinfo')) as { subver: string; bytessent: number; bytesrecv: number }[];
    theirs = info.find((p) => p.subver.includes('bsv-wire'));
    if (theirs && theirs.bytessent === ours.bytesReceived && theirs.bytesrecv === ours.bytesSent) break;
  }
  t.comment(`bytes: we received ${ours.bytesReceived}, node sent ${theirs?.bytessent}; we sent ${ours.bytesSent}, node received ${theirs?.bytesrecv}`);
  t.equal(ours.bytesReceived, theirs?.bytessent, 'received bytes match the node');
  t.equal(ours.bytesSent, theirs?.bytesrecv, 'sent bytes match the node');
  await peer.close();
});

t.test('a mined block is announced by inv, then streamed by getBlock; the coinbase matches RPC', async (t) => {
  const peer = await connectPeer({ ...base, port: node.p2pPort });
  t.teardown(() => peer.close());
  const announced = new Promise<MessageOf<'inv'>>((resolve) => peer.on('inv', (m) => m.inventory.some((i) => i.type === 2) && resolve(m)));
  const [hashHex] = await node.mine(1);
  const inv = await announced;
  const hash = inv.inventory.find((i) => i.type === 2)!.hash;
  t.equal(toDisplayHex(hash), hashHex);
  const txids: string[] = [];
  peer.on('blockTx', (tx) => txids.push(toDisplayHex(tx.txid)));
  const end = await peer.getBlock(hash, { timeoutMs: 10_000 });
  t.equal(end.checksumOk, true);
  t.equal(end.merkleRootOk, true);
  const block = (await node.rpc('getblock', [hashHex])) as { tx: string[] };
  t.same(txids, block.tx, 'txids match the node');
  t.equal(txids.length, end.txCount);
  await peer.close();
});

t.test('inbound: the node dials our listener and the handshake completes', async (t) => {
  const ready = new Promise<PeerConnection>((resolve, reject) => {
    void listen({ host: '127.0.0.1', port: 0 }, (socket) => {
      // bcash only keeps outbound peers that offer NODE_NETWORK.
      const peer = new PeerConnection(socket, { network: regtest, direction: 'inbound', services: 1n, userAgentPolicy: ACCEPT_ANY_UA, remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 } });
      peer.ready(10_000).then(() => resolve(peer), reject);
    }).then(async (listener) => {
      t.teardown(() => listener.close());
      await node.rpc('addnode', [`127.0.0.1:${listener.address.port}`, 'onetry']);
    }, reject);
  });
  const peer = await ready;
  t.equal(peer.direction, 'inbound');
  t.match(peer.remote.version?.userAgent, /bcash/);
  t.ok((await peer.ping(10_000)) >= 0);
  await peer.close();
});

type SocksAuth = { username: string; password: string } | undefined;

/** Headers from the node through a proxy started by `start`, with and without auth; a wrong password is a TransportError. */
async function headersThroughProxy(t: Test, start: (auth: SocksAuth) => Promise<SocksServer>): Promise<void> {
  for (const auth of [undefined, { username: 'wire', password: 's3cret' }]) {
    let socks: SocksServer | undefined;
    let peer: PeerConnection | undefined;
    t.teardown(async () => {
      await peer?.close();
      await socks?.stop();
    });
    socks = await start(auth);
    const dialer = socksDialer({ proxyHost: socks.host, proxyPort: socks.port, ...auth });
    peer = await connectPeer({ ...base, port: node.p2pPort, dialer });
    const reply = await peer.getHeaders([genesis], undefined, { timeoutMs: 10_000 });
    t.ok(reply.headers.length >= 10, `headers through the proxy (${auth ? 'auth' : 'no auth'})`);
    t.ok(reply.headers[0]!.prevBlock.equals(genesis));
    if (auth) {
      const wrong = socksDialer({ proxyHost: socks.host, proxyPort: socks.port, username: 'wire', password: 'nope' });
      await t.rejects(connectPeer({ ...base, port: node.p2pPort, dialer: wrong }), { name: 'TransportError', code: 'proxy-auth' });
    }
  }
}

t.test('the same through the npm SOCKS5 server, with and without authentication', async (t) => {
  await headersThroughProxy(t, (auth) => startSocks5Server({ auth }));
});

t.test('cross-check: the same through microsocks', { skip: microsocksSkip() }, async (t) => {
  await headersThroughProxy(t, (auth) => startMicrosocks(auth));
});

/** A raw hostile server: `behave` gets each accepted socket. */
async function hostile(behave: (s: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    behave(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

function versionFrom(ua: string): Buffer {
  const v: MessageOf<'version'> = {
    command: 'version', version: 70016, services: 1n, timestamp: 1n,
    addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 },
    addrFrom: { services: 0n, ip: Buffer.alloc(16), port: 0 },
    nonce: 5n, userAgent: 'x', startHeight: 0, relay: true,
  };
  const frame = encodeMessageFrame(regtest.magic, v);
  // Rebuild with a user agent longer than the codec allows to encode (the node's limit is 256).
  const uaStart = 24 + 4 + 8 + 8 + 26 + 26 + 8;
  const payload = Buffer.concat([frame.subarray(24, uaStart), Buffer.from([0xfd, ua.length & 0xff, ua.length >> 8]), Buffer.from(ua), frame.subarray(uaStart + 2)]);
  return encodeFrame(regtest.magic, 'version', payload);
}

t.test('hostile peers end in typed close reasons, within their timeouts, and nothing throws', async (t) => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  t.teardown(() => void process.off('uncaughtException', onUncaught));
  const cases: { name: string; behave: (s: net.Socket) => void; code: string; handshakeMs?: number }[] = [
    { name: 'garbage before version', behave: (s) => s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), code: 'bad-magic' },
    { name: 'wrong magic', behave: (s) => s.write(encodeMessageFrame(mainnet.magic, { command: 'verack' })), code: 'bad-magic' },
    {
      name: '4 GiB length claim',
      behave: (s) => {
        const h = encodeFrame(regtest.magic, 'inv', Buffer.alloc(0)).subarray(0, 24);
        h.writeUInt32LE(0xffffffff, 16);
        s.write(h);
      },
      code: 'protocol-violation',
    },
    {
      name: 'slowloris, one byte per second',
      behave: (s) => {
        const bytes = versionFrom('/slow/');
        let i = 0;
        const timer = setInterval(() => (i < bytes.length && !s.destroyed ? s.write(bytes.subarray(i, ++i)) : clearInterval(timer)), 1000);
        s.on('close', () => clearInterval(timer));
      },
      code: 'handshake-timeout',
      handshakeMs: 2500,
    },
    { name: 'closing mid-frame', behave: (s) => s.end(versionFrom('/half/').subarray(0, 40)), code: 'remote-closed' },
    { name: 'version with a 300-byte user agent', behave: (s) => s.write(versionFrom('u'.repeat(300))), code: 'protocol-violation' },
  ];
  for (const c of cases) {
    const server = await hostile(c.behave);
    const started = performance.now();
    const err = await connectPeer({ ...base, port: server.port, timeouts: { handshakeMs: c.handshakeMs ?? 10_000 } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - started;
    await server.close();
    t.ok(err instanceof PeerError, `${c.name}: PeerError`);
    t.equal((err as PeerError).reason.code, c.code, `${c.name}: ${c.code} after ${ms.toFixed(0)} ms`);
    t.ok(ms < (c.handshakeMs ?? 10_000) + 2000, `${c.name}: within its timeout`);
  }
  t.same(uncaught, [], 'no exception escaped');
});

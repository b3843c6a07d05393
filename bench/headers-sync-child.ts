/**
 * One measuring process of the header sync benchmark (bench/headers-sync.ts). Usage:
 *   node --import tsx bench/headers-sync-child.ts sync <expectedHeight> <port>...
 *     a fresh HeaderStore in a temporary directory, a Manager with these loopback ports as its manual peers
 *     and a HeaderFollower (checkHeader on every header); timed from manager.start() until the follower is
 *     synced at the expected height and the store flushed.
 *   node --import tsx bench/headers-sync-child.ts limit <headers.bin>
 *     the floor for the same work: headers payloads of 2000 decoded (headersCodec) and sha256d of every raw
 *     80-byte header, nothing else.
 * Prints one JSON line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256d } from '../lib/hash.js';
import { HeaderFollower } from '../lib/chain/header-follower.js';
import { HeaderStore } from '../lib/chain/header-store.js';
import { Manager } from '../lib/manager/index.js';
import { BLOCK_HEADER_SIZE } from '../lib/messages/block-header.js';
import { headersCodec } from '../lib/messages/headers.js';
import { regtest } from '../lib/networks.js';
import { ACCEPT_ANY_UA } from '../lib/peer/user-agent.js';

const [mode, ...rest] = process.argv.slice(2);

interface Timing {
  wallMs: number;
  cpuMs: number;
}

function timed<T>(fn: () => T): { result: T } & Timing {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { result, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

if (mode === 'limit') {
  const file = readFileSync(rest[0]!);
  const count = file.length / BLOCK_HEADER_SIZE;
  // The payloads as the peer sends them (built before timing): count varint, then each header + a 0 tx count.
  const payloads: Buffer[] = [];
  for (let from = 0; from < count; from += 2000) {
    const n = Math.min(2000, count - from);
    const payload = Buffer.alloc(3 + n * 81);
    payload[0] = 0xfd;
    payload.writeUInt16LE(n, 1);
    for (let i = 0; i < n; i++) file.copy(payload, 3 + i * 81, (from + i) * 80, (from + i + 1) * 80);
    payloads.push(payload);
  }
  const hashOnly = timed(() => {
    let x = 0;
    for (let i = 0; i < count; i++) x ^= sha256d(file.subarray(i * 80, (i + 1) * 80))[0]!;
    return x;
  });
  const decodeOnly = timed(() => {
    let n = 0;
    for (const p of payloads) n += headersCodec.decode(p).headers.length;
    return n;
  });
  const both = timed(() => {
    let x = 0;
    for (const p of payloads) {
      const n = headersCodec.decode(p).headers.length;
      for (let i = 0; i < n; i++) x ^= sha256d(p.subarray(3 + i * 81, 3 + i * 81 + 80))[0]!;
    }
    return x;
  });
  if (decodeOnly.result !== count) throw new Error(`decoded ${decodeOnly.result} of ${count}`);
  const strip = (t: Timing): Timing => ({ wallMs: t.wallMs, cpuMs: t.cpuMs });
  console.log(JSON.stringify({ count, hashOnly: strip(hashOnly), decodeOnly: strip(decodeOnly), both: strip(both) }));
} else if (mode === 'sync') {
  const expected = Number(rest[0]);
  const ports = rest.slice(1).map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'bsv-wire-sync-bench-'));
  let manager: Manager | undefined;
  let follower: HeaderFollower | undefined;
  let store: HeaderStore | undefined;
  try {
    store = await HeaderStore.open(dir, regtest);
    const s = store;
    manager = new Manager({
      network: regtest,
      outbound: 0,
      discover: false,
      feelerIntervalMs: 0,
      peers: ports.map((p) => `127.0.0.1:${p}`),
      peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
    });
    follower = new HeaderFollower({ manager, store });
    const drops: string[] = [];
    follower.on('drop', (e) => drops.push(e.reason));
    let readyPeers = 0;
    // Time from each getheaders sent to its headers arriving: the part of the wall time spent waiting on the peer
    // (its process, the socket, the scheduler), which a faster client cannot shorten.
    let waitMs = 0;
    const sentAt = new Map<string, number>();
    manager.on('peer:ready', (peer) => {
      readyPeers++;
      const send = peer.send.bind(peer);
      peer.send = (m) => {
        if (m.command === 'getheaders') sentAt.set(peer.id, performance.now());
        return send(m);
      };
    });
    manager.on('headers', (_m, peer) => {
      const at = sentAt.get(peer.id);
      if (at !== undefined) waitMs += performance.now() - at;
      sentAt.delete(peer.id);
    });
    const synced = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not synced after 600 s (height ${s.tree.best.height}; drops: ${drops.join('; ')})`)), 600_000);
      follower!.on('synced', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    follower.start();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await manager.start();
    await synced;
    await store.flush();
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const height = store.tree.best.height;
    if (height !== expected) throw new Error(`synced at height ${height}, expected ${expected} (drops: ${drops.join('; ')})`);
    console.log(JSON.stringify({ height, wallMs, cpuMs: (c.user + c.system) / 1000, waitMs, readyPeers, drops, rss: process.memoryUsage().rss }));
  } finally {
    follower?.stop();
    await manager?.stop();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  throw new Error('usage: headers-sync-child.ts sync <expectedHeight> <port>... | limit <headers.bin>');
}

/**
 * The Manager under test, in its own process so its RSS is its own. Listens on 127.0.0.1 with the
 * inbound limit given as argv[2], no outbound and no discovery; driven over IPC by bench/scale.ts.
 */
import { Session } from 'node:inspector/promises';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { Manager } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { BENCH_MAGIC, type MemorySample, type ServerCommand, type ServerReport } from './protocol.js';

const inbound = Number(process.argv[2] ?? 10_000);
const network = defineNetwork({ name: 'bench-scale', magic: BENCH_MAGIC, defaultPort: 18444 });
const manager = new Manager({
  network,
  outbound: 0,
  inbound,
  listen: { host: '127.0.0.1', port: 0 },
  discover: false,
  feelerIntervalMs: 0,
  peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
});
manager.on('warning', () => {});

const gc = (globalThis as { gc?: (options?: { type: string; execution: string; flavor: string }) => void }).gc;
function memory(reduce = false): MemorySample {
  if (reduce) gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}
const send = (report: ServerReport): void => void process.send!(report);

process.on('message', (command: ServerCommand) => {
  switch (command.kind) {
    case 'measure': {
      const peers = manager.peers;
      send({ kind: 'measured', memory: memory(command.reduce), readyPeers: peers.filter((p) => p.state === 'ready').length, peers: peers.length, peerStates: peers.slice(0, 5).map((p) => `${p.state}${p.closeReason ? ` closed: ${p.closeReason.code}` : ''} ${p.remoteAddress}:${p.remotePort}`) });
      break;
    }
    case 'heap-breakdown':
      send({ kind: 'heap-breakdown', rows: heapBreakdown() });
      break;
    case 'profile-start':
      void startProfile();
      break;
    case 'profile-stop':
      void stopProfile().then((rows) => send({ kind: 'profile', rows }));
      break;
    case 'stop':
      void manager.stop().then(() => process.exit(0));
      break;
    default:
      break;
  }
});

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}
let session: Session | undefined;
async function startProfile(): Promise<void> {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
}
/** Self time by function over the profiled window only (not the process's start-up). */
async function stopProfile(): Promise<[string, number][]> {
  const { profile } = (await session!.post('Profiler.stop')) as unknown as { profile: { nodes: ProfileNode[] } };
  session!.disconnect();
  const byName = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? ` ${url.replace(/^.*\/(lib|node_modules)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where}`;
    byName.set(key, (byName.get(key) ?? 0) + hits);
  }
  return [...byName.entries()].sort((a, b) => b[1] - a[1]).map(([name, hits]) => [name, hits / total]);
}

interface HeapSnapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: [string[]] } };
  readonly nodes: number[];
  readonly strings: string[];
}

/** Aggregate a heap snapshot's nodes by constructor name (objects) or type (strings, code, ...). */
function heapBreakdown(): [string, number, number][] {
  gc?.();
  const file = writeHeapSnapshot(path.join(tmpdir(), `bsv-wire-bench-${process.pid}.heapsnapshot`));
  try {
    const snap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
    const fields = snap.snapshot.meta.node_fields;
    const types = snap.snapshot.meta.node_types[0];
    const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
    const rows = new Map<string, [number, number]>();
    for (let i = 0; i < snap.nodes.length; i += fields.length) {
      const type = types[snap.nodes[i + typeAt]!]!;
      const key = type === 'object' || type === 'closure' ? `${snap.strings[snap.nodes[i + nameAt]!]} (${type})` : `(${type})`;
      const row = rows.get(key) ?? [0, 0];
      row[0]++;
      row[1] += snap.nodes[i + sizeAt]!;
      rows.set(key, row);
    }
    return [...rows.entries()].map(([name, [count, bytes]]) => [name, count, bytes]);
  } finally {
    rmSync(file, { force: true });
  }
}

await manager.start();
send({ kind: 'listening', port: manager.listenAddress!.port, memory: memory() });

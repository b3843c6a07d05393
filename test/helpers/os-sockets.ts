// The kernel's view of IPv4 TCP sockets (Linux /proc/net/tcp), to count what a process really holds
// instead of what the code's own counters say. A socket the kernel completed but nobody accepted yet
// (still in the listen backlog) has inode 0, and so does one whose owner closed it (orphaned, in
// FIN_WAIT/TIME_WAIT); only sockets open in some process have an inode.
import { existsSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

export interface KernelTcpSocket {
  readonly local: string;
  readonly remote: string;
  /** Kernel TCP state: 1 ESTABLISHED, 2 SYN_SENT, 8 CLOSE_WAIT, 10 LISTEN, ... */
  readonly state: number;
  readonly inode: number;
}

/** Undefined where the kernel view is unavailable (not Linux): callers skip visibly. */
export const kernelSocketsUnavailable: string | undefined = existsSync('/proc/net/tcp') ? undefined : 'needs Linux /proc/net/tcp';

const TCP_LISTEN = 10;

function decodeEndpoint(hex: string): string {
  const [addr, port] = hex.split(':') as [string, string];
  // IPv4 address in host (little-endian) byte order, port big-endian.
  const bytes = [addr.slice(6, 8), addr.slice(4, 6), addr.slice(2, 4), addr.slice(0, 2)].map((b) => parseInt(b, 16));
  return `${bytes.join('.')}:${parseInt(port, 16)}`;
}

export function kernelTcpSockets(): KernelTcpSocket[] {
  const lines = readFileSync('/proc/net/tcp', 'latin1').split('\n');
  const out: KernelTcpSocket[] = [];
  // The kernel builds this file page by page, so a socket can show up twice while the table changes.
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 10) continue;
    const key = f[9] === '0' ? `${f[1]}>${f[2]}` : f[9]!;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ local: decodeEndpoint(f[1]!), remote: decodeEndpoint(f[2]!), state: parseInt(f[3]!, 16), inode: Number(f[9]) });
  }
  return out;
}

/** Connections accepted on `host:port` whose socket is still open in a process (not the listener itself). */
export function acceptedOpenSockets(host: string, port: number, sockets = kernelTcpSockets()): number {
  const local = `${host}:${port}`;
  let n = 0;
  for (const s of sockets) if (s.local === local && s.state !== TCP_LISTEN && s.inode !== 0) n++;
  return n;
}

/** Open sockets (any state but LISTEN) whose remote end is one of `remotes` ("host:port"). */
export function openSocketsTo(remotes: ReadonlySet<string>, sockets = kernelTcpSockets()): number {
  let n = 0;
  for (const s of sockets) if (s.state !== TCP_LISTEN && s.inode !== 0 && remotes.has(s.remote)) n++;
  return n;
}

export interface KernelSocketPeaks {
  readonly samples: number;
  /** Peak of acceptedOpenSockets(listen). */
  readonly accepted: number;
  /** Peak of openSocketsTo(remotes). */
  readonly outbound: number;
}

/**
 * Sample the kernel's table in a worker thread, as fast as it can read it, so a slow /proc read
 * never stalls the event loop under test (which would hide the very bursts being counted).
 */
export function startKernelSampler(listen: string, remotes: readonly string[]): { stop(): Promise<KernelSocketPeaks> } {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { readFileSync } = require('node:fs');
    const remotes = new Set(workerData.remotes);
    const decode = (hex) => {
      const [a, p] = hex.split(':');
      return [6, 4, 2, 0].map((i) => parseInt(a.slice(i, i + 2), 16)).join('.') + ':' + parseInt(p, 16);
    };
    let stopped = false, samples = 0, accepted = 0, outbound = 0;
    parentPort.on('message', () => { stopped = true; });
    const loop = () => {
      if (stopped) return parentPort.postMessage({ samples, accepted, outbound });
      let a = 0, o = 0;
      const seen = new Set();
      const lines = readFileSync('/proc/net/tcp', 'latin1').split('\\n');
      for (let i = 1; i < lines.length; i++) {
        const f = lines[i].trim().split(/\\s+/);
        if (f.length < 10 || f[3] === '0A' || f[9] === '0' || seen.has(f[9])) continue;
        seen.add(f[9]);
        if (decode(f[1]) === workerData.listen) a++;
        else if (remotes.has(decode(f[2]))) o++;
      }
      samples++;
      if (a > accepted) accepted = a;
      if (o > outbound) outbound = o;
      setTimeout(loop, 1);
    };
    loop();
  `;
  const worker = new Worker(source, { eval: true, workerData: { listen, remotes: [...remotes] } });
  const result = new Promise<KernelSocketPeaks>((resolve, reject) => {
    worker.once('message', (peaks: KernelSocketPeaks) => resolve(peaks));
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const peaks = await result;
      await worker.terminate();
      return peaks;
    },
  };
}

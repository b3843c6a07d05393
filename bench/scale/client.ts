/**
 * The outside client of the scale benchmarks, in its own process: raw TCP sockets on loopback that
 * speak version/verack themselves. Frames are built once with the library's encoder; replies are read
 * by scanning 24-byte headers only, so the client stays cheap and the server's cost is what we measure.
 * Driven over IPC by bench/scale.ts.
 */
import net from 'node:net';
import { encodeMessageFrame } from '../../lib/framing/encoder.js';
import { defineNetwork } from '../../lib/networks.js';
import { BENCH_MAGIC, type ClientCommand, type ClientReport } from './protocol.js';

const network = defineNetwork({ name: 'bench-scale', magic: BENCH_MAGIC, defaultPort: 18444 });
const ipv4Loopback = Buffer.from('00000000000000000000ffff7f000001', 'hex');
const versionFrame = encodeMessageFrame(network.magic, {
  command: 'version',
  version: 70016,
  services: 0n,
  timestamp: BigInt(Math.floor(Date.now() / 1000)),
  addrRecv: { services: 0n, ip: ipv4Loopback, port: 0 },
  addrFrom: { services: 0n, ip: ipv4Loopback, port: 0 },
  // One nonce for all: the server only refuses its own nonces (self-connection check).
  nonce: 0x1234_5678_9abc_def0n,
  userAgent: '/bench-client:1.0/',
  startHeight: 0,
  relay: false,
});
const verackFrame = encodeMessageFrame(network.magic, { command: 'verack' });
const HEADER = 24;

const held = new Set<net.Socket>();

interface Attempt {
  readonly handshake: Promise<'ready' | 'closed' | 'error'>;
  readonly socket: net.Socket;
}

/** Connect and handshake; answers pings so idle peers stay healthy. */
function attempt(host: string, port: number, localAddress: string): Attempt {
  const socket = net.connect({ host, port, localAddress, noDelay: true });
  let buffered: Buffer = Buffer.alloc(0);
  let gotVersion = false;
  let gotVerack = false;
  const handshake = new Promise<'ready' | 'closed' | 'error'>((resolve) => {
    socket.once('connect', () => socket.write(versionFrame));
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= HEADER) {
        const length = buffered.readUInt32LE(16);
        if (buffered.length < HEADER + length) break;
        const command = buffered.toString('latin1', 4, 16).replace(/\0+$/, '');
        if (command === 'version' && !gotVersion) {
          gotVersion = true;
          socket.write(verackFrame);
        } else if (command === 'verack') gotVerack = true;
        else if (command === 'ping' && length === 8) {
          socket.write(encodeMessageFrame(network.magic, { command: 'pong', nonce: buffered.readBigUInt64LE(HEADER) }));
        }
        buffered = buffered.subarray(HEADER + length);
        if (gotVersion && gotVerack) resolve('ready');
      }
      if (buffered.length === 0) buffered = Buffer.alloc(0);
    });
    socket.once('error', () => resolve('error'));
    socket.once('close', () => {
      held.delete(socket);
      resolve('closed');
    });
  });
  held.add(socket);
  return { handshake, socket };
}

/** 127.10.x.y: many source addresses, so ephemeral ports never run short across runs. */
function sourceAddress(i: number): string {
  return `127.10.${(i >> 8) & 255}.${(i & 255) || 1}`;
}

async function open(host: string, port: number, count: number, concurrency: number): Promise<ClientReport> {
  const started = performance.now();
  let next = 0;
  let ready = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const outcome = await attempt(host, port, sourceAddress(i)).handshake;
      if (outcome === 'ready') ready++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { kind: 'opened', ready, failed, elapsedMs: performance.now() - started, held: held.size };
}

/** `count` attempts spread evenly over `durationMs`; each handshakes if let in, and hangs up `holdMs` after it began. */
async function burst(host: string, port: number, count: number, durationMs: number, holdMs: number): Promise<ClientReport> {
  const started = performance.now();
  let ready = 0;
  let failed = 0;
  let launched = 0;
  const pending: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(count, Math.ceil(((performance.now() - started) / durationMs) * count));
      for (; launched < due; launched++) {
        const a = attempt(host, port, sourceAddress(launched));
        // Every attempt is over by holdMs, answered or not (a dropped SYN would otherwise retry for seconds).
        setTimeout(() => a.socket.destroy(), holdMs);
        pending.push(
          a.handshake.then((outcome) => {
            if (outcome === 'ready') ready++;
            else failed++;
          }),
        );
      }
      if (launched >= count) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  const launchMs = performance.now() - started;
  await Promise.all(pending);
  return { kind: 'burst', ready, failed, elapsedMs: performance.now() - started, launchMs, held: held.size };
}

process.on('message', (command: ClientCommand) => {
  const reply = (report: ClientReport): void => void process.send!(report);
  switch (command.kind) {
    case 'open':
      void open(command.host, command.port, command.count, command.concurrency).then(reply);
      break;
    case 'burst':
      void burst(command.host, command.port, command.count, command.durationMs, command.holdMs).then(reply);
      break;
    case 'close':
      for (const socket of held) socket.destroy();
      reply({ kind: 'closed', ready: 0, failed: 0, elapsedMs: 0, held: held.size });
      break;
  }
});
process.send!({ kind: 'started', ready: 0, failed: 0, elapsedMs: 0, held: 0 } satisfies ClientReport);

// SOCKS5 servers for tests: the real `microsocks` (Debian package), and a tiny in-process
// recording proxy that shows exactly what a client sent (address type, credentials) or stalls.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { freePort } from './ports.js';
import { stopChild } from './child.js';

/** How long a stopped child gets to exit on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 2_000;

export interface SocksServer {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  stop(): Promise<void>;
}

const INSTALL_HINT = 'microsocks is not installed; install it with `apt-get install -y microsocks` (Debian/Ubuntu). .ci/run does this.';

function microsocksPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v microsocks'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(process.env.CI === 'true' ? `CI: ${INSTALL_HINT}` : INSTALL_HINT);
  }
  return path;
}

/** Resolve once host:port accepts a TCP connection; bounded by `attempts`. */
async function waitUntilAccepting(host: string, port: number, child: ChildProcess, attempts = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`microsocks exited (${child.exitCode ?? child.signalCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const probe = net.connect({ host, port });
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`microsocks did not accept on ${host}:${port}`);
}

/** Start microsocks on 127.0.0.1 and a free port, optionally requiring username/password. */
export async function startMicrosocks(auth?: { username: string; password: string }): Promise<SocksServer> {
  const bin = microsocksPath();
  const host = '127.0.0.1';
  let lastError: unknown;
  // A free port can be taken between choosing and binding; try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(host);
    const args = ['-i', host, '-p', String(port)];
    if (auth) args.push('-u', auth.username, '-P', auth.password);
    const child = spawn(bin, args, { stdio: 'ignore' });
    child.unref();
    try {
      await waitUntilAccepting(host, port, child);
      return { host, port, ...auth, stop: () => stopChild(child, STOP_GRACE_MS) };
    } catch (err) {
      lastError = err;
      await stopChild(child, STOP_GRACE_MS);
    }
  }
  throw lastError;
}

/** What one client asked the recording proxy for. */
export interface SocksRequestRecord {
  /** Authentication methods offered in the greeting (0 = none, 2 = username/password). */
  readonly methods: number[];
  readonly username?: string;
  readonly password?: string;
  readonly addressType: 'ipv4' | 'domain' | 'ipv6';
  readonly host: string;
  readonly port: number;
}

export interface RecordingSocksServer extends SocksServer {
  readonly requests: SocksRequestRecord[];
}

/**
 * A minimal SOCKS5 server for assertions on the client side of the protocol. It records each
 * CONNECT request, then relays to `target` (always a loopback address: it never resolves the
 * requested name), or with `stall` it accepts TCP and never answers.
 * With `requireAuth`, it insists on username/password and accepts any credentials.
 */
export async function startRecordingSocks(options: {
  target?: { host: string; port: number };
  stall?: boolean;
  requireAuth?: boolean;
}): Promise<RecordingSocksServer> {
  const requests: SocksRequestRecord[] = [];
  const sockets = new Set<net.Socket>();

  const handle = async (client: net.Socket): Promise<void> => {
    let buffered = Buffer.alloc(0);
    let waiting: (() => void) | null = null;
    client.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      waiting?.();
    });
    client.on('close', () => waiting?.());
    const read = async (n: number): Promise<Buffer> => {
      for (let i = 0; buffered.length < n; i++) {
        if (client.destroyed || i > 1000) throw new Error('client gone');
        await new Promise<void>((resolve) => {
          waiting = resolve;
        });
        waiting = null;
      }
      const out = buffered.subarray(0, n);
      buffered = buffered.subarray(n);
      return out;
    };

    if (options.stall) return;
    const [version, nMethods] = await read(2);
    if (version !== 5) throw new Error('not SOCKS5');
    const methods = [...(await read(nMethods))];
    let username: string | undefined;
    let password: string | undefined;
    if (options.requireAuth) {
      if (!methods.includes(2)) {
        client.end(Buffer.from([5, 0xff]));
        return;
      }
      client.write(Buffer.from([5, 2]));
      const [, ulen] = await read(2);
      username = (await read(ulen)).toString();
      const [plen] = await read(1);
      password = (await read(plen)).toString();
      client.write(Buffer.from([1, 0]));
    } else {
      client.write(Buffer.from([5, 0]));
    }
    const [, command, , atyp] = await read(4);
    let host: string;
    let addressType: SocksRequestRecord['addressType'];
    if (atyp === 1) {
      addressType = 'ipv4';
      host = [...(await read(4))].join('.');
    } else if (atyp === 3) {
      addressType = 'domain';
      const [len] = await read(1);
      host = (await read(len)).toString();
    } else {
      addressType = 'ipv6';
      const raw = await read(16);
      host = Array.from({ length: 8 }, (_, i) => raw.readUInt16BE(i * 2).toString(16)).join(':');
    }
    const port = (await read(2)).readUInt16BE(0);
    requests.push({ methods, username, password, addressType, host, port });
    if (command !== 1 || !options.target) {
      client.end(Buffer.from([5, 1, 0, 1, 0, 0, 0, 0, 0, 0]));
      return;
    }
    const upstream = net.connect(options.target);
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.once('connect', () => {
      client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
      if (buffered.length > 0) upstream.write(buffered);
      client.removeAllListeners('data');
      client.pipe(upstream);
      upstream.pipe(client);
    });
  };

  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    client.once('close', () => sockets.delete(client));
    handle(client).catch(() => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

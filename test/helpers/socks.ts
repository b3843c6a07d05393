// SOCKS5 servers for tests:
// - startSocks5Server: the npm package @pondwader/socks5-server (the default; `npm ci` brings it),
//   with names resolved inside the proxy from a fixed map, so no DNS server is ever asked;
// - startMicrosocks: the Debian `microsocks`, an optional cross-check skipped when not on PATH;
// - startRecordingSocks: a tiny in-process proxy that shows exactly what a client sent, or stalls.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createServer as createSocks5 } from '@pondwader/socks5-server';
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

/** A CONNECT request as the npm proxy received it (after authentication). */
export interface ProxiedRequest {
  /** The destination as the client named it: a name, or an IP literal. */
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  /** The loopback address the proxy dialed, or undefined if it refused the request. */
  readonly dialed?: string;
}

export interface Socks5TestServer extends SocksServer {
  /** Every CONNECT request that passed authentication, in arrival order. */
  readonly requests: readonly ProxiedRequest[];
  /** TCP connections the proxy accepted, including ones refused at authentication. */
  connections(): number;
}

const loopback = new net.BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True for 127.0.0.0/8 and ::1, in any spelling (the server spells IPv6 with leading zeros). */
function isLoopback(address: string): boolean {
  const family = net.isIP(address);
  return family !== 0 && loopback.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Start @pondwader/socks5-server on 127.0.0.1 and a free port. With `auth`, the server itself
 * checks username/password. Names are resolved by the proxy, as Tor resolves `.onion` names: from
 * `names` (plus `localhost` -> 127.0.0.1), never by a DNS lookup. An unknown name gets
 * HOST_UNREACHABLE; a destination outside loopback gets CONNECTION_NOT_ALLOWED, so a test can
 * never reach the network through it.
 */
export async function startSocks5Server(options: { auth?: { username: string; password: string }; names?: Readonly<Record<string, string>> } = {}): Promise<Socks5TestServer> {
  const names = new Map<string, string>([['localhost', '127.0.0.1']]);
  for (const [name, address] of Object.entries(options.names ?? {})) {
    if (!isLoopback(address)) throw new RangeError(`${name} must map to a loopback address, not ${address}`);
    names.set(name.toLowerCase(), address);
  }
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  };
  let accepted = 0;

  const socks = createSocks5(options.auth ? { auth: options.auth } : undefined);
  // The package speaks the protocol (greeting, auth, request, reply); this handler only decides
  // where a granted request goes, in place of the package's default, which would ask DNS.
  socks.setConnectionHandler((connection, sendStatus) => {
    const { destAddress: host, destPort: port, username } = connection;
    const dialed = net.isIP(host) !== 0 ? host : names.get(host.toLowerCase());
    requests.push({ host, port, username, dialed: dialed !== undefined && isLoopback(dialed) ? dialed : undefined });
    if (connection.command !== 'connect') return sendStatus('COMMAND_NOT_SUPPORTED');
    if (dialed === undefined) return sendStatus('HOST_UNREACHABLE');
    if (!isLoopback(dialed)) return sendStatus('CONNECTION_NOT_ALLOWED');
    const client = connection.socket as net.Socket;
    const upstream = net.connect({ host: dialed, port });
    track(upstream);
    upstream.setNoDelay();
    let opened = false;
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      if (!opened) sendStatus(err.code === 'ECONNREFUSED' ? 'CONNECTION_REFUSED' : 'GENERAL_FAILURE');
      client.destroy();
    });
    upstream.once('connect', () => {
      opened = true;
      sendStatus('REQUEST_GRANTED');
      client.pipe(upstream).pipe(client);
    });
    client.once('close', () => upstream.destroy());
  });

  // Our own listener hands each socket to the package, so the test knows the port and can
  // destroy every open connection on stop().
  const server = net.createServer((socket) => {
    accepted++;
    track(socket);
    socket.setNoDelay();
    socks._handleConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    ...options.auth,
    requests,
    connections: () => accepted,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The microsocks executable found on PATH, or undefined (looked up as a shell would, without a shell). */
export function findMicrosocks(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'microsocks');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** For `t.test(name, { skip: microsocksSkip() }, ...)`: false when microsocks is on PATH, else the reason. */
export function microsocksSkip(): string | false {
  return findMicrosocks() === undefined ? 'microsocks not on PATH (optional cross-check; apt-get install microsocks to run it)' : false;
}

function microsocksPath(): string {
  const found = findMicrosocks();
  if (found === undefined) throw new Error('microsocks is not on PATH; guard the test with microsocksSkip()');
  return found;
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
    child.on('error', () => {}); // a failed spawn shows as an exit code, seen by waitUntilAccepting
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

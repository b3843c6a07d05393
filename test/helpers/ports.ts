// Free TCP ports on loopback for test servers that must be told a port up front.
// Prefer listening on port 0 where the server allows it: a port found here could, in theory,
// be taken by another process before it is used, so callers retry on EADDRINUSE.
import net from 'node:net';

function openOnFreePort(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => resolve(server));
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** `count` distinct free ports on `host` (all held open together, so they differ). */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await openOnFreePort(host));
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map(closeServer));
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port;
}

/** A loopback port with nothing listening on it (for 'refused' tests). */
export const closedPort = freePort;

export interface UnresponsiveListener {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * A loopback port where TCP connects hang (for connect-timeout tests): a listener that never
 * accepts, with its accept queue filled, so the kernel drops further SYNs. Node always accepts,
 * so the listener is a perl one-liner (perl-base is Essential on Debian).
 */
export async function startUnresponsiveListener(): Promise<UnresponsiveListener> {
  const { spawn } = await import('node:child_process');
  const host = '127.0.0.1';
  const script =
    '$|=1; my $s = IO::Socket::INET->new(LocalAddr=>"127.0.0.1", LocalPort=>0, Listen=>1, ReuseAddr=>1) or die "listen: $!"; ' +
    'print $s->sockport, "\\n"; while (1) { sleep 1; exit if getppid() == 1; }';
  const child = spawn('perl', ['-MIO::Socket::INET', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.unref();
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('perl listener did not start')), 10_000);
    child.once('error', reject);
    child.stdout!.once('data', (data: Buffer) => {
      clearTimeout(timer);
      resolve(Number(String(data).trim()));
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL'); // a listener that never reported its port is nobody's to stop
    throw err;
  });
  (child.stdout as unknown as { unref?: () => void }).unref?.();

  // Fill the accept queue: connect until one attempt stays pending.
  const fillers: net.Socket[] = [];
  let blocked = false;
  for (let i = 0; i < 16 && !blocked; i++) {
    const socket = net.connect({ host, port });
    socket.on('error', () => {});
    fillers.push(socket);
    blocked = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(true), 250);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }
  const stop = async (): Promise<void> => {
    for (const socket of fillers) socket.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.ref(); // an unref'd child would let the process exit before 'exit' arrives
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
  };
  if (!blocked) {
    await stop();
    throw new Error('could not fill the accept queue of the unresponsive listener');
  }
  return { host, port, stop };
}

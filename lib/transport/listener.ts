import net from 'node:net';
import { TransportError, codeFromSocketError, formatTarget } from './errors.js';

export interface ListenOptions {
  readonly host: string;
  /** 0 lets the OS pick a free port; read it back from Listener.address. */
  readonly port: number;
  readonly backlog?: number;
}

export interface ListenerAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
}

export interface Listener {
  readonly address: ListenerAddress;
  /** Connections accepted and not yet closed. */
  readonly connections: number;
  /**
   * Stop accepting. Accepted sockets belong to whoever received them and stay open, unless
   * destroyConnections is set (then this resolves once they are all closed).
   */
  close(options?: { destroyConnections?: boolean }): Promise<void>;
}

/**
 * Accept inbound TCP connections. Each socket reaches onSocket PAUSED (like the dialers'
 * sockets), with Nagle off and keep-alive on; onSocket must attach an 'error' listener.
 * If onSocket throws, that socket is destroyed.
 */
export async function listen(options: ListenOptions, onSocket: (socket: net.Socket) => void): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ pauseOnConnect: true, noDelay: true, keepAlive: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    try {
      onSocket(socket);
    } catch {
      socket.destroy();
    }
  });

  const target = formatTarget(options.host, options.port);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(new TransportError(codeFromSocketError(err), target, err.message, { cause: err }));
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port, backlog: options.backlog }, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
  // Accept-time errors (e.g. EMFILE) must not crash the process; the server keeps listening.
  server.on('error', () => {});

  const bound = server.address() as net.AddressInfo;
  const address: ListenerAddress = {
    host: bound.address,
    port: bound.port,
    family: bound.family === 'IPv6' ? 'IPv6' : 'IPv4',
  };

  let closed: Promise<void> | null = null;
  return {
    address,
    get connections() {
      return sockets.size;
    },
    close({ destroyConnections = false } = {}) {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // server.close() only calls back once every connection has ended.
        if (!destroyConnections) resolve();
      });
      if (destroyConnections) for (const socket of sockets) socket.destroy();
      return closed;
    },
  };
}

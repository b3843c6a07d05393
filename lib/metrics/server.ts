// A scrape endpoint over node:http: GET /metrics answers with the registry as Prometheus text, or as
// OpenMetrics when the scraper's Accept header asks for application/openmetrics-text (Prometheus does).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the endpoint serves: BsvWireMetrics, or anything that renders text the same way. */
export interface MetricsSource {
  text(openMetrics: boolean): Promise<{ readonly contentType: string; readonly body: string }>;
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  /** http://host:port/metrics */
  readonly url: string;
  /** Stop accepting scrapes and close open connections. */
  close(): Promise<void>;
}

export const METRICS_PATH = '/metrics';

/** True when an Accept header asks for OpenMetrics text (and does not refuse it with q=0). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.trim().split(';').map((s) => s.trim());
    if (type?.toLowerCase() !== 'application/openmetrics-text') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Serve `source` on host:port (port 0: any free port); resolves once listening. */
export async function serveMetrics(source: MetricsSource, address: { readonly host: string; readonly port: number }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== METRICS_PATH && path !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found; metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    source.text(wantsOpenMetrics(req.headers.accept)).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  });
  // Scrapers keep connections alive; close() must not wait for them.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.address;
  return {
    host,
    port: bound.port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

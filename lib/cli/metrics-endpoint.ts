// --metrics HOST:PORT for the long-running commands (connect, sync, follow): the command's Manager and
// followers on one registry, served over HTTP until the command ends.
import { serveMetrics, type BsvWireMetrics, type MetricsServer } from '../metrics/index.js';
import { CliError, parseHostPort } from './common.js';

export const METRICS_OPTIONS = {
  metrics: { type: 'string' },
} as const;

export const METRICS_USAGE = '  --metrics HOST:PORT     serve Prometheus/OpenMetrics text at http://HOST:PORT/metrics while running (port 0: any free port)\n';

/** The --metrics address, checked before anything starts (a usage error exits 2). */
export function metricsAddressFrom(text: string | undefined): { readonly host: string; readonly port: number } | undefined {
  return text === undefined ? undefined : parseHostPort(text, undefined, '--metrics', true);
}

/** Listen, and say where on stderr (stdout carries the command's own output). */
export async function startMetricsEndpoint(address: { readonly host: string; readonly port: number }, metrics: BsvWireMetrics): Promise<MetricsServer> {
  let server: MetricsServer;
  try {
    server = await serveMetrics(metrics, address);
  } catch (err) {
    throw new CliError(`--metrics: cannot listen on ${address.host}:${address.port}: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.stderr.write(`metrics: ${server.url}\n`);
  return server;
}

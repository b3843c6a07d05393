// Options and helpers shared by the network commands (connect, seeds, peers, headers, block).
import { homedir } from 'node:os';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { defineNetwork, getNetwork, type Network } from '../networks.js';
import { parseDnsServer, type DnsServer } from '../discovery/index.js';
import { PeerStoreLockedError, splitHostPort } from '../peerstore/index.js';
import { ACCEPT_ANY_UA, DEFAULT_UA_POLICY, type UserAgentPolicy } from '../peer/index.js';
import type { SocksProxyOptions } from '../transport/index.js';
import { CaptureWriter, DEFAULT_CAPTURE_KEEP_FILES, DEFAULT_CAPTURE_MAX_FILE_BYTES } from '../capture/writer.js';

/** An error whose message is shown to the user as one line (no stack trace). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The one line an error is shown as; a locked peer store also names the likely holder. */
export function errorLine(err: unknown): string {
  if (err instanceof PeerStoreLockedError) return `${err.message} (bsv-wire connect?)`;
  return err instanceof Error ? err.message : String(err);
}

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * The global --log-level LEVEL (or --log-level=LEVEL), taken out of the arguments wherever it stands, so
 * each command's own strict parsing never sees it. An unknown level is a usage error.
 */
export function takeLogLevel<L extends string>(args: readonly string[], levels: readonly L[]): { level: L | undefined; rest: string[] } {
  const rest: string[] = [];
  let level: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (arg === '--log-level') {
      level = args[++i];
      if (level === undefined) throw new CliError('--log-level: expected one of ' + levels.join('|'), 2);
    } else if (arg.startsWith('--log-level=')) level = arg.slice('--log-level='.length);
    else rest.push(arg);
  }
  if (level !== undefined && !(levels as readonly string[]).includes(level)) {
    throw new CliError(`--log-level: expected one of ${levels.join('|')}, got ${JSON.stringify(level)}`, 2);
  }
  return { level: level as L | undefined, rest };
}

/** --network plus the overrides that make a private or test network reachable. */
export const NETWORK_OPTIONS = {
  network: { type: 'string', default: 'mainnet' },
  /** Replace the network's DNS seed names (repeatable). */
  seed: { type: 'string', multiple: true },
  /** Replace the network's default P2P port (used for seed answers and bare --peer hosts). */
  port: { type: 'string' },
  'dns-server': { type: 'string', multiple: true },
} as const satisfies OptionSpec;

/** How to reach peers. */
export const PEER_OPTIONS = {
  peer: { type: 'string', multiple: true },
  proxy: { type: 'string' },
  datadir: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const satisfies OptionSpec;

/** Wire capture (connect, sync, follow): every frame both ways, in Bitcoin Core's -capturemessages layout. */
export const CAPTURE_OPTIONS = {
  capture: { type: 'string' },
  'capture-max-bytes': { type: 'string' },
  'capture-keep': { type: 'string' },
} as const satisfies OptionSpec;

export const CAPTURE_USAGE = `  --capture DIR           write every frame both ways to DIR/<addr>_<port>/msgs_{recv,sent}.dat (Core's -capturemessages layout)
  --capture-max-bytes N   rotate a capture file past N bytes (default ${DEFAULT_CAPTURE_MAX_FILE_BYTES}); --capture-keep N rotated files kept (default ${DEFAULT_CAPTURE_KEEP_FILES})
`;

/** The capture writer asked for with --capture, or undefined. */
export function captureWriterFrom(values: { capture?: string; 'capture-max-bytes'?: string; 'capture-keep'?: string }, network: Network): CaptureWriter | undefined {
  if (values.capture === undefined) {
    if (values['capture-max-bytes'] !== undefined || values['capture-keep'] !== undefined) throw new CliError('--capture-max-bytes and --capture-keep need --capture DIR', 2);
    return undefined;
  }
  const maxFileBytes = values['capture-max-bytes'] === undefined ? undefined : Number(values['capture-max-bytes']);
  if (maxFileBytes !== undefined && (!/^[0-9]+$/.test(values['capture-max-bytes']!) || !Number.isSafeInteger(maxFileBytes) || maxFileBytes < 1024)) {
    throw new CliError(`--capture-max-bytes: expected a number of bytes of at least 1024, got ${JSON.stringify(values['capture-max-bytes'])}`, 2);
  }
  const keepFiles = values['capture-keep'] === undefined ? undefined : parseCount(values['capture-keep'], '--capture-keep', DEFAULT_CAPTURE_KEEP_FILES);
  // Made now, so an unwritable directory is one clear error at the start rather than silent gaps later.
  try {
    mkdirSync(values.capture, { recursive: true });
    accessSync(values.capture, constants.W_OK);
  } catch (err) {
    throw new CliError(`--capture: cannot write to ${values.capture}: ${(err as Error).message}`, 2);
  }
  return new CaptureWriter({ dir: values.capture, network, maxFileBytes, keepFiles });
}

/** parseArgs with strict checking; unknown options become a one-line CliError. */
export function parseCommandArgs<O extends OptionSpec>(args: string[], options: O, allowPositionals = false): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), 2);
  }
}

export interface NetworkChoice {
  readonly network: Network;
  /** Resolvers given with --dns-server; undefined means the system's. */
  readonly dnsServers: DnsServer[] | undefined;
}

/** The network, with --seed and --port applied, and the --dns-server resolvers. */
export function networkFrom(values: { network?: string; seed?: string[]; port?: string; 'dns-server'?: string[] }): NetworkChoice {
  let network: Network;
  try {
    network = getNetwork(values.network ?? 'mainnet');
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  if (values.seed !== undefined || values.port !== undefined) {
    network = defineNetwork({
      name: network.name,
      magic: network.magic,
      defaultPort: values.port === undefined ? network.defaultPort : parsePort(values.port, '--port'),
      dnsSeeds: values.seed ?? [...network.dnsSeeds],
      genesisHash: network.genesisHash,
      protocolVersion: network.protocolVersion,
    });
  }
  let dnsServers: DnsServer[] | undefined;
  if (values['dns-server'] !== undefined) {
    try {
      dnsServers = values['dns-server'].map(parseDnsServer);
    } catch (err) {
      throw new CliError(`--dns-server: ${(err as Error).message}`, 2);
    }
  }
  return { network, dnsServers };
}

/** 1..65535; 0 too when `allowZero` (listen on any free port). */
export function parsePort(text: string, what: string, allowZero = false): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < (allowZero ? 0 : 1) || Number(text) > 65535) throw new CliError(`${what}: bad port ${JSON.stringify(text)}`, 2);
  return Number(text);
}

/** "host:port", "[v6]:port", or a bare host (then the default port). */
export function parseHostPort(text: string, defaultPort: number | undefined, what: string, allowZeroPort = false): { host: string; port: number } {
  const split = splitHostPort(text);
  if (split) return { host: split.host, port: parsePort(String(split.port), what, allowZeroPort) };
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (defaultPort === undefined || bare === '' || /[\s/]/.test(bare) || (bare.includes(':') && isIP(bare) !== 6)) {
    throw new CliError(`${what}: expected host:port, got ${JSON.stringify(text)}`, 2);
  }
  return { host: bare, port: defaultPort };
}

/** socks5://[user:pass@]host:port (socks5h:// is accepted too: names always go to the proxy). */
export function parseProxyUrl(text: string): SocksProxyOptions {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`--proxy: expected socks5://[user:pass@]host:port, got ${JSON.stringify(text)}`, 2);
  }
  if (url.protocol !== 'socks5:' && url.protocol !== 'socks5h:') throw new CliError(`--proxy: only socks5:// proxies are supported, got ${url.protocol}`, 2);
  if (url.port === '') throw new CliError('--proxy: the proxy port is required (Tor: socks5://127.0.0.1:9050)', 2);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const proxy: SocksProxyOptions = { proxyHost: host, proxyPort: parsePort(url.port, '--proxy') };
  if (url.username !== '' || url.password !== '') {
    return { ...proxy, username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  }
  return proxy;
}

export function parseCount(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,6}$/.test(text)) throw new CliError(`${what}: expected a whole number, got ${JSON.stringify(text)}`, 2);
  return Number(text);
}

/** Seconds (fractions allowed) to milliseconds; undefined = run until interrupted. */
export function parseDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(n > 0)) throw new CliError(`--duration: expected seconds, got ${JSON.stringify(text)}`, 2);
  return Math.round(n * 1000);
}

/** ~/.bsv-wire/<network>: where the PeerStore lives unless --datadir says otherwise. */
export function defaultDataDir(network: Network): string {
  return join(homedir(), '.bsv-wire', network.name);
}

/** bcash and other test nodes carry "cash" in their user agent; on regtest every agent is welcome. */
export function userAgentPolicyFor(network: Network): UserAgentPolicy {
  return network.name === 'regtest' ? ACCEPT_ANY_UA : DEFAULT_UA_POLICY;
}

export type StopCause = 'interrupt' | 'duration' | 'done' | 'error';

/** Long enough to never fire in practice; the handle only has to exist. */
const KEEP_ALIVE_MS = 2 ** 30;

/** Stops on SIGINT/SIGTERM or when the duration runs out; dispose() removes the handlers. */
export class StopSignal {
  private readonly controller = new AbortController();
  private causeValue: StopCause | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onSignal = (): void => this.stop('interrupt');
  private keepAlive: NodeJS.Timeout | undefined;

  private release(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  constructor(durationMs: number | undefined) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    if (durationMs !== undefined) this.timer = setTimeout(() => this.stop('duration'), durationMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get cause(): StopCause | undefined {
    return this.causeValue;
  }

  stop(cause: StopCause): void {
    if (this.causeValue) return;
    this.causeValue = cause;
    this.controller.abort(new CliError(cause === 'interrupt' ? 'interrupted' : 'stopped'));
  }

  /**
   * Resolves once stop() ran, by whatever cause. Until then a ref'd handle keeps the process alive:
   * the Manager's timers are unref'd, so without it an idle wait would end the process silently.
   */
  wait(): Promise<StopCause> {
    if (this.causeValue) return Promise.resolve(this.causeValue);
    this.keepAlive ??= setInterval(() => {}, KEEP_ALIVE_MS);
    return new Promise((resolve) =>
      this.signal.addEventListener(
        'abort',
        () => {
          this.release();
          resolve(this.causeValue!);
        },
        { once: true },
      ),
    );
  }

  dispose(): void {
    this.release();
    if (this.timer) clearTimeout(this.timer);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

/** "a, and 2 more": the first of a list of reasons and how many follow. */
export function firstAndMore(items: readonly string[]): string {
  if (items.length === 0) return 'none';
  return items.length === 1 ? items[0]! : `${items[0]}, and ${items.length - 1} more`;
}

/** A seed's empty answer for a user: "seed: NXDOMAIN", or "seed: NOERROR with no records". */
export function emptySeedAnswer(seed: string, rcode: string): string {
  return `${seed}: ${rcode === 'NOERROR' ? 'NOERROR with no records' : rcode}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** 5s, 3m05s, 2h07m, 3d04h */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** Write one line to stdout, resolving when the stream can take more (bounded memory for long listings). */
export function writeLine(line: string): Promise<void> | undefined {
  if (process.stdout.write(`${line}\n`)) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

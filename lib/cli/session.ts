// A Manager configured from command-line options, and the rule that turns "nothing reachable"
// into one clear line instead of an endless quiet retry.
import { Manager, type DiscoveryEvent, type ManagedPeerOptions } from '../manager/index.js';
import type { ManagedPeer } from '../manager/index.js';
import type { Network } from '../networks.js';
import type { DnsServer } from '../discovery/index.js';
import type { SocksProxyOptions } from '../transport/index.js';
import { cliLogger } from './log.js';
import { CliError, captureWriterFrom, defaultDataDir, emptySeedAnswer, firstAndMore, parseCount, parseHostPort, parseProxyUrl, userAgentPolicyFor, type NetworkChoice } from './common.js';
import type { CaptureWriter } from '../capture/writer.js';

export interface SessionOptions {
  readonly network: Network;
  readonly dnsServers: DnsServer[] | undefined;
  /** Manual peers ("host:port"); when given, only these are dialed (no discovery). */
  readonly peers: readonly string[];
  readonly proxy: SocksProxyOptions | undefined;
  readonly dataDir: string;
  readonly outbound: number;
  readonly inbound: number;
  readonly listen: { readonly host: string; readonly port: number } | undefined;
  readonly peerOptions?: ManagedPeerOptions;
  /** --capture: taps every connection; close() it after the Manager stopped. */
  readonly capture?: CaptureWriter;
}

/** SessionOptions from parsed --peer/--proxy/--datadir/--outbound/--inbound/--listen values. */
export function sessionOptionsFrom(
  choice: NetworkChoice,
  values: { peer?: string[]; proxy?: string; datadir?: string; outbound?: string; inbound?: string; listen?: string; capture?: string; 'capture-max-bytes'?: string; 'capture-keep'?: string },
  defaults: { outbound: number },
): SessionOptions {
  const { network, dnsServers } = choice;
  const peers = (values.peer ?? []).map((p) => {
    const { host, port } = parseHostPort(p, network.defaultPort, '--peer');
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  });
  return {
    network,
    dnsServers,
    peers,
    proxy: values.proxy === undefined ? undefined : parseProxyUrl(values.proxy),
    dataDir: values.datadir ?? defaultDataDir(network),
    // --peer means "only these peers": no outbound slots to fill from discovery unless asked for.
    outbound: parseCount(values.outbound, '--outbound', peers.length > 0 ? 0 : defaults.outbound),
    inbound: parseCount(values.inbound, '--inbound', values.listen ? 8 : 0),
    listen: values.listen === undefined ? undefined : parseHostPort(values.listen, undefined, '--listen', true),
    capture: captureWriterFrom(values, network),
  };
}

/** The Manager of a network command; its start() creates the data directory (taking the store's lock). */
export function createManager(opts: SessionOptions): Manager {
  return new Manager({
    network: opts.network,
    dataDir: opts.dataDir,
    outbound: opts.outbound,
    inbound: opts.inbound,
    listen: opts.listen,
    peers: opts.peers,
    proxy: opts.proxy,
    dnsServers: opts.dnsServers,
    discover: opts.outbound > 0,
    logger: cliLogger(),
    peerOptions: { userAgentPolicy: userAgentPolicyFor(opts.network), ...opts.peerOptions },
    wireTap: opts.capture ? (peer) => opts.capture!.tap(peer) : undefined,
  });
}

/**
 * Calls `onFatal` with a one-line reason when peers cannot be found: the network has no seeds and no
 * peer is known, DNS discovery failed or every seed answered without an address (NXDOMAIN, or
 * NOERROR with no records) while nothing is connected, or every seed failed through the proxy.
 * Returns a function that stops watching.
 */
export function watchForNoPeers(manager: Manager, opts: SessionOptions, onFatal: (error: CliError) => void): () => void {
  if (opts.peers.length > 0 || opts.outbound === 0) return () => {};
  const hint = opts.proxy ? 'try --peer' : 'try --peer or --proxy';
  const nothingConnected = (): boolean => manager.peers.every((p) => p.state !== 'ready');
  const known = (): number => manager.stats().store.total;
  let addressFetchFailures = 0;
  const onDiscovery = (event: DiscoveryEvent): void => {
    if (event.found > 0 || !nothingConnected()) {
      addressFetchFailures = 0;
      return;
    }
    if (event.method === 'dns') {
      const empty = event.empty ?? [];
      // A network without seeds (regtest) reports an empty, failure-free discovery.
      const noSeeds = opts.network.dnsSeeds.length === 0;
      if (!noSeeds && event.failures.length === 0 && empty.length === 0) return;
      const why = noSeeds
        ? `${opts.network.name} has no DNS seeds`
        : event.failures.length > 0
          ? `DNS seed lookup failed: ${summarizeFailure(event.failures, empty.length)}`
          : `DNS seeds returned no addresses (${firstAndMore(empty.map((e) => emptySeedAnswer(e.seed, e.rcode)))})`;
      const tryThis = noSeeds ? 'try --peer or --seed' : hint;
      const n = known();
      onFatal(new CliError(n === 0 ? `${why}; no peers known; ${tryThis}` : `${why}; none of the ${n} known peers answered; ${tryThis}`));
    } else if (event.failures.length > 0 && ++addressFetchFailures >= opts.network.dnsSeeds.length && known() === 0) {
      onFatal(new CliError(`address fetch through the proxy failed: ${summarizeFailure(event.failures, 0)}; no peers known; ${hint}`));
    }
  };
  manager.on('discovery', onDiscovery);
  return () => manager.off('discovery', onDiscovery);
}

/**
 * The first failure and how many other seeds gave nothing:
 * ["all 3 DNS seeds of mainnet failed: a: x; b: y; c: z"] -> "a: x (and 2 more)";
 * ["a: x", "b: y"] with one empty answer -> "a: x (and 2 more)".
 */
function summarizeFailure(failures: readonly string[], emptyAnswers: number): string {
  const m = /^all (\d+) DNS seeds of \S+ failed: (.*)$/.exec(failures[0]!);
  const first = m ? m[2]!.split('; ')[0]! : failures[0]!;
  const more = (m ? Number(m[1]) - 1 : failures.length - 1) + emptyAnswers;
  return more > 0 ? `${first} (and ${more} more)` : first;
}

/** The first peer to complete its handshake (manual, outbound or inbound). */
export function firstReadyPeer(manager: Manager, opts: SessionOptions, signal: AbortSignal, timeoutMs: number): Promise<ManagedPeer> {
  return new Promise((resolve, reject) => {
    const ready = manager.peers.find((p) => p.state === 'ready');
    if (ready) return resolve(ready);
    const done = (): void => {
      clearTimeout(timer);
      stopWatching();
      manager.off('peer:ready', onReady);
      signal.removeEventListener('abort', onAbort);
    };
    const onReady = (peer: ManagedPeer): void => {
      done();
      resolve(peer);
    };
    const onAbort = (): void => {
      done();
      reject(signal.reason);
    };
    const stopWatching = watchForNoPeers(manager, opts, (err) => {
      done();
      reject(err);
    });
    const timer = setTimeout(() => {
      done();
      reject(new CliError(`no peer completed a handshake within ${Math.round(timeoutMs / 1000)} s; try --peer`));
    }, timeoutMs);
    manager.on('peer:ready', onReady);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

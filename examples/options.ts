// Command-line options shared by the examples: --network, --peer (repeatable), --duration, --proxy.
// Without --peer, the Manager finds peers through the network's DNS seeds.
import { parseArgs } from 'node:util';
import { getNetwork, ACCEPT_ANY_UA, DEFAULT_UA_POLICY, type Network, type SocksProxyOptions, type UserAgentPolicy } from '../lib/index.js';

export interface ExampleOptions {
  readonly network: Network;
  readonly peers: string[];
  /** Stop after this long; undefined = until Ctrl-C. */
  readonly durationMs: number | undefined;
  readonly proxy: SocksProxyOptions | undefined;
  /** Test nodes (bcash) carry "cash" in their user agent: accept every agent on regtest. */
  readonly userAgentPolicy: UserAgentPolicy;
  readonly positionals: string[];
}

export function exampleOptions(extra: { proxyDefault?: string } = {}): ExampleOptions {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      network: { type: 'string', default: 'mainnet' },
      peer: { type: 'string', multiple: true, default: [] },
      duration: { type: 'string' },
      proxy: { type: 'string', default: extra.proxyDefault },
    },
  });
  const network = getNetwork(values.network!);
  let proxy: SocksProxyOptions | undefined;
  if (values.proxy) {
    const url = new URL(values.proxy);
    proxy = {
      proxyHost: url.hostname.replace(/^\[|\]$/g, ''),
      proxyPort: Number(url.port),
      ...(url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : {}),
    };
  }
  return {
    network,
    peers: values.peer!,
    durationMs: values.duration === undefined ? undefined : Number(values.duration) * 1000,
    proxy,
    userAgentPolicy: network.name === 'regtest' ? ACCEPT_ANY_UA : DEFAULT_UA_POLICY,
    positionals,
  };
}

/** Resolves on Ctrl-C or when the duration is over. */
export function untilStopped(durationMs: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    if (durationMs !== undefined) setTimeout(resolve, durationMs).unref();
  });
}

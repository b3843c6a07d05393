// Discover peers of a network from its DNS seeds.
import type { Network } from '../networks.js';
import { DiscoveryError } from './errors.js';
import { resolveSettings, resolveWithSettings, type ResolveOptions, type ResolveSettings, type SeedResolution } from './resolve.js';

export interface DiscoverOptions extends ResolveOptions {
  /**
   * Ask the seeds for peers that advertise these service bits, with the name "x<hex bits>.<seed>"
   * (the seeder convention, e.g. x1.seed.example for NODE_NETWORK). Unset or 0: the plain seed name.
   */
  readonly services?: bigint | number;
  /** When the service-filtered name gives no address (NXDOMAIN or empty), ask the plain name. Default true. */
  readonly fallbackToUnfiltered?: boolean;
}

/** A peer address learned from a seed. */
export interface DiscoveredPeer {
  readonly address: string;
  readonly family: 4 | 6;
  /** The network's default port (seeds only give addresses). */
  readonly port: number;
  /** Seconds the record stays valid. */
  readonly ttl: number;
  /** The seed host name from the network parameters. */
  readonly source: string;
  /** The name actually queried (the service-filtered one when that answered). */
  readonly queriedName: string;
}

export interface SeedFailure {
  readonly seed: string;
  readonly error: DiscoveryError;
}

export interface DiscoveryResult {
  /** Every address once, the first seed (in the network's order) that gave it being the source. */
  readonly peers: readonly DiscoveredPeer[];
  /** Seeds that failed; the others still contributed. */
  readonly failures: readonly SeedFailure[];
  /** The full resolution of each seed that answered, for logs and the Manager's `discovery` event. */
  readonly resolutions: readonly { readonly seed: string; readonly resolution: SeedResolution }[];
}

/** A host name and port to open an address-fetch connection to. */
export interface AddressFetchTarget {
  readonly host: string;
  readonly port: number;
}

/** "x<services in lower-case hex>.<seed>", the name under which seeders list peers with those services. */
export function serviceFilteredName(seed: string, services: bigint | number): string {
  const bits = BigInt(services);
  if (bits <= 0n) throw new RangeError(`services must be positive, got ${bits}`);
  return `x${bits.toString(16)}.${seed}`;
}

async function resolveOneSeed(seed: string, opts: DiscoverOptions, settings: ResolveSettings): Promise<SeedResolution> {
  const services = opts.services === undefined ? 0n : BigInt(opts.services);
  if (services === 0n) return resolveWithSettings(seed, settings);
  const filtered = await resolveWithSettings(serviceFilteredName(seed, services), settings);
  if (filtered.addresses.length > 0 || opts.fallbackToUnfiltered === false) return filtered;
  return resolveWithSettings(seed, settings);
}

/**
 * Resolve every DNS seed of `network` in parallel. A failing seed is reported in `failures` while the
 * others contribute; only when every seed fails does this throw (code 'all-seeds-failed', with
 * `causes`). A network without seeds gives an empty result.
 *
 * This does local DNS. When a proxy is configured, call none of this: dial the proxy to
 * `seedAddressFetchTargets(network)` instead and let the proxy resolve the names.
 */
export async function discoverSeeds(network: Network, opts: DiscoverOptions = {}): Promise<DiscoveryResult> {
  const seeds = network.dnsSeeds;
  if (seeds.length === 0) return { peers: [], failures: [], resolutions: [] };
  const settings = resolveSettings(opts);
  const outcomes = await Promise.allSettled(seeds.map((seed) => resolveOneSeed(seed, opts, settings)));

  const peers: DiscoveredPeer[] = [];
  const seen = new Set<string>();
  const failures: SeedFailure[] = [];
  const resolutions: { seed: string; resolution: SeedResolution }[] = [];
  outcomes.forEach((outcome, i) => {
    const seed = seeds[i];
    if (outcome.status === 'rejected') {
      const error =
        outcome.reason instanceof DiscoveryError
          ? outcome.reason
          : new DiscoveryError('network', `seed ${seed}: ${String(outcome.reason)}`, { queryName: seed, cause: outcome.reason });
      failures.push({ seed, error });
      return;
    }
    const resolution = outcome.value;
    resolutions.push({ seed, resolution });
    for (const found of resolution.addresses) {
      if (seen.has(found.address)) continue;
      seen.add(found.address);
      peers.push({ address: found.address, family: found.family, port: network.defaultPort, ttl: found.ttl, source: seed, queriedName: resolution.name });
    }
  });
  if (resolutions.length === 0) {
    const causes = failures.map((f) => f.error);
    throw new DiscoveryError('all-seeds-failed', `all ${seeds.length} DNS seeds of ${network.name} failed: ${causes.map((c) => c.message).join('; ')}`, { causes });
  }
  return { peers, failures, resolutions };
}

/**
 * The seeds as host names to reach through a proxy, for Bitcoin Core-style "address fetch": connect
 * through the proxy to each seed name (the proxy resolves it, no local DNS), send getaddr, keep the
 * addr reply, disconnect. Seeds that run a node on the network's port answer this way.
 */
export function seedAddressFetchTargets(network: Network): AddressFetchTarget[] {
  return network.dnsSeeds.map((host) => ({ host, port: network.defaultPort }));
}

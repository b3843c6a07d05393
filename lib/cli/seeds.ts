// bsv-wire seeds: resolve the network's DNS seeds and print every address with where it came from.
import { discoverSeeds, formatDnsServer, DiscoveryError } from '../discovery/index.js';
import { CliError, NETWORK_OPTIONS, emptySeedAnswer, firstAndMore, networkFrom, parseCommandArgs } from './common.js';

export const SEEDS_USAGE = `usage: bsv-wire seeds [options]
  Resolves each DNS seed of the network (A and AAAA) and prints every address with its seed,
  record type, TTL and the resolver that answered. Seeds that fail are listed with the reason.
  --network, --seed NAME (repeatable), --dns-server HOST:PORT (repeatable), --port N, --json
`;

const OPTIONS = { ...NETWORK_OPTIONS, json: { type: 'boolean', default: false } } as const;

export async function runSeeds(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, OPTIONS);
  const { network, dnsServers } = networkFrom(values);
  if (network.dnsSeeds.length === 0) throw new CliError(`${network.name} has no DNS seeds; name some with --seed`);
  const json = values.json === true;
  let result;
  try {
    result = await discoverSeeds(network, { servers: dnsServers });
  } catch (err) {
    if (err instanceof DiscoveryError && err.code === 'all-seeds-failed') {
      for (const cause of err.causes) print(json, { event: 'failure', error: cause.message }, `failed: ${cause.message}`);
      throw new CliError(`all ${network.dnsSeeds.length} DNS seeds of ${network.name} failed`);
    }
    throw err;
  }
  for (const { seed, resolution } of result.resolutions) {
    for (const a of resolution.addresses) {
      const server = formatDnsServer(a.server);
      print(
        json,
        { event: 'address', seed, name: resolution.name, address: a.address, port: network.defaultPort, type: a.type, ttl: a.ttl, server, transport: a.transport },
        `${seed}\t${a.family === 6 ? `[${a.address}]` : a.address}:${network.defaultPort}\t${a.type}\tttl=${a.ttl}\tvia ${server}/${a.transport}`,
      );
    }
    if (resolution.addresses.length === 0) print(json, { event: 'empty', seed, name: resolution.name, rcode: resolution.rcode }, `${seed}\t(no addresses: ${resolution.rcode})`);
    for (const f of resolution.failures) print(json, { event: 'failure', seed, type: f.type, error: f.error.message }, `${seed}\t${f.type} failed: ${f.error.message}`);
  }
  for (const f of result.failures) print(json, { event: 'failure', seed: f.seed, error: f.error.message }, `${f.seed}\tfailed: ${f.error.message}`);
  const answered = result.resolutions.length;
  print(
    json,
    { event: 'summary', network: network.name, seeds: network.dnsSeeds.length, answered, addresses: result.peers.length },
    `${result.peers.length} distinct addresses from ${answered} of ${network.dnsSeeds.length} seeds`,
  );
  if (result.peers.length === 0) {
    // Every seed answered empty or failed: say why, in the network's seed order.
    const why = new Map<string, string>();
    for (const { seed, resolution } of result.resolutions) why.set(seed, emptySeedAnswer(seed, resolution.rcode));
    for (const f of result.failures) why.set(f.seed, `${f.seed}: ${f.error.message}`);
    const reasons = network.dnsSeeds.flatMap((seed) => why.get(seed) ?? []);
    throw new CliError(`DNS seeds returned no addresses (${firstAndMore(reasons)})`);
  }
  return 0;
}

function print(json: boolean, event: Record<string, unknown>, line: string): void {
  process.stdout.write(`${json ? JSON.stringify(event) : line}\n`);
}

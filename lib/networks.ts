/** Per-network parameters, from the BSV node's chainparams (see shared/PROTOCOL.md §1). */
export interface Network {
  readonly name: string;
  /** Four magic bytes exactly as they appear on the wire. */
  readonly magic: Buffer;
  readonly defaultPort: number;
  readonly dnsSeeds: readonly string[];
  /** Genesis block hash in display (explorer) order. */
  readonly genesisHash: string;
  readonly protocolVersion: number;
}

export const PROTOCOL_VERSION = 70016;
/** Peers at or above this version understand extmsg (payloads over 4 GiB). */
export const EXTENDED_PAYLOAD_VERSION = 70016;
export const MIN_PEER_PROTO_VERSION = 31800;

function network(name: string, magicHex: string, defaultPort: number, dnsSeeds: string[], genesisHash: string): Network {
  return Object.freeze({
    name,
    magic: Buffer.from(magicHex, 'hex'),
    defaultPort,
    dnsSeeds: Object.freeze(dnsSeeds),
    genesisHash,
    protocolVersion: PROTOCOL_VERSION,
  });
}

const TESTNET_GENESIS = '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943';

export const mainnet = network(
  'mainnet',
  'e3e1f3e8',
  8333,
  ['seed.bitcoinsv.io', 'seed.satoshisvision.network', 'seed.bitcoinseed.directory'],
  '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
);
export const testnet = network(
  'testnet',
  'f4e5f3f4',
  18333,
  ['testnet-seed.bitcoinsv.io', 'testnet-seed.bitcoincloud.net', 'testnet-seed.bitcoinseed.directory'],
  TESTNET_GENESIS,
);
export const stn = network('stn', 'fbcec4f9', 9333, ['stn-seed.bitcoinsv.io', 'stn-seed.bitcoinseed.directory'], TESTNET_GENESIS);
export const regtest = network(
  'regtest',
  'dab5bffa',
  18444,
  [],
  '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
);

export const networks: Readonly<Record<string, Network>> = Object.freeze({ mainnet, testnet, stn, regtest });

/** Look up a built-in network by name ("main" and "test" are accepted as the node spells them). */
export function getNetwork(name: string): Network {
  const alias: Record<string, string> = { main: 'mainnet', test: 'testnet' };
  const found = networks[alias[name] ?? name];
  if (!found) throw new RangeError(`unknown network ${JSON.stringify(name)}; expected one of ${Object.keys(networks).join(', ')}`);
  return found;
}

export interface CustomNetworkOptions {
  name: string;
  magic: Buffer | string;
  defaultPort: number;
  dnsSeeds?: string[];
  genesisHash?: string;
  protocolVersion?: number;
}

/** A network with its own magic and port (a private regtest, a -magicbytes chain). */
export function defineNetwork(opts: CustomNetworkOptions): Network {
  const magic = typeof opts.magic === 'string' ? Buffer.from(opts.magic, 'hex') : Buffer.from(opts.magic);
  if (magic.length !== 4) throw new RangeError('magic must be exactly 4 bytes');
  if (!Number.isInteger(opts.defaultPort) || opts.defaultPort < 1 || opts.defaultPort > 65535) {
    throw new RangeError(`bad port ${opts.defaultPort}`);
  }
  return Object.freeze({
    name: opts.name,
    magic,
    defaultPort: opts.defaultPort,
    dnsSeeds: Object.freeze([...(opts.dnsSeeds ?? [])]),
    genesisHash: opts.genesisHash ?? '',
    protocolVersion: opts.protocolVersion ?? PROTOCOL_VERSION,
  });
}

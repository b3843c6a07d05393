// DNS seed discovery: public surface of lib/discovery.
export { DiscoveryError, type DiscoveryErrorCode } from './errors.js';
export { parseDnsServer, systemDnsServers, formatDnsServer, DNS_PORT, type DnsServer } from './servers.js';
export { serviceFilteredName, discoverSeeds, seedAddressFetchTargets } from './seeds.js';
export type { DiscoverOptions, DiscoveredPeer, DiscoveryResult, SeedFailure, AddressFetchTarget } from './seeds.js';
export { resolveSeed } from './resolve.js';
export type { ResolveOptions, BackoffOptions, ResolvedAddress, QueryAnswer, QueryFailure, SeedResolution } from './resolve.js';
export type { AddressRecordType, AddressRecord } from './packet.js';

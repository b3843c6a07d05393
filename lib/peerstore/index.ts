/** PeerStore: known peer addresses in new/tried buckets, bans, atomic persistence. */
export {
  PeerStore,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_TRIED_RATIO,
  type AddResult,
  type AddressRef,
  type FlushInfo,
  type PeerAddressInput,
  type PeerStoreCounts,
  type PeerStoreEvents,
  type PeerStoreOptions,
  type SampleOptions,
  type SelectOptions,
} from './store.js';
export { FilePeerStoreBackend, type FileBackendOptions } from './file-backend.js';
export { PeerStoreLockedError } from './lock.js';
export {
  decodePeerStoreFile,
  encodePeerStoreFile,
  PeerStoreFileError,
  PEERSTORE_FILE_MAGIC,
  PEERSTORE_FORMAT_VERSION,
  type PeerStoreFileReason,
} from './format.js';
export { DEFAULT_BAN_MS, DEFAULT_MAX_BANS, type BanOptions } from './bans.js';
export { DEFAULT_GEOMETRY, type BucketGeometry } from './buckets.js';
export {
  addressKey,
  canonicalIp,
  defaultNetgroup,
  formatIp,
  formatSubnet,
  parseIp,
  parseSubnet,
  splitHostPort,
  subnetContains,
  type NetgroupFunction,
  type Subnet,
} from './ip.js';
export type {
  AddressTable,
  BanEntry,
  KnownAddress,
  PeerStoreBackend,
  PeerStoreWarning,
  PeerStoreWarningCode,
  PeerStoreWarningListener,
  StoreSnapshot,
  StoredAddress,
} from './types.js';

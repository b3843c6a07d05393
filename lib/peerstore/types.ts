/** Shapes shared by the PeerStore, its persistence format and its backends. */

/** Which table an address lives in: "new" (heard of) or "tried" (we connected to it at least once). */
export type AddressTable = 'new' | 'tried';

/** One known address as persisted. Times are milliseconds since the epoch; 0 means "never". */
export interface StoredAddress {
  readonly host: string;
  readonly port: number;
  readonly services: bigint;
  readonly lastSeen: number;
  readonly lastTry: number;
  readonly lastSuccess: number;
  /** Failed attempts since the last success. */
  readonly attempts: number;
  /** Who told us: the relaying peer's IP, or a label such as "dns-seed" or "manual". */
  readonly source: string;
  readonly table: AddressTable;
}

/** A known address as the store reports it, with its identity and netgroup. */
export interface KnownAddress extends StoredAddress {
  /** "1.2.3.4:8333" or "[2001:db8::1]:8333". */
  readonly key: string;
  readonly netgroup: string;
  /** Where it sits in its table (diagnostics; recomputed on load, not persisted). */
  readonly bucket: number;
  readonly position: number;
}

/** A ban on one IP or a subnet, in canonical CIDR form ("1.2.3.4/32", "2001:db8::/32"). */
export interface BanEntry {
  readonly subnet: string;
  readonly reason: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** Everything a backend persists. The key keeps bucket placement stable across restarts. */
export interface StoreSnapshot {
  readonly key: Buffer;
  readonly savedAt: number;
  readonly addresses: readonly StoredAddress[];
  readonly bans: readonly BanEntry[];
}

/** Where a PeerStore keeps its state between runs. The file backend is the default. */
export interface PeerStoreBackend {
  /** The last saved snapshot, or undefined when there is none (or none that could be trusted). */
  load(): Promise<StoreSnapshot | undefined>;
  save(snapshot: StoreSnapshot): Promise<void>;
  /** Optional: the store is done with the backend (PeerStore.stop calls it); e.g. gives a lock back. */
  close?(): Promise<void>;
  /** Optional: the PeerStore subscribes here and re-emits the backend's warnings as its 'warning' event. */
  addWarningListener?(listener: PeerStoreWarningListener): void;
}

export type PeerStoreWarningCode =
  /** The main file failed its checks; it was moved aside. */
  | 'corrupt-file'
  /** The main file was written by a newer format version; it was moved aside, untouched. */
  | 'unsupported-version'
  /** The backup was loaded instead of the main file. */
  | 'used-backup'
  /** The backup failed its checks too; it was moved aside. */
  | 'corrupt-backup'
  /** A file could not be read or moved (permissions, I/O). */
  | 'io-error'
  /** A periodic or final flush failed; the state stays in memory and is retried at the next flush. */
  | 'flush-failed'
  /** Loaded entries that no longer fit (smaller tables, invalid values) were dropped. */
  | 'entries-dropped';

/** Something went wrong but the store carried on. */
export interface PeerStoreWarning {
  readonly code: PeerStoreWarningCode;
  readonly message: string;
  readonly file?: string;
  /** Where a bad file was moved to. */
  readonly movedTo?: string;
  readonly error?: Error;
}

export type PeerStoreWarningListener = (warning: PeerStoreWarning) => void;

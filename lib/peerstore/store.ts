import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { BanList, DEFAULT_BAN_MS, DEFAULT_MAX_BANS, type BanOptions } from './bans.js';
import { BucketPlacer, checkGeometry, DEFAULT_GEOMETRY, type BucketGeometry } from './buckets.js';
import { FilePeerStoreBackend } from './file-backend.js';
import { SlotTable } from './slot-table.js';
import { addressKey, canonicalIp, defaultNetgroup, splitHostPort, type NetgroupFunction } from './ip.js';
import type {
  AddressTable,
  BanEntry,
  KnownAddress,
  PeerStoreBackend,
  PeerStoreWarning,
  PeerStoreWarningListener,
  StoreSnapshot,
  StoredAddress,
} from './types.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Bitcoin Core's addrman constants, in milliseconds. */
const HORIZON_MS = 30 * DAY; // not heard of for this long: stale
const RETRIES_WITHOUT_SUCCESS = 3; // failed this often and never reached: give up
const MAX_FAILURES = 10; // failed this often ...
const MIN_FAIL_MS = 7 * DAY; // ... with no success for this long: give up
const FUTURE_SLACK_MS = 10 * MINUTE;
const RECENT_TRY_GRACE_MS = MINUTE; // never "terrible" right after a try

export const DEFAULT_FLUSH_INTERVAL_MS = 15 * MINUTE;
export const DEFAULT_RETRY_DELAY_MS = 10 * MINUTE;
export const DEFAULT_TRIED_RATIO = 0.7;
const SELECT_PROBES = 64;

/** An address to learn, as it comes from an `addr` message, a DNS seed or the user. */
export interface PeerAddressInput {
  readonly host: string;
  readonly port: number;
  readonly services?: bigint;
  /** When the address was last seen active (ms). Missing, too old or in the future: clamped. */
  readonly lastSeen?: number;
}

/** Names an address: "1.2.3.4:8333", "[::1]:8333", or { host, port }. */
export type AddressRef = string | { readonly host: string; readonly port: number };

export interface AddResult {
  /** New addresses placed in the "new" table. */
  readonly added: number;
  /** Known addresses whose lastSeen or services were refreshed. */
  readonly updated: number;
  /** Invalid, banned, or lost a bucket collision to a better entry. */
  readonly rejected: number;
}

export interface SelectOptions {
  /** Chance of drawing from "tried" when both tables have candidates (default 0.7). */
  readonly triedRatio?: number;
  /** Restrict to one table ("new" for feelers). Default: both. */
  readonly table?: AddressTable | 'any';
  /** Skip addresses in these netgroups (e.g. those of current outbound peers). */
  readonly excludeNetgroups?: Iterable<string>;
  /** Skip these addresses (e.g. connected or being dialed). */
  readonly excludeAddresses?: Iterable<AddressRef>;
  /** Skip addresses tried less than this long ago (default 10 min; 0 disables). */
  readonly retryDelayMs?: number;
}

export interface SampleOptions {
  /** At most this many (default 1000, the `addr` message limit). */
  readonly max?: number;
  /** At most this fraction of the known addresses (default 0.23, as Bitcoin Core answers getaddr). */
  readonly fraction?: number;
}

export interface PeerStoreCounts {
  readonly new: number;
  readonly tried: number;
  readonly total: number;
  readonly bans: number;
}

export interface PeerStoreOptions extends Partial<BucketGeometry> {
  /** Where state is persisted. Default: a FilePeerStoreBackend in `dataDir`, or memory only without one. */
  readonly backend?: PeerStoreBackend;
  readonly dataDir?: string;
  /** With `dataDir`: only read the file, without taking the directory's lock; flushes then fail. */
  readonly readOnly?: boolean;
  /** The secret that keys bucket placement (16..64 bytes). Default random; a loaded file's key wins. */
  readonly key?: Buffer;
  readonly now?: () => number;
  /** Uniform in [0, 1); injectable for deterministic selection in tests. */
  readonly random?: () => number;
  readonly netgroup?: NetgroupFunction;
  readonly flushIntervalMs?: number;
  readonly defaultBanMs?: number;
  readonly maxBans?: number;
  /** Also available as the 'warning' event. */
  readonly onWarning?: PeerStoreWarningListener;
}

export interface FlushInfo {
  readonly addresses: number;
  readonly bans: number;
}

export type PeerStoreEvents = {
  warning: [warning: PeerStoreWarning];
  flush: [info: FlushInfo];
};

interface Entry {
  readonly host: string;
  readonly port: number;
  readonly key: string;
  readonly netgroup: string;
  readonly source: string;
  readonly sourceGroup: string;
  services: bigint;
  lastSeen: number;
  lastTry: number;
  lastSuccess: number;
  attempts: number;
  table: AddressTable;
  /** bucket * bucketSize + position, in the entry's table. */
  slot: number;
  /** Where it goes in the new table (fixed by key, address and source). */
  readonly newSlot: number;
  /** Where it goes in the tried table; computed when first needed (most entries never get there). */
  triedSlot: number | undefined;
}

/** The mutable history of an address. */
interface History {
  services: bigint;
  lastSeen: number;
  lastTry: number;
  lastSuccess: number;
  attempts: number;
}

/**
 * Known peer addresses in "new" and "tried" tables of buckets (after Bitcoin Core's addrman), plus bans,
 * persisted through a backend. No networking: the Manager asks it what to dial and tells it what happened.
 */
export class PeerStore extends EventEmitter<PeerStoreEvents> {
  private readonly geometry: BucketGeometry;
  private readonly backend: PeerStoreBackend | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly netgroupOfIp: NetgroupFunction;
  private readonly flushIntervalMs: number;
  private readonly bans: BanList;
  private key: Buffer;
  private placer: BucketPlacer;
  private readonly entries = new Map<string, Entry>();
  private readonly newSlots = new SlotTable<Entry>();
  private readonly triedSlots = new SlotTable<Entry>();
  private dirty = false;
  private flushChain: Promise<unknown> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;

  /** Creates a store and loads its persisted state. */
  static async open(options: PeerStoreOptions = {}): Promise<PeerStore> {
    const store = new PeerStore(options);
    await store.load();
    return store;
  }

  constructor(options: PeerStoreOptions = {}) {
    super();
    this.geometry = checkGeometry({
      newBucketCount: options.newBucketCount ?? DEFAULT_GEOMETRY.newBucketCount,
      triedBucketCount: options.triedBucketCount ?? DEFAULT_GEOMETRY.triedBucketCount,
      bucketSize: options.bucketSize ?? DEFAULT_GEOMETRY.bucketSize,
      newBucketsPerSourceGroup: options.newBucketsPerSourceGroup ?? DEFAULT_GEOMETRY.newBucketsPerSourceGroup,
      triedBucketsPerGroup: options.triedBucketsPerGroup ?? DEFAULT_GEOMETRY.triedBucketsPerGroup,
    });
    this.key = checkKey(options.key ?? randomBytes(32));
    this.placer = new BucketPlacer(this.key, this.geometry);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.netgroupOfIp = options.netgroup ?? defaultNetgroup;
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (!(this.flushIntervalMs > 0)) throw new RangeError(`flushIntervalMs must be positive, got ${this.flushIntervalMs}`);
    this.bans = new BanList(options.defaultBanMs ?? DEFAULT_BAN_MS, options.maxBans ?? DEFAULT_MAX_BANS, () => {
      this.dirty = true;
    });
    if (options.onWarning) this.on('warning', options.onWarning);
    const emitWarning = (w: PeerStoreWarning): void => {
      this.emit('warning', w);
    };
    if (options.backend) {
      this.backend = options.backend;
    } else if (options.dataDir !== undefined) {
      this.backend = new FilePeerStoreBackend({ dataDir: options.dataDir, now: this.now, readOnly: options.readOnly });
    }
    this.backend?.addWarningListener?.(emitWarning);
  }

  // ---- addresses ----

  /** Learns addresses relayed by `source` (a peer IP, or a label such as "dns-seed"). */
  add(addresses: Iterable<PeerAddressInput>, source: string): AddResult {
    const now = this.now();
    const sourceHost = canonicalIp(source) ?? source;
    const sourceGroup = this.groupOfSource(sourceHost);
    let added = 0;
    let updated = 0;
    let rejected = 0;
    for (const input of addresses) {
      const host = canonicalIp(input.host);
      if (host === undefined || !isPort(input.port) || this.bans.find(host, now)) {
        rejected++;
        continue;
      }
      const services = input.services ?? 0n;
      const lastSeen = clampSeen(input.lastSeen, now);
      const key = addressKey(host, input.port);
      const known = this.entries.get(key);
      if (known) {
        if (lastSeen > known.lastSeen || (known.services | services) !== known.services) {
          known.lastSeen = Math.max(known.lastSeen, lastSeen);
          known.services |= services;
          this.dirty = true;
          updated++;
        }
        continue;
      }
      const entry = this.makeEntry(host, input.port, sourceHost, sourceGroup, { services, lastSeen, lastTry: 0, lastSuccess: 0, attempts: 0 });
      if (this.placeInNew(entry, now)) added++;
      else rejected++;
    }
    return { added, updated, rejected };
  }

  /** A dial to this address is starting. */
  markAttempt(ref: AddressRef): boolean {
    const entry = this.find(ref);
    if (!entry) return false;
    entry.lastTry = this.now();
    this.dirty = true;
    return true;
  }

  /** A dial or handshake with this address failed: counts a failure. */
  markFailed(ref: AddressRef): boolean {
    const entry = this.find(ref);
    if (!entry) return false;
    entry.attempts++;
    entry.lastTry = this.now();
    this.dirty = true;
    return true;
  }

  /**
   * The handshake with this address succeeded: it moves to "tried" (learning it first if unknown).
   * A tried entry it collides with goes back to "new". False if the address is invalid or banned.
   */
  markGood(ref: AddressRef, info: { readonly services?: bigint } = {}): boolean {
    const now = this.now();
    let entry = this.find(ref);
    if (!entry) {
      const parsed = parseRef(ref);
      if (!parsed) return false;
      this.add([{ host: parsed.host, port: parsed.port, services: info.services, lastSeen: now }], parsed.host);
      entry = this.find(ref);
      if (!entry) {
        // Its new slot was held by a better entry; it still earns a place in "tried".
        const host = canonicalIp(parsed.host);
        if (host === undefined || !isPort(parsed.port) || this.bans.find(host, now)) return false;
        entry = this.makeEntry(host, parsed.port, host, this.groupOfSource(host), { services: 0n, lastSeen: now, lastTry: 0, lastSuccess: 0, attempts: 0 });
        entry.slot = -1; // in no table yet
        this.entries.set(entry.key, entry);
      }
    }
    if (info.services !== undefined) entry.services = info.services;
    entry.lastSuccess = now;
    entry.lastSeen = now;
    entry.lastTry = now;
    entry.attempts = 0;
    if (entry.table === 'new') this.moveToTried(entry, now);
    this.dirty = true;
    return true;
  }

  get(ref: AddressRef): KnownAddress | undefined {
    const entry = this.find(ref);
    return entry ? this.view(entry) : undefined;
  }

  remove(ref: AddressRef): boolean {
    const entry = this.find(ref);
    if (!entry) return false;
    this.detach(entry);
    this.dirty = true;
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  counts(): PeerStoreCounts {
    return { new: this.newSlots.size, tried: this.triedSlots.size, total: this.entries.size, bans: this.bans.size };
  }

  /** Every known address, tried first, then by key; for the CLI and diagnostics. */
  list(options: { readonly table?: AddressTable } = {}): KnownAddress[] {
    const out: KnownAddress[] = [];
    for (const entry of this.entries.values()) if (!options.table || entry.table === options.table) out.push(this.view(entry));
    return out.sort((a, b) => (a.table === b.table ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.table === 'tried' ? -1 : 1));
  }

  /**
   * Picks an address to dial: from "tried" with probability `triedRatio` (when both tables have
   * candidates), weighted against repeated failures (0.66 ^ attempts, as addrman does), skipping
   * banned, excluded and recently tried addresses. Undefined when nothing qualifies.
   */
  select(options: SelectOptions = {}): KnownAddress | undefined {
    const now = this.now();
    const triedRatio = options.triedRatio ?? DEFAULT_TRIED_RATIO;
    const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    const table = options.table ?? 'any';
    const excludedGroups = new Set(options.excludeNetgroups ?? []);
    const excludedKeys = new Set<string>();
    for (const ref of options.excludeAddresses ?? []) {
      const key = refKey(ref);
      if (key !== undefined) excludedKeys.add(key);
    }
    const eligible = (e: Entry): boolean =>
      !excludedGroups.has(e.netgroup) && !excludedKeys.has(e.key) && !(retryDelayMs > 0 && e.lastTry > 0 && now - e.lastTry < retryDelayMs);
    // Random probes first, as addrman does: O(1) each, and the table choice and the 0.66^attempts
    // acceptance give the intended distribution. Only when excluded or failing entries make probes
    // miss does it fall back to scanning every candidate.
    const tables = [table === 'new' ? undefined : this.triedSlots, table === 'tried' ? undefined : this.newSlots];
    for (let probe = 0; probe < SELECT_PROBES; probe++) {
      const [tried, fresh] = tables;
      let from: SlotTable<Entry> | undefined;
      if (!tried || tried.size === 0) from = fresh;
      else if (!fresh || fresh.size === 0) from = tried;
      else from = this.random() < triedRatio ? tried : fresh;
      const pick = from?.pick(this.random);
      if (!pick) return undefined; // both tables empty
      if (!eligible(pick) || this.random() >= failureWeight(pick)) continue;
      if (!this.bans.find(pick.host, now)) return this.view(pick);
    }

    const tried = table === 'new' ? [] : [...this.triedSlots.values()].filter(eligible);
    const fresh = table === 'tried' ? [] : [...this.newSlots.values()].filter(eligible);
    // Bans are checked only on the drawn entry: a ban scan per candidate would cost far more.
    for (;;) {
      let pool: Entry[];
      if (tried.length === 0) pool = fresh;
      else if (fresh.length === 0) pool = tried;
      else pool = this.random() < triedRatio ? tried : fresh;
      if (pool.length === 0) return undefined;
      const index = this.weightedIndex(pool);
      const pick = pool[index];
      if (!this.bans.find(pick.host, now)) return this.view(pick);
      pool[index] = pool[pool.length - 1];
      pool.pop();
    }
  }

  /** A random sample of usable addresses, as an answer to `getaddr`. Skips banned and stale ones. */
  sample(options: SampleOptions = {}): KnownAddress[] {
    const now = this.now();
    const max = Math.min(options.max ?? 1000, Math.floor(this.entries.size * (options.fraction ?? 0.23)));
    const pool = [...this.entries.values()];
    const out: KnownAddress[] = [];
    // Partial Fisher-Yates: only as many swaps as picks.
    for (let i = 0; i < pool.length && out.length < max; i++) {
      const j = i + Math.floor(this.random() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
      const e = pool[i];
      if (!isTerrible(e, now) && !this.bans.find(e.host, now)) out.push(this.view(e));
    }
    return out;
  }

  /** The netgroup this store assigns to a host (for the Manager's one-outbound-per-netgroup rule). */
  netgroupOf(host: string): string {
    const ip = canonicalIp(host);
    return ip === undefined ? defaultNetgroup(host) : this.netgroupOfIp(ip);
  }

  // ---- bans ----

  /** Bans an IP or CIDR subnet (default 24 h). Throws TypeError for a target that is neither. */
  ban(target: string, options: BanOptions = {}): BanEntry {
    return this.bans.ban(target, this.now(), options);
  }

  unban(target: string): boolean {
    return this.bans.unban(target);
  }

  isBanned(host: string, now: number = this.now()): boolean {
    return this.bans.find(host, now) !== undefined;
  }

  /** The ban covering this host, with its reason and expiry. */
  banOf(host: string, now: number = this.now()): BanEntry | undefined {
    return this.bans.find(host, now);
  }

  listBans(now: number = this.now()): BanEntry[] {
    return this.bans.list(now);
  }

  // ---- persistence ----

  /** Replaces the in-memory state with the backend's snapshot, if it has one. */
  async load(): Promise<void> {
    if (!this.backend) return;
    const snapshot = await this.backend.load();
    if (snapshot) this.restore(snapshot);
  }

  /** Everything needed to rebuild this store. */
  snapshot(): StoreSnapshot {
    const now = this.now();
    const addresses: StoredAddress[] = [];
    for (const e of this.entries.values()) addresses.push(stored(e));
    return { key: Buffer.from(this.key), savedAt: now, addresses, bans: this.bans.list(now) };
  }

  /** Rebuilds the tables from a snapshot (adopting its key); entries that no longer fit are dropped. */
  restore(snapshot: StoreSnapshot): void {
    const now = this.now();
    this.entries.clear();
    this.newSlots.clear();
    this.triedSlots.clear();
    this.key = checkKey(Buffer.from(snapshot.key));
    this.placer = new BucketPlacer(this.key, this.geometry);
    const sourceGroups = new Map<string, string>(); // sources repeat: compute each group once
    const droppedBans = this.bans.restore(snapshot.bans, now);
    // Tried first, so they keep their slots; a tried entry that collides falls back to "new".
    const ordered = [...snapshot.addresses].sort((a, b) => (a.table === b.table ? 0 : a.table === 'tried' ? -1 : 1));
    for (const a of ordered) {
      const host = canonicalIp(a.host);
      if (host === undefined || !isPort(a.port) || this.entries.has(addressKey(host, a.port))) continue;
      let sourceGroup = sourceGroups.get(a.source);
      if (sourceGroup === undefined) {
        sourceGroup = this.groupOfSource(canonicalIp(a.source) ?? a.source);
        sourceGroups.set(a.source, sourceGroup);
      }
      const entry = this.makeEntry(host, a.port, canonicalIp(a.source) ?? a.source, sourceGroup, a);
      if (a.table !== 'tried' || !this.placeInTried(entry)) this.placeInNew(entry, now);
    }
    // Counted at the end: an entry placed early may have been evicted by a later one.
    const dropped = droppedBans + snapshot.addresses.length - this.entries.size;
    this.dirty = false;
    if (dropped > 0) {
      this.emit('warning', { code: 'entries-dropped', message: `${dropped} persisted entries were invalid or no longer fit and were dropped` });
      this.dirty = true;
    }
  }

  /**
   * Saves through the backend if anything changed since the last save; resolves true if it wrote.
   * Flushes are serialised: one starting while another runs waits for it.
   */
  flush(): Promise<boolean> {
    const run = this.flushChain.then(() => this.saveIfDirty());
    this.flushChain = run.catch(() => {});
    return run;
  }

  /** Starts the periodic flush (unref'd, so it never keeps the process alive). Idempotent. */
  start(): void {
    if (this.flushTimer || !this.backend) return;
    this.flushTimer = setInterval(() => {
      this.flush().catch((err: unknown) => {
        this.emit('warning', { code: 'flush-failed', message: `periodic flush failed: ${String(err)}`, error: asError(err) });
      });
    }, this.flushIntervalMs);
    this.flushTimer.unref();
  }

  /** Stops the periodic flush, makes a final one and closes the backend (the data directory's lock). A failing final flush rejects. */
  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    try {
      await this.flush();
    } finally {
      await this.backend?.close?.();
    }
  }

  // ---- internals ----

  private async saveIfDirty(): Promise<boolean> {
    if (!this.backend || !this.dirty) return false;
    const snapshot = this.snapshot();
    // Cleared before the write: changes made while it runs mark the store dirty again.
    this.dirty = false;
    try {
      await this.backend.save(snapshot);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
    this.emit('flush', { addresses: snapshot.addresses.length, bans: snapshot.bans.length });
    return true;
  }

  private groupOfSource(source: string): string {
    return canonicalIp(source) === undefined ? `label:${source}` : this.netgroupOfIp(source);
  }

  private find(ref: AddressRef): Entry | undefined {
    const key = refKey(ref);
    return key === undefined ? undefined : this.entries.get(key);
  }

  /** Puts an entry into its new slot; a worse occupant is evicted, a better one keeps the slot. */
  private placeInNew(entry: Entry, now: number): boolean {
    const slot = entry.newSlot;
    const occupant = this.newSlots.get(slot);
    if (occupant && occupant !== entry) {
      if (!shouldReplace(occupant, entry, now)) return false;
      this.detach(occupant);
    }
    entry.table = 'new';
    entry.slot = slot;
    this.newSlots.set(slot, entry);
    this.entries.set(entry.key, entry);
    this.dirty = true;
    return true;
  }

  /** Puts an entry into its tried slot if free (used when restoring). */
  private placeInTried(entry: Entry): boolean {
    const slot = this.triedSlotOf(entry);
    if (this.triedSlots.has(slot)) return false;
    entry.table = 'tried';
    entry.slot = slot;
    this.triedSlots.set(slot, entry);
    this.entries.set(entry.key, entry);
    return true;
  }

  private makeEntry(host: string, port: number, source: string, sourceGroup: string, history: History): Entry {
    const key = addressKey(host, port);
    const netgroup = this.netgroupOfIp(host);
    const newSlot = this.placer.newSlot(key, netgroup, sourceGroup);
    return {
      host,
      port,
      key,
      netgroup,
      source,
      sourceGroup,
      services: history.services,
      lastSeen: history.lastSeen,
      lastTry: history.lastTry,
      lastSuccess: history.lastSuccess,
      attempts: history.attempts,
      table: 'new',
      slot: newSlot,
      newSlot,
      triedSlot: undefined,
    };
  }

  private triedSlotOf(entry: Entry): number {
    entry.triedSlot ??= this.placer.triedSlot(entry.key, entry.netgroup);
    return entry.triedSlot;
  }

  /** New -> tried. The tried occupant of the slot (succeeded less recently) is demoted to "new". */
  private moveToTried(entry: Entry, now: number): void {
    if (entry.table === 'new' && this.newSlots.get(entry.slot) === entry) this.newSlots.delete(entry.slot);
    const slot = this.triedSlotOf(entry);
    const occupant = this.triedSlots.get(slot);
    entry.table = 'tried';
    entry.slot = slot;
    this.triedSlots.set(slot, entry);
    this.entries.set(entry.key, entry);
    if (occupant && occupant !== entry) {
      this.entries.delete(occupant.key);
      if (!this.placeInNew(occupant, now)) this.entries.delete(occupant.key);
    }
  }

  private detach(entry: Entry): void {
    const slots = entry.table === 'tried' ? this.triedSlots : this.newSlots;
    if (slots.get(entry.slot) === entry) slots.delete(entry.slot);
    this.entries.delete(entry.key);
  }

  private view(e: Entry): KnownAddress {
    const bucket = Math.floor(e.slot / this.geometry.bucketSize);
    return Object.freeze({ ...stored(e), key: e.key, netgroup: e.netgroup, bucket, position: e.slot - bucket * this.geometry.bucketSize });
  }

  private weightedIndex(pool: readonly Entry[]): number {
    let total = 0;
    const weights = pool.map((e) => {
      const w = failureWeight(e);
      total += w;
      return w;
    });
    let target = this.random() * total;
    for (let i = 0; i < pool.length; i++) {
      target -= weights[i];
      if (target < 0) return i;
    }
    return pool.length - 1;
  }
}

/** addrman's de-weighting of addresses that keep failing: 0.66 per failure, down to 0.66^8. */
function failureWeight(e: Entry): number {
  return 0.66 ** Math.min(e.attempts, 8);
}

function checkKey(key: Buffer): Buffer {
  if (key.length < 16 || key.length > 64) throw new RangeError(`PeerStore key must be 16..64 bytes, got ${key.length}`);
  return Buffer.from(key);
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Claims from the future or from long ago are not believed (addrman uses "5 days ago"). */
function clampSeen(lastSeen: number | undefined, now: number): number {
  if (lastSeen === undefined) return now;
  if (!Number.isFinite(lastSeen) || lastSeen <= 0 || lastSeen > now + FUTURE_SLACK_MS) return Math.max(0, now - 5 * DAY);
  return Math.floor(lastSeen);
}

/** addrman's "terrible": stale, from the future, or failing without success. */
function isTerrible(e: Entry, now: number): boolean {
  if (e.lastTry > 0 && now - e.lastTry < RECENT_TRY_GRACE_MS) return false;
  if (e.lastSeen > now + FUTURE_SLACK_MS) return true;
  if (now - e.lastSeen > HORIZON_MS) return true;
  if (e.lastSuccess === 0 && e.attempts >= RETRIES_WITHOUT_SUCCESS) return true;
  if (now - e.lastSuccess > MIN_FAIL_MS && e.attempts >= MAX_FAILURES) return true;
  return false;
}

/**
 * Whether a newcomer takes an occupied new slot. The occupant keeps it unless it is terrible, or it
 * has never been reached and has failed more often than the newcomer: failures are evidence, while a
 * newcomer's freshness is only a claim (which is why an attacker cannot churn good entries out).
 */
function shouldReplace(occupant: Entry, newcomer: Entry, now: number): boolean {
  if (isTerrible(occupant, now)) return true;
  return occupant.lastSuccess === 0 && occupant.attempts > newcomer.attempts;
}

function parseRef(ref: AddressRef): { host: string; port: number } | undefined {
  return typeof ref === 'string' ? splitHostPort(ref) : ref;
}

function refKey(ref: AddressRef): string | undefined {
  const parsed = parseRef(ref);
  if (!parsed) return undefined;
  const host = canonicalIp(parsed.host);
  return host === undefined || !isPort(parsed.port) ? undefined : addressKey(host, parsed.port);
}

function stored(e: Entry): StoredAddress {
  return {
    host: e.host,
    port: e.port,
    services: e.services,
    lastSeen: e.lastSeen,
    lastTry: e.lastTry,
    lastSuccess: e.lastSuccess,
    attempts: e.attempts,
    source: e.source,
    table: e.table,
  };
}


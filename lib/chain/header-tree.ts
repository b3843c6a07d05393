// The in-memory header tree: every header known (forks included), the best chain by cumulative work,
// and the walks a reorg needs. Pure: no I/O. Columnar, so that 1,000,000 headers load from a file in
// one read and cost ~110 bytes each: fixed 68-byte records in one buffer (the same bytes the header
// store keeps on disk), an open-addressing hash index over them, and HeaderEntry objects made on demand
// (recent ones shared: treat entries and their Buffers as read-only).
import { BLOCK_HEADER_SIZE, blockHash, decodeBlockHeader, type BlockHeader } from '../messages/block-header.js';
import { toDisplayHex } from '../hash.js';
import type { ChainView, HeaderEntry, Reorg } from './types.js';
import { blockWork } from './work.js';

/**
 * One header's record, 68 bytes, little-endian, 4-byte aligned (17 u32 words):
 *   0 hash (32, wire order) · 32 parent record index (u32, NO_PARENT for the root) · 36 version (i32)
 *   40 time (u32) · 44 bits (u32) · 48 chain work (128 bits, four u32 limbs, least significant first)
 *   64 a word the tree leaves 0 (the header store keeps a checksum there)
 */
export const TREE_RECORD_SIZE = 68;
const WORDS = TREE_RECORD_SIZE / 4;
const W_PARENT = 8;
const W_VERSION = 9;
const W_TIME = 10;
const W_BITS = 11;
const W_WORK = 12;
/** The word a store may use for its own check value; the tree never reads it. */
export const TREE_RECORD_CHECK_OFFSET = 64;
export const NO_PARENT = 0xffffffff;

/** Chain work is kept in 128 bits: far above any real chain (Bitcoin's is ~2^96 in 2025); larger sums saturate. */
const WORK_MAX = (1n << 128n) - 1n;
const LOCATOR_MAX = 101; // the node's MAX_LOCATOR_SZ
/** Entries kept for reuse: more than the deepest look-back of the rules (2,016 headers for the old retarget). A power of 2. */
const ENTRY_CACHE = 4096;

export type HeaderTreeFailure = 'unknown-parent' | 'unknown-header';

export class HeaderTreeError extends Error {
  override readonly name = 'HeaderTreeError';
  constructor(
    readonly reason: HeaderTreeFailure,
    message: string,
    /** Wire-order hash of the header concerned, when there is one. */
    readonly hash?: Buffer,
  ) {
    super(message);
  }
}

/** A HeaderEntry of this tree: also carries its record index, which makes lookups of it O(1). */
export interface TreeEntry extends HeaderEntry {
  readonly index: number;
}

/** Where the 80-byte headers of records loaded from a file live (the store reads them back on demand). */
export type HeaderBytesSource = (index: number) => Buffer | undefined;

export interface LoadedTree {
  readonly tree: HeaderTree;
  /** Records accepted; fewer than given when one broke the tree's structure (that one and all after it dropped). */
  readonly validCount: number;
  /** Why the record at validCount was refused. */
  readonly problem?: string;
}

export interface LocatorOptions {
  /** Hashes one height apart after the tip before the steps start doubling (default 10, as the node does). */
  readonly dense?: number;
}

const EMPTY = 0; // slot value: slots hold record index + 1
/** The hash index is rebuilt larger once this share of its slots is taken. */
const MAX_LOAD = 0.6;
/** Slots per bucket when the index is built in bucket order (4 KiB of slots: the writes stay in cache). */
const BUCKET_SLOTS = 1024;

function slotsFor(records: number): number {
  return ceilPow2(Math.ceil(records / MAX_LOAD) + 1);
}

function ceilPow2(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}

export class HeaderTree {
  private records: Uint32Array;
  private count = 0;
  private heights: Int32Array;
  /** Record index of the best chain's header at each height. */
  private bestAt: Int32Array;
  private bestIndex = 0;
  /** Open addressing, linear probing, keyed by the hash's first word: record index + 1 per slot. */
  private slots: Uint32Array;
  /** The first hash word of each slot's record, so probing never touches the records themselves. */
  private keys: Uint32Array;
  private readonly leaves = new Set<number>();
  /** 80-byte headers of records at or above headersBase (those inserted in memory). */
  private headerBytes: Buffer;
  private readonly headersBase: number;
  private readonly workCache = new Map<number, bigint>();
  /**
   * Recently made entries, direct-mapped by record index (slot index % ENTRY_CACHE): the consensus rules look at the
   * same ancestors header after header. Not a Map with oldest-first eviction: finding a Map's oldest key walks over
   * the holes its deletes left, which was half the cost of an insert in a sync.
   */
  private readonly entries: (TreeHeaderEntry | undefined)[] = new Array<TreeHeaderEntry | undefined>(ENTRY_CACHE).fill(undefined);
  /** The last appended record and its chain work: in a sync the next header's parent, saving a bigint read. */
  private lastIndex = -1;
  private lastWork = 0n;

  private constructor(
    records: Uint32Array,
    capacity: number,
    private readonly rootPrevHash: Buffer,
    private readonly source: HeaderBytesSource | undefined,
    headersBase: number,
  ) {
    this.records = records;
    this.heights = new Int32Array(capacity);
    this.bestAt = new Int32Array(capacity);
    this.slots = new Uint32Array(slotsFor(capacity));
    this.keys = new Uint32Array(this.slots.length);
    this.headersBase = headersBase;
    this.headerBytes = Buffer.alloc(Math.max(16, capacity - headersBase) * BLOCK_HEADER_SIZE);
  }

  /** A tree holding only the genesis header. */
  static fromGenesis(genesis: BlockHeader, capacity = 1024): HeaderTree {
    const tree = new HeaderTree(new Uint32Array(capacity * WORDS), capacity, Buffer.from(genesis.prevBlock), undefined, 0);
    tree.append(genesis, blockHash(genesis), NO_PARENT);
    return tree;
  }

  /**
   * A tree over `count` records already in `records` (a buffer of TREE_RECORD_SIZE-byte records, 4-byte aligned,
   * typically a file read whole). The buffer is used in place: no copy. Record 0 is the root (the genesis); each
   * other record's parent must come before it. The first record that breaks this (or repeats a hash) ends the load.
   * The records' 80-byte headers are read back through `source` when asked for.
   */
  static fromRecords(records: Buffer, count: number, rootPrevHash: Buffer, source: HeaderBytesSource): LoadedTree {
    if (records.byteOffset % 4 !== 0) throw new TypeError('records must be 4-byte aligned');
    if (count < 1 || count * TREE_RECORD_SIZE > records.length) throw new RangeError(`bad record count ${count}`);
    const capacity = Math.floor(records.length / TREE_RECORD_SIZE);
    const words = new Uint32Array(records.buffer, records.byteOffset, capacity * WORDS);
    const tree = new HeaderTree(words, capacity, Buffer.from(rootPrevHash), source, count);
    const problem = tree.adopt(count);
    return { tree, validCount: tree.count, problem };
  }

  /** Headers held, forks included. */
  get size(): number {
    return this.count;
  }

  /** The header with the most cumulative work; of equal ones, the first seen. */
  get best(): TreeEntry {
    return this.entry(this.bestIndex);
  }

  get genesis(): TreeEntry {
    return this.entry(0);
  }

  get(hash: Buffer): TreeEntry | undefined {
    const index = this.indexOf(hash);
    return index < 0 ? undefined : this.entry(index);
  }

  has(hash: Buffer): boolean {
    return this.indexOf(hash) >= 0;
  }

  /** The best chain's header at this height. */
  atHeight(height: number): TreeEntry | undefined {
    const best = this.heights[this.bestIndex];
    if (!Number.isInteger(height) || height < 0 || height > best) return undefined;
    return this.entry(this.bestAt[height]);
  }

  /**
   * The height of the last header that the branch ending at `hash` shares with the best chain (its own height when
   * it is on it); undefined for an unknown hash. Walks only the branch's own headers above the junction.
   */
  commonHeight(hash: Buffer): number | undefined {
    let index = this.indexOf(hash);
    if (index < 0) return undefined;
    while (!this.onBest(index)) index = this.parentOf(index);
    return this.heights[index];
  }

  /** Is this header on the best chain? */
  isBest(entry: HeaderEntry): boolean {
    const index = this.resolve(entry);
    return index >= 0 && this.onBest(index);
  }

  /** The full 80-byte header (merkle root, nonce). */
  header(hash: Buffer): BlockHeader | undefined {
    const bytes = this.headerBytesOf(hash);
    return bytes && decodeBlockHeader(bytes);
  }

  /** The header's 80 bytes as they were received. */
  headerBytesOf(hash: Buffer): Buffer | undefined {
    const index = this.indexOf(hash);
    if (index < 0) return undefined;
    return this.rawHeader(index);
  }

  /**
   * Adds a header whose parent is known; returns its entry (the existing one for a known hash). Computes height and
   * chain work; the best tip moves only to strictly more work. Consensus rules are the caller's business.
   */
  insert(header: BlockHeader, hash: Buffer): TreeEntry {
    if (hash.length !== 32 || header.prevBlock.length !== 32 || header.merkleRoot.length !== 32) {
      throw new TypeError('a header hash, previous block and merkle root are 32 bytes each');
    }
    const known = this.indexOf(hash);
    if (known >= 0) return this.entry(known);
    // In a sync the parent is the header inserted just before: compared in place, no probing of the hash index.
    const parent = this.lastIndex >= 0 && this.sameHash(this.lastIndex, header.prevBlock, 0) ? this.lastIndex : this.indexOf(header.prevBlock);
    if (parent < 0) {
      throw new HeaderTreeError('unknown-parent', `header ${toDisplayHex(hash)}: previous block ${toDisplayHex(header.prevBlock)} is not known`, hash);
    }
    const index = this.append(header, hash, parent);
    // Built from what is at hand (no reads back, no bigint from limbs): the hot path of a sync. The parent's entry,
    // when cached (in a sync it always is), lends its hash as prevHash: entries are immutable, so they may share it.
    const prevHash = this.cached(parent)?.hash ?? Buffer.from(header.prevBlock);
    const entry = new TreeHeaderEntry(this, index, Buffer.from(hash), prevHash, this.heights[index], header.version | 0, header.timestamp >>> 0, header.bits >>> 0, this.lastWork);
    this.remember(entry);
    return entry;

  }

  /** The ancestors of `tip` (default: the best tip), by height. */
  view(tip?: HeaderEntry): ChainView {
    const tipIndex = tip === undefined ? this.bestIndex : this.require(tip);
    // A class, not closures: a sync makes one view per header it checks.
    return new TreeView(this, tipIndex, this.heights[tipIndex], this.entry(tipIndex));
  }

  /** @internal TreeView.at: the ancestor of the view's tip at `height`. */
  ancestorAt(view: TreeView, height: number): TreeEntry | undefined {
    if (!Number.isInteger(height) || height < 0 || height > view.tipHeight) return undefined;
    if (height === view.tipHeight) return view.tip;
    if (this.onBest(view.tipIndex)) return this.entry(this.bestAt[height]);
    // Ancestors of a tip off the best chain: its own records down to the junction, where it meets the best chain
    // (and below which the height table answers). Recomputed if the best chain has moved off the junction since.
    if (view.junction < 0 || !this.onBest(view.junction)) {
      const branch: number[] = [];
      let i = view.tipIndex;
      while (!this.onBest(i)) {
        branch.push(i);
        i = this.parentOf(i);
      }
      view.junction = i;
      view.branch = branch.reverse(); // branch[k] is at height junction's + 1 + k
    }
    const junctionHeight = this.heights[view.junction];
    if (height <= junctionHeight) return this.entry(this.bestAt[height]);
    return this.entry(view.branch[height - junctionHeight - 1]);
  }

  /** The walk from one tip to another: the last common ancestor, what leaves (tip first) and what joins (fork + 1 first). */
  path(from: HeaderEntry, to: HeaderEntry): Reorg {
    let a = this.require(from);
    let b = this.require(to);
    const disconnected: TreeEntry[] = [];
    const connected: TreeEntry[] = [];
    while (this.heights[a] > this.heights[b]) {
      disconnected.push(this.entry(a));
      a = this.parentOf(a);
    }
    while (this.heights[b] > this.heights[a]) {
      connected.push(this.entry(b));
      b = this.parentOf(b);
    }
    while (a !== b) {
      disconnected.push(this.entry(a));
      connected.push(this.entry(b));
      a = this.parentOf(a);
      b = this.parentOf(b);
    }
    connected.reverse();
    return { fork: this.entry(a), disconnected, connected };
  }

  /**
   * A block locator from `from` (default: the best tip) back to genesis: `dense` (10) hashes one apart, then
   * steps doubling, genesis always last; at most 101 hashes (the node's limit). 1,000,000 headers give 29 hashes.
   */
  locator(from?: HeaderEntry, options: LocatorOptions = {}): Buffer[] {
    const dense = options.dense ?? 10;
    const view = this.view(from);
    const hashes: Buffer[] = [];
    let height = view.tip.height;
    let step = 1;
    while (height > 0 && hashes.length < LOCATOR_MAX - 1) {
      hashes.push(view.at(height)!.hash);
      if (hashes.length >= dense) step *= 2;
      height -= step;
    }
    hashes.push(this.entry(0).hash);
    return hashes;
  }

  /** Every header without children (fork tips), the best tip included, most work first. */
  tips(): TreeEntry[] {
    const tips = [...this.leaves].sort((x, y) => this.compareWork(y, x) || x - y);
    return tips.map((i) => this.entry(i));
  }

  /** Memory held by the tree's arrays, in bytes (for reports and benchmarks). */
  get memoryBytes(): number {
    return this.records.byteLength + this.heights.byteLength + this.bestAt.byteLength + this.slots.byteLength + this.keys.byteLength + this.headerBytes.length;
  }

  /**
   * The raw records (and 80-byte headers) from record `from` to the end, for a store to persist; views into the
   * tree's memory, valid until the next insert.
   */
  recordsFrom(from: number): { records: Buffer; headers: Buffer } {
    if (from < this.headersBase) throw new RangeError(`records below ${this.headersBase} were loaded, not inserted`);
    const bytes = Buffer.from(this.records.buffer, this.records.byteOffset, this.records.byteLength);
    return {
      records: bytes.subarray(from * TREE_RECORD_SIZE, this.count * TREE_RECORD_SIZE),
      headers: this.headerBytes.subarray((from - this.headersBase) * BLOCK_HEADER_SIZE, (this.count - this.headersBase) * BLOCK_HEADER_SIZE),
    };
  }

  // ---- internals ----

  private entry(index: number): TreeEntry {
    let entry = this.cached(index);
    if (entry === undefined) {
      entry = new TreeHeaderEntry(this, index, this.hashAt(index), this.prevHashAt(index), this.heights[index], this.versionAt(index), this.timeAt(index), this.bitsAt(index), this.workAt(index));
      this.remember(entry);
    }
    return entry;
  }

  /** Entries never change (a record's hash, height and work are fixed), so recent ones are shared. */
  private remember(entry: TreeHeaderEntry): void {
    this.entries[entry.index & (ENTRY_CACHE - 1)] = entry;
  }

  private cached(index: number): TreeHeaderEntry | undefined {
    const entry = this.entries[index & (ENTRY_CACHE - 1)];
    return entry !== undefined && entry.index === index ? entry : undefined;
  }

  /** @internal */ hashAt(index: number): Buffer {
    const out = Buffer.allocUnsafe(32);
    const base = index * WORDS;
    for (let w = 0; w < 8; w++) out.writeUInt32LE(this.records[base + w], w * 4);
    return out;
  }
  /** @internal */ prevHashAt(index: number): Buffer {
    const parent = this.records[index * WORDS + W_PARENT];
    return parent === NO_PARENT ? Buffer.from(this.rootPrevHash) : this.hashAt(parent);
  }
  /** @internal */ heightAt(index: number): number {
    return this.heights[index];
  }
  /** @internal */ versionAt(index: number): number {
    return this.records[index * WORDS + W_VERSION] | 0;
  }
  /** @internal */ timeAt(index: number): number {
    return this.records[index * WORDS + W_TIME];
  }
  /** @internal */ bitsAt(index: number): number {
    return this.records[index * WORDS + W_BITS];
  }
  /** @internal */ workAt(index: number): bigint {
    const base = index * WORDS + W_WORK;
    const r = this.records;
    return (BigInt(r[base + 3]) << 96n) | (BigInt(r[base + 2]) << 64n) | (BigInt(r[base + 1]) << 32n) | BigInt(r[base]);
  }

  private parentOf(index: number): number {
    return this.records[index * WORDS + W_PARENT];
  }

  private onBest(index: number): boolean {
    const h = this.heights[index];
    return h <= this.heights[this.bestIndex] && this.bestAt[h] === index;
  }

  private rawHeader(index: number): Buffer | undefined {
    if (index >= this.headersBase) {
      const at = (index - this.headersBase) * BLOCK_HEADER_SIZE;
      return Buffer.from(this.headerBytes.subarray(at, at + BLOCK_HEADER_SIZE));
    }
    return this.source?.(index);
  }

  /** The record index of an entry (its own index when it is one of ours, else by hash); throws when unknown. */
  private resolve(entry: HeaderEntry): number {
    if (TreeHeaderEntry.madeBy(entry, this)) return entry.index;
    return this.indexOf(entry.hash);
  }

  private require(entry: HeaderEntry): number {
    const index = this.resolve(entry);
    if (index < 0) throw new HeaderTreeError('unknown-header', `header ${toDisplayHex(entry.hash)} is not in the tree`, entry.hash);
    return index;
  }

  private indexOf(hash: Buffer): number {
    if (hash.length !== 32) return -1;
    const mask = this.slots.length - 1;
    const w0 = hash.readUInt32LE(0);
    for (let slot = w0 & mask; ; slot = (slot + 1) & mask) {
      const held = this.slots[slot];
      if (held === EMPTY) return -1;
      if (this.keys[slot] === w0 && this.sameHash(held - 1, hash)) return held - 1;
    }
  }

  /** Whether record `index` has this hash, comparing its words from `fromWord` (the index's probe already matched word 0). */
  private sameHash(index: number, hash: Buffer, fromWord = 1): boolean {
    const base = index * WORDS;
    for (let w = fromWord; w < 8; w++) if (this.records[base + w] !== hash.readUInt32LE(w * 4)) return false;
    return true;
  }

  /** Puts record `index` into the hash index; returns the index of a record with the same hash instead, if any. */
  private place(index: number, w0 = this.records[index * WORDS]): number {
    const mask = this.slots.length - 1;
    const base = index * WORDS;
    const r = this.records;
    for (let slot = w0 & mask; ; slot = (slot + 1) & mask) {
      const held = this.slots[slot];
      if (held === EMPTY) {
        this.slots[slot] = index + 1;
        this.keys[slot] = w0;
        return -1;
      }
      if (this.keys[slot] !== w0) continue;
      const other = (held - 1) * WORDS;
      if (
        r[other + 1] === r[base + 1] && r[other + 2] === r[base + 2] && r[other + 3] === r[base + 3] &&
        r[other + 4] === r[base + 4] && r[other + 5] === r[base + 5] && r[other + 6] === r[base + 6] && r[other + 7] === r[base + 7]
      ) {
        return held - 1;
      }
    }
  }

  /**
   * Indexes records 0..count-1 afresh. Inserting them in the order of their home slots (a counting sort by
   * bucket first) keeps the table's writes close together: in record order every insert is a cache miss, which
   * was most of the time of opening a million headers. Returns the first record that repeats an earlier hash, or -1.
   */
  private buildIndex(count: number): number {
    this.slots.fill(EMPTY);
    const mask = this.slots.length - 1;
    const shift = Math.log2(Math.min(BUCKET_SLOTS, this.slots.length));
    const buckets = (mask >>> shift) + 1;
    const starts = new Uint32Array(buckets + 1);
    const r = this.records;
    for (let i = 0; i < count; i++) starts[((r[i * WORDS] & mask) >>> shift) + 1]++;
    for (let b = 0; b < buckets; b++) starts[b + 1] += starts[b];
    // Each record's first hash word travels with it, so placing it reads no record (they are far apart in memory).
    const order = new Uint32Array(count);
    const orderKeys = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const w0 = r[i * WORDS];
      const at = starts[(w0 & mask) >>> shift]++;
      order[at] = i;
      orderKeys[at] = w0;
    }
    let firstRepeat = -1;
    for (let k = 0; k < count; k++) {
      const i = order[k];
      const other = this.place(i, orderKeys[k]);
      if (other >= 0) {
        const later = Math.max(i, other);
        if (firstRepeat < 0 || later < firstRepeat) firstRepeat = later;
      }
    }
    return firstRepeat;
  }

  /** Indexes the first `count` records in place; stops at the first that breaks the structure. */
  private adopt(count: number): string | undefined {
    let problem: string | undefined;
    for (;;) {
      const structural = this.link(count);
      if (structural) {
        problem = structural.problem;
        count = structural.at;
      }
      const repeat = this.buildIndex(count);
      if (repeat < 0) break;
      problem = `record ${repeat}: repeats the hash of an earlier record`;
      count = repeat;
    }
    this.count = count;
    const hasChild = new Uint8Array(count);
    const r = this.records;
    let best = 0;
    for (let i = 1; i < count; i++) {
      hasChild[r[i * WORDS + W_PARENT]] = 1;
      if (this.compareWork(i, best) > 0) best = i;
    }
    for (let i = 0; i < count; i++) if (hasChild[i] === 0) this.leaves.add(i);
    this.setBest(best);
    return problem;
  }

  /** Heights of records 0..count-1 from their parents; the first record whose parent is not before it, or that has less work than its parent, ends the chain. */
  private link(count: number): { at: number; problem: string } | undefined {
    const r = this.records;
    const heights = this.heights;
    for (let i = 0; i < count; i++) {
      const parent = r[i * WORDS + W_PARENT];
      if (i === 0 ? parent !== NO_PARENT : parent >= i) {
        return { at: i, problem: `record ${i}: parent ${parent === NO_PARENT ? 'none' : parent} does not come before it` };
      }
      if (i > 0 && this.compareWork(i, parent) < 0) return { at: i, problem: `record ${i}: less chain work than its parent` };
      heights[i] = i === 0 ? 0 : heights[parent] + 1;
    }
    return undefined;
  }

  private append(header: BlockHeader, hash: Buffer, parent: number): number {
    if (this.count === this.heights.length) this.grow();
    const index = this.count;
    const base = index * WORDS;
    const r = this.records;
    for (let w = 0; w < 8; w++) r[base + w] = hash.readUInt32LE(w * 4);
    r[base + W_PARENT] = parent;
    r[base + W_VERSION] = header.version >>> 0;
    r[base + W_TIME] = header.timestamp >>> 0;
    r[base + W_BITS] = header.bits >>> 0;
    let work = this.workOf(header.bits);
    if (parent !== NO_PARENT) work += parent === this.lastIndex ? this.lastWork : this.workAt(parent);
    if (work > WORK_MAX) work = WORK_MAX;
    for (let limb = 0; limb < 4; limb++) r[base + W_WORK + limb] = Number((work >> BigInt(32 * limb)) & 0xffffffffn);
    r[base + WORDS - 1] = 0;
    const at = (index - this.headersBase) * BLOCK_HEADER_SIZE;
    const bytes = this.headerBytes;
    bytes.writeInt32LE(header.version | 0, at);
    header.prevBlock.copy(bytes, at + 4, 0, 32);
    header.merkleRoot.copy(bytes, at + 36, 0, 32);
    bytes.writeUInt32LE(header.timestamp >>> 0, at + 68);
    bytes.writeUInt32LE(header.bits >>> 0, at + 72);
    bytes.writeUInt32LE(header.nonce >>> 0, at + 76);
    this.lastIndex = index;
    this.lastWork = work;
    this.heights[index] = parent === NO_PARENT ? 0 : this.heights[parent] + 1;
    this.count++;
    if (this.count > this.slots.length * MAX_LOAD) this.rehash();
    else this.place(index);
    if (parent !== NO_PARENT) this.leaves.delete(parent);
    this.leaves.add(index);
    if (index === 0 || this.compareWork(index, this.bestIndex) > 0) this.setBest(index);
    return index;
  }

  private workOf(bits: number): bigint {
    let work = this.workCache.get(bits);
    if (work === undefined) {
      if (this.workCache.size >= 4096) this.workCache.clear(); // after the 2017 DAA nearly every header has its own bits
      work = blockWork(bits);
      this.workCache.set(bits, work);
    }
    return work;
  }

  /** Sign of work(a) - work(b). */
  private compareWork(a: number, b: number): number {
    const r = this.records;
    for (let limb = 3; limb >= 0; limb--) {
      const x = r[a * WORDS + W_WORK + limb];
      const y = r[b * WORDS + W_WORK + limb];
      if (x !== y) return x > y ? 1 : -1;
    }
    return 0;
  }

  /** Makes `index` the best tip: rewrites the height table down to where the new chain meets the old one. */
  private setBest(index: number): void {
    const oldHeight = this.count > 1 || index !== 0 ? this.heights[this.bestIndex] : -1;
    const newHeight = this.heights[index];
    for (let i = index; i !== NO_PARENT && this.bestAt[this.heights[i]] !== i; i = this.parentOf(i)) {
      this.bestAt[this.heights[i]] = i;
    }
    for (let h = newHeight + 1; h <= oldHeight; h++) this.bestAt[h] = -1;
    this.bestIndex = index;
  }

  private grow(): void {
    const capacity = Math.max(1024, this.heights.length * 2);
    const records = new Uint32Array(capacity * WORDS);
    records.set(this.records.subarray(0, this.count * WORDS));
    this.records = records;
    const heights = new Int32Array(capacity);
    heights.set(this.heights.subarray(0, this.count));
    this.heights = heights;
    const bestAt = new Int32Array(capacity);
    bestAt.set(this.bestAt.subarray(0, this.count));
    this.bestAt = bestAt;
    const headerBytes = Buffer.alloc((capacity - this.headersBase) * BLOCK_HEADER_SIZE);
    this.headerBytes.copy(headerBytes, 0, 0, (this.count - this.headersBase) * BLOCK_HEADER_SIZE);
    this.headerBytes = headerBytes;
  }

  private rehash(): void {
    this.slots = new Uint32Array(slotsFor(this.count * 2));
    this.keys = new Uint32Array(this.slots.length);
    this.buildIndex(this.count);
  }
}

/** A HeaderEntry read from the tree's columns when it is made. */
class TreeHeaderEntry implements TreeEntry {
  /** Which tree made it (a private field: entries print and serialise as plain data). */
  readonly #tree: HeaderTree;

  constructor(
    tree: HeaderTree,
    readonly index: number,
    readonly hash: Buffer,
    readonly prevHash: Buffer,
    readonly height: number,
    readonly version: number,
    readonly time: number,
    readonly bits: number,
    readonly chainWork: bigint,
  ) {
    this.#tree = tree;
  }

  static madeBy(entry: HeaderEntry, tree: HeaderTree): entry is TreeHeaderEntry {
    return entry instanceof TreeHeaderEntry && entry.#tree === tree;
  }
}

/** A branch of a HeaderTree seen from one tip (HeaderTree.view). */
class TreeView implements ChainView {
  /** @internal Where the tip's branch meets the best chain, once an ancestor off the best chain was asked for (-1: not yet). */
  junction = -1;
  /** @internal The branch's records above the junction, lowest first. */
  branch: number[] = [];

  constructor(
    private readonly tree: HeaderTree,
    readonly tipIndex: number,
    readonly tipHeight: number,
    readonly tip: TreeEntry,
  ) {}

  at(height: number): TreeEntry | undefined {
    return this.tree.ancestorAt(this, height);
  }
}

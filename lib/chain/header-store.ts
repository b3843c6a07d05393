// HeaderStore: the header tree persisted in a data directory, crash-safely, in two append-only files.
import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { acquireDirLock, DirLockedError, releaseDirLock } from '../dir-lock.js';
import { toDisplayHex } from '../hash.js';
import { BLOCK_HEADER_SIZE, blockHash, type BlockHeader } from '../messages/block-header.js';
import type { Network } from '../networks.js';
import { genesisHeader } from './genesis.js';
import { HeaderTree, TREE_RECORD_CHECK_OFFSET, TREE_RECORD_SIZE, type TreeEntry } from './header-tree.js';

/*
 * Format (all little-endian). Two files, each a 16-byte file header then fixed-size records, record i of one
 * belonging to record i of the other, in insertion order (a parent always before its children):
 *   headers.dat  "bsvwhdrs" · u32 format 1 · network magic (4) · then the 80-byte headers as received
 *   headers.idx  "bsvwhidx" · u32 format 1 · network magic (4) · then 68-byte records: the HeaderTree's own
 *                layout (hash, parent record index, version, time, bits, 128-bit chain work) whose last word is
 *                crc32(80-byte header ‖ the record's first 64 bytes)
 * Open reads only headers.idx, in one read, into the tree's memory as it is: hashes and chain work are trusted,
 * not recomputed (sha256d of 1,000,000 headers alone takes seconds here; see BENCHMARKS.md). The 80-byte headers
 * are read back from headers.dat when asked for.
 *
 * Crash safety: appends write headers.dat, then headers.idx, and fdatasync both every SYNC_EVERY records (and on
 * flush/close), splitting larger batches. So a crash can damage only records after the last sync, fewer than
 * VERIFY_TAIL: open checks those records' checksums (and the lengths and structure of all) and truncates both files
 * to the last whole valid record, reporting what it dropped. Nothing before is touched, nothing is resynced.
 */
const FORMAT = 1;
const FILE_HEADER_SIZE = 16;
const DAT_MAGIC = Buffer.from('bsvwhdrs', 'latin1');
const IDX_MAGIC = Buffer.from('bsvwhidx', 'latin1');
const SYNC_EVERY = 8192;
const VERIFY_TAIL = 2 * SYNC_EVERY;
const READ_CHUNK = 64 * 1024 * 1024;
const CHECKED_BYTES = TREE_RECORD_CHECK_OFFSET;

export type HeaderStoreFailure = 'bad-file' | 'wrong-network' | 'read-only' | 'closed';

export class HeaderStoreError extends Error {
  override readonly name = 'HeaderStoreError';
  constructor(
    readonly reason: HeaderStoreFailure,
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** Another live process (or store of this process) holds the data directory's header store lock (pid 0: the lock names none). */
export class HeaderStoreLockedError extends DirLockedError {
  override readonly name = 'HeaderStoreLockedError';
  constructor(dataDir: string, lockPath: string, pid: number) {
    super('header store', dataDir, lockPath, pid);
  }
}

/** What open() dropped to heal the files after a crash (or damage). */
export interface HeaderStoreHeal {
  /** 'torn-tail': a partial record at the end; 'checksum': a whole record whose bytes do not match its checksum;
   * 'structure': a record that does not fit the tree (its parent is not before it, a repeated hash, less work). */
  readonly reason: 'torn-tail' | 'checksum' | 'structure';
  readonly message: string;
  /** Records kept, genesis included. */
  readonly keptRecords: number;
  /** Whole records dropped (those at and after the first bad one, in the longer file). */
  readonly droppedRecords: number;
  /** Per file, its size before and after; a read-only open reports what it would cut without cutting it. */
  readonly files: readonly { readonly file: string; readonly bytesBefore: number; readonly bytesAfter: number; readonly bytesDropped: number }[];
}

export interface HeaderStoreOptions {
  /** The genesis header; needed only for a custom network whose genesis is not a built-in one. */
  readonly genesis?: BlockHeader;
  /** Open without the lock, changing nothing on disk (a heal is reported and applied in memory only); appends refuse. */
  readonly readOnly?: boolean;
  /** Check every record's checksum at open, not only the tail's (reads headers.dat whole: slower). */
  readonly verifyAll?: boolean;
}

/** One header to append, with its hash (which the caller computed to check its proof of work). */
export interface HeaderToStore {
  readonly header: BlockHeader;
  readonly hash: Buffer;
}

interface FileState {
  readonly path: string;
  fd: number;
  /** Valid bytes (header + whole records) as we know them. */
  size: number;
  readonly bytesAtOpen: number;
}

export class HeaderStore {
  readonly tree: HeaderTree;
  /** Undefined when the files were whole. */
  readonly heal: HeaderStoreHeal | undefined;
  readonly dataDir: string;
  readonly readOnly: boolean;
  private readonly dat: FileState;
  private readonly idx: FileState;
  private readonly lockPath: string;
  /** Records in the files (the tree may hold as many). */
  private stored: number;
  private unsynced = 0;
  private closed = false;

  private constructor(init: {
    tree: HeaderTree;
    heal: HeaderStoreHeal | undefined;
    dataDir: string;
    readOnly: boolean;
    dat: FileState;
    idx: FileState;
    lockPath: string;
    stored: number;
  }) {
    this.tree = init.tree;
    this.heal = init.heal;
    this.dataDir = init.dataDir;
    this.readOnly = init.readOnly;
    this.dat = init.dat;
    this.idx = init.idx;
    this.lockPath = init.lockPath;
    this.stored = init.stored;
  }

  /**
   * Opens (creating if needed) the header store in `dataDir` for `network`: takes the directory's header lock
   * (HeaderStoreLockedError while another live writer has it; a dead writer's lock is taken over), loads the
   * tree, and heals a torn or damaged tail by truncating both files to the last whole valid record (see `heal`).
   */
  static async open(dataDir: string, network: Network, options: HeaderStoreOptions = {}): Promise<HeaderStore> {
    const genesis = options.genesis ?? genesisHeader(network);
    if (!genesis) throw new HeaderStoreError('wrong-network', `no genesis header known for network ${network.name}; pass options.genesis`);
    const genesisHash = blockHash(genesis);
    if (network.genesisHash !== '' && toDisplayHex(genesisHash) !== network.genesisHash) {
      throw new HeaderStoreError('wrong-network', `the genesis header given hashes to ${toDisplayHex(genesisHash)}, not ${network.name}'s ${network.genesisHash}`);
    }
    const readOnly = options.readOnly ?? false;
    const lockPath = join(dataDir, 'headers.lock');
    if (!readOnly) {
      await acquireDirLock(dataDir, lockPath, (dir, path, pid) => new HeaderStoreLockedError(dir, path, pid));
    }
    try {
      return HeaderStore.load(dataDir, network, genesis, genesisHash, readOnly, lockPath, options.verifyAll ?? false);
    } catch (err) {
      if (!readOnly) await releaseDirLock(lockPath);
      throw err;
    }
  }

  private static load(
    dataDir: string,
    network: Network,
    genesis: BlockHeader,
    genesisHash: Buffer,
    readOnly: boolean,
    lockPath: string,
    verifyAll: boolean,
  ): HeaderStore {
    const dat = openFile(join(dataDir, 'headers.dat'), readOnly);
    const idx = openFile(join(dataDir, 'headers.idx'), readOnly);
    try {
      checkFileHeader(dat, DAT_MAGIC, network);
      checkFileHeader(idx, IDX_MAGIC, network);
      const datRecords = wholeRecords(dat.bytesAtOpen, BLOCK_HEADER_SIZE);
      const idxRecords = wholeRecords(idx.bytesAtOpen, TREE_RECORD_SIZE);
      let count = Math.min(datRecords, idxRecords);
      let reason: HeaderStoreHeal['reason'] = 'torn-tail';
      let message = '';

      let tree: HeaderTree;
      if (count === 0) {
        tree = HeaderTree.fromGenesis(genesis);
      } else {
        const capacity = count + Math.max(65536, count >>> 3);
        const records = Buffer.allocUnsafeSlow(capacity * TREE_RECORD_SIZE);
        readFully(idx, records, count * TREE_RECORD_SIZE, FILE_HEADER_SIZE);
        const firstBad = firstBadChecksum(dat, records, verifyAll ? 0 : Math.max(0, count - VERIFY_TAIL), count);
        if (firstBad < count) {
          reason = 'checksum';
          message = `record ${firstBad} does not match its checksum`;
          count = firstBad;
        }
        if (count > 0 && !records.subarray(0, 32).equals(genesisHash)) {
          throw new HeaderStoreError('wrong-network', `${idx.path} starts at ${toDisplayHex(records.subarray(0, 32))}, not ${network.name}'s genesis`, idx.path);
        }
        if (count === 0) {
          tree = HeaderTree.fromGenesis(genesis);
        } else {
          const source = (index: number): Buffer | undefined => readHeaderAt(dat, index);
          const loaded = HeaderTree.fromRecords(records, count, genesis.prevBlock, source);
          if (loaded.validCount < count) {
            reason = 'structure';
            message = loaded.problem ?? `record ${loaded.validCount} is not valid`;
            count = loaded.validCount;
          }
          tree = loaded.tree;
        }
      }

      const keep = Math.max(count, 1);
      const wantDat = FILE_HEADER_SIZE + keep * BLOCK_HEADER_SIZE;
      const wantIdx = FILE_HEADER_SIZE + keep * TREE_RECORD_SIZE;
      let heal: HeaderStoreHeal | undefined;
      const cut = [dat, idx].filter((f, i) => f.bytesAtOpen !== (i === 0 ? wantDat : wantIdx));
      const fresh = dat.bytesAtOpen === 0 && idx.bytesAtOpen === 0;
      if (!fresh && (count === 0 || cut.length > 0)) {
        if (message === '') {
          const tail = (f: FileState, size: number): string => `${wholeRecords(f.bytesAtOpen, size)} whole records + ${f.bytesAtOpen < FILE_HEADER_SIZE ? f.bytesAtOpen : (f.bytesAtOpen - FILE_HEADER_SIZE) % size} bytes`;
          message = `partial write at the end: headers.dat holds ${tail(dat, BLOCK_HEADER_SIZE)}, headers.idx ${tail(idx, TREE_RECORD_SIZE)}`;
        }
        heal = {
          reason,
          message,
          keptRecords: keep,
          droppedRecords: Math.max(0, Math.max(datRecords, idxRecords) - count),
          files: [
            { file: dat.path, bytesBefore: dat.bytesAtOpen, bytesAfter: wantDat, bytesDropped: Math.max(0, dat.bytesAtOpen - wantDat) },
            { file: idx.path, bytesBefore: idx.bytesAtOpen, bytesAfter: wantIdx, bytesDropped: Math.max(0, idx.bytesAtOpen - wantIdx) },
          ],
        };
      }

      const store = new HeaderStore({ tree, heal, dataDir, readOnly, dat, idx, lockPath, stored: count });
      if (count === 0) {
        // New (or nothing whole left): file headers and the genesis record, written and synced before anything else.
        if (!readOnly) {
          writeFileHeader(dat, DAT_MAGIC, network);
          writeFileHeader(idx, IDX_MAGIC, network);
          store.writeRecords(0);
          store.syncNow();
        }
      } else if (!readOnly && cut.length > 0) {
        for (const f of [dat, idx]) {
          const want = f === dat ? wantDat : wantIdx;
          if (f.bytesAtOpen > want) ftruncateSync(f.fd, want);
        }
        store.syncNow();
      }
      dat.size = wantDat;
      idx.size = wantIdx;
      return store;
    } catch (err) {
      closeQuietly(dat);
      closeQuietly(idx);
      throw err;
    }
  }

  /** The files and their sizes (for `bsv-wire chain`). */
  get files(): { readonly file: string; readonly bytes: number }[] {
    return [
      { file: this.dat.path, bytes: this.dat.size },
      { file: this.idx.path, bytes: this.idx.size },
    ];
  }

  /** Inserts one header (parent known; rules already checked) and persists it; a known hash is not written again. */
  add(header: BlockHeader, hash: Buffer): TreeEntry {
    return this.append([{ header, hash }])[0]!;
  }

  /**
   * Inserts headers in order and persists the new ones (and any inserted into `tree` directly since the last write)
   * before returning: written to the OS, synced every 8192 records and on flush/close. If one has an unknown parent the ones before it are kept and written,
   * then the HeaderTreeError is thrown.
   */
  append(headers: readonly HeaderToStore[]): TreeEntry[] {
    this.writable();
    const entries: TreeEntry[] = [];
    try {
      for (const { header, hash } of headers) entries.push(this.tree.insert(header, hash));
    } finally {
      this.persistNew();
    }
    return entries;
  }

  /**
   * Makes every append so far durable (fdatasync). Headers inserted into `store.tree` directly (by a sync holding the
   * tree) are written first: the store persists whatever the tree holds beyond what it wrote.
   */
  async flush(): Promise<void> {
    if (this.closed || this.readOnly) return;
    this.persistNew();
    if (this.unsynced === 0) return;
    this.unsynced = 0;
    await datasync(this.dat.fd);
    await datasync(this.idx.fd);
  }

  /** Flushes, closes the files and gives the lock back. Headers loaded at open can no longer be read after it. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    closeQuietly(this.dat);
    closeQuietly(this.idx);
    if (!this.readOnly) await releaseDirLock(this.lockPath);
  }

  private writable(): void {
    if (this.closed) throw new HeaderStoreError('closed', `the header store in ${this.dataDir} is closed`);
    if (this.readOnly) throw new HeaderStoreError('read-only', `the header store in ${this.dataDir} was opened read-only`);
  }

  /** Writes the tree's records not yet in the files, in slices of at most SYNC_EVERY, syncing between them. */
  private persistNew(): void {
    while (this.stored < this.tree.size) {
      const end = Math.min(this.tree.size, this.stored + SYNC_EVERY - this.unsynced);
      this.writeRecords(this.stored, end);
      if (this.unsynced >= SYNC_EVERY) this.syncNow();
    }
  }

  private writeRecords(from: number, to = this.tree.size): void {
    const { records, headers } = this.tree.recordsFrom(from);
    const n = to - from;
    const headerBytes = headers.subarray(0, n * BLOCK_HEADER_SIZE);
    // Headers first: an index record never points at header bytes that were not written before it.
    writeFully(this.dat, headerBytes, FILE_HEADER_SIZE + from * BLOCK_HEADER_SIZE);
    const recordBytes = Buffer.from(records.subarray(0, n * TREE_RECORD_SIZE)); // a copy: the checksums go in it
    for (let i = 0; i < n; i++) {
      const at = i * TREE_RECORD_SIZE;
      const check = crc32(recordBytes.subarray(at, at + CHECKED_BYTES), crc32(headerBytes.subarray(i * BLOCK_HEADER_SIZE, (i + 1) * BLOCK_HEADER_SIZE)));
      recordBytes.writeUInt32LE(check, at + TREE_RECORD_CHECK_OFFSET);
    }
    writeFully(this.idx, recordBytes, FILE_HEADER_SIZE + from * TREE_RECORD_SIZE);
    this.dat.size = FILE_HEADER_SIZE + to * BLOCK_HEADER_SIZE;
    this.idx.size = FILE_HEADER_SIZE + to * TREE_RECORD_SIZE;
    this.stored = to;
    this.unsynced += n;
  }

  private syncNow(): void {
    fdatasyncSync(this.dat.fd);
    fdatasyncSync(this.idx.fd);
    this.unsynced = 0;
  }
}

const datasync = promisify(fdatasync);

function openFile(path: string, readOnly: boolean): FileState {
  let fd: number;
  try {
    fd = openSync(path, readOnly ? 'r' : 'a+');
  } catch (err) {
    if (readOnly && (err as NodeJS.ErrnoException).code === 'ENOENT') return { path, fd: -1, size: 0, bytesAtOpen: 0 };
    throw err;
  }
  closeSync(fd);
  // Positional writes need a descriptor without O_APPEND; 'a+' above only created the file.
  fd = openSync(path, readOnly ? 'r' : 'r+');
  const bytes = fstatSync(fd).size;
  return { path, fd, size: bytes, bytesAtOpen: bytes };
}

function closeQuietly(f: FileState): void {
  if (f.fd < 0) return;
  try {
    closeSync(f.fd);
  } catch {
    // already closed
  }
  f.fd = -1;
}

/** Whole records after the file header (a file shorter than its header holds none). */
function wholeRecords(bytes: number, recordSize: number): number {
  return bytes < FILE_HEADER_SIZE ? 0 : Math.floor((bytes - FILE_HEADER_SIZE) / recordSize);
}

/** A file that has a whole file header must be ours and for this network; a shorter one is a torn creation. */
function checkFileHeader(f: FileState, magic: Buffer, network: Network): void {
  if (f.bytesAtOpen < FILE_HEADER_SIZE) return;
  const head = Buffer.alloc(FILE_HEADER_SIZE);
  readFully(f, head, FILE_HEADER_SIZE, 0);
  if (!head.subarray(0, 8).equals(magic)) throw new HeaderStoreError('bad-file', `${f.path} is not a bsv-wire header file`, f.path);
  const format = head.readUInt32LE(8);
  if (format !== FORMAT) throw new HeaderStoreError('bad-file', `${f.path} has format ${format}; this version reads format ${FORMAT}`, f.path);
  if (!head.subarray(12, 16).equals(network.magic)) {
    throw new HeaderStoreError('wrong-network', `${f.path} belongs to the network with magic ${head.subarray(12, 16).toString('hex')}, not ${network.name}`, f.path);
  }
}

function writeFileHeader(f: FileState, magic: Buffer, network: Network): void {
  const head = Buffer.alloc(FILE_HEADER_SIZE);
  magic.copy(head, 0);
  head.writeUInt32LE(FORMAT, 8);
  network.magic.copy(head, 12);
  ftruncateSync(f.fd, 0);
  writeFully(f, head, 0);
}

function readFully(f: FileState, into: Buffer, length: number, position: number): void {
  for (let done = 0; done < length; ) {
    const n = readSync(f.fd, into, done, Math.min(READ_CHUNK, length - done), position + done);
    if (n === 0) throw new HeaderStoreError('bad-file', `${f.path} ended early`, f.path);
    done += n;
  }
}

function writeFully(f: FileState, bytes: Buffer, position: number): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(f.fd, bytes, done, bytes.length - done, position + done);
}

function readHeaderAt(dat: FileState, index: number): Buffer | undefined {
  if (dat.fd < 0) return undefined;
  const out = Buffer.alloc(BLOCK_HEADER_SIZE);
  try {
    readFully(dat, out, BLOCK_HEADER_SIZE, FILE_HEADER_SIZE + index * BLOCK_HEADER_SIZE);
  } catch {
    return undefined;
  }
  return out;
}

/** The first record in [from, to) whose checksum does not match its header and record bytes; `to` when all do. */
function firstBadChecksum(dat: FileState, records: Buffer, from: number, to: number): number {
  const step = 65536;
  const headers = Buffer.allocUnsafe(Math.min(step, to - from) * BLOCK_HEADER_SIZE);
  for (let start = from; start < to; start += step) {
    const end = Math.min(to, start + step);
    readFully(dat, headers, (end - start) * BLOCK_HEADER_SIZE, FILE_HEADER_SIZE + start * BLOCK_HEADER_SIZE);
    for (let i = start; i < end; i++) {
      const at = i * TREE_RECORD_SIZE;
      const h = (i - start) * BLOCK_HEADER_SIZE;
      const check = crc32(records.subarray(at, at + CHECKED_BYTES), crc32(headers.subarray(h, h + BLOCK_HEADER_SIZE)));
      if (check !== records.readUInt32LE(at + TREE_RECORD_CHECK_OFFSET)) return i;
    }
  }
  return to;
}

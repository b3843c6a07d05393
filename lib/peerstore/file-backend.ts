import { constants } from 'node:fs';
import { copyFile, link, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePeerStoreFile, encodePeerStoreFile, PeerStoreFileError } from './format.js';
import { acquirePeerStoreLock, releaseDirLock } from './lock.js';
import type { PeerStoreBackend, PeerStoreWarning, PeerStoreWarningListener, StoreSnapshot } from './types.js';

export interface FileBackendOptions {
  readonly dataDir: string;
  /** Default "peers.json"; the backup is "<fileName>.bak". */
  readonly fileName?: string;
  readonly onWarning?: PeerStoreWarningListener;
  /** Names moved-aside files; injectable for tests. */
  readonly now?: () => number;
  /** Larger files are refused without being read (default 256 MiB). */
  readonly maxFileBytes?: number;
  /**
   * Only read: no lock is taken, nothing in the directory is moved or removed, save() refuses.
   * For looking at a store another process may be using.
   */
  readonly readOnly?: boolean;
}

const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Keeps the snapshot in one file under a data directory.
 *
 * Save: write "<file>.tmp-<pid>-<n>", fsync it, hard-link the current file to the backup (atomically,
 * via a temporary link and a rename), rename the temp file over the main file, fsync the directory.
 * At every instant the main file is either the previous complete file or the new complete file, so a
 * crash at any point loses at most the flush in progress.
 *
 * Load: a damaged main file is moved aside ("<file>.corrupt-<ms>", or ".unsupported-v<N>-<ms>" for a
 * newer format) and the backup is tried; a damaged backup is moved aside too and the store starts empty.
 * Each step is reported through `onWarning`; load never throws for a bad file.
 *
 * Lock: load() and save() first take "<file>.lock" (O_EXCL, holding the pid) and close() gives it back,
 * so two stores cannot overwrite each other's saves; a second opener gets PeerStoreLockedError. A lock
 * left by a process that died is stale and taken over.
 */
export class FilePeerStoreBackend implements PeerStoreBackend {
  readonly dataDir: string;
  readonly filePath: string;
  readonly backupPath: string;
  readonly lockPath: string;
  readonly readOnly: boolean;
  private readonly fileName: string;
  private readonly now: () => number;
  private readonly maxFileBytes: number;
  private readonly warningListeners: PeerStoreWarningListener[] = [];
  private tempCounter = 0;
  private locking: Promise<void> | undefined;

  constructor(options: FileBackendOptions) {
    this.dataDir = options.dataDir;
    this.fileName = options.fileName ?? 'peers.json';
    if (this.fileName.includes('/') || this.fileName.includes('\\')) throw new TypeError(`fileName must be a plain name, got ${this.fileName}`);
    this.filePath = join(this.dataDir, this.fileName);
    this.backupPath = `${this.filePath}.bak`;
    this.lockPath = `${this.filePath}.lock`;
    this.readOnly = options.readOnly ?? false;
    this.now = options.now ?? Date.now;
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (options.onWarning) this.warningListeners.push(options.onWarning);
  }

  /** Adds a place warnings go (the PeerStore forwards them to its 'warning' event). */
  addWarningListener(listener: PeerStoreWarningListener): void {
    this.warningListeners.push(listener);
  }

  async load(): Promise<StoreSnapshot | undefined> {
    if (!this.readOnly) {
      await this.lock();
      await this.removeStaleTemps();
    }
    const main = await this.readChecked(this.filePath);
    if (main.kind === 'ok') return main.snapshot;
    if (main.kind === 'bad') await this.setAside(this.filePath, main.error, false);

    const backup = await this.readChecked(this.backupPath);
    if (backup.kind === 'ok') {
      this.warn({
        code: 'used-backup',
        message: main.kind === 'missing' ? 'peers file missing, loaded the backup' : 'loaded the backup instead of the damaged peers file',
        file: this.backupPath,
      });
      return backup.snapshot;
    }
    if (backup.kind === 'bad') await this.setAside(this.backupPath, backup.error, true);
    return undefined;
  }

  async save(snapshot: StoreSnapshot): Promise<void> {
    if (this.readOnly) throw new Error(`the peer store in ${this.dataDir} was opened read-only`);
    const data = encodePeerStoreFile(snapshot);
    await this.lock(); // creates the directory too
    const temp = `${this.filePath}.tmp-${process.pid}-${++this.tempCounter}`;
    try {
      const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.rotateBackup();
      await rename(temp, this.filePath);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => {});
      throw err;
    }
    await this.syncDirectory();
  }

  /** Gives the directory lock back; a later load() or save() takes it again. */
  async close(): Promise<void> {
    const locking = this.locking;
    this.locking = undefined;
    if (locking) await locking.then(() => releaseDirLock(this.lockPath), () => {});
  }

  /** Takes the directory lock once; a failed attempt is not remembered, so the next call tries again. */
  private lock(): Promise<void> {
    if (!this.locking) {
      const attempt = acquirePeerStoreLock(this.dataDir, this.lockPath);
      this.locking = attempt;
      attempt.catch(() => {
        if (this.locking === attempt) this.locking = undefined;
      });
    }
    return this.locking;
  }

  /** The current main file becomes the backup, atomically: link to a temp name, rename over the backup. */
  private async rotateBackup(): Promise<void> {
    const staging = `${this.backupPath}.tmp`;
    await rm(staging, { force: true });
    try {
      await link(this.filePath, staging);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return; // first save: nothing to back up
      // Filesystems without hard links: copy instead (and make the copy durable before it counts).
      await copyFile(this.filePath, staging);
      const handle = await open(staging, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    await rename(staging, this.backupPath);
  }

  /** fsync the directory so the renames themselves survive a power cut. */
  private async syncDirectory(): Promise<void> {
    let handle;
    try {
      handle = await open(this.dataDir, 'r');
      await handle.sync();
    } catch (err) {
      // Some platforms cannot fsync a directory; the data itself is already synced.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw err;
    } finally {
      await handle?.close();
    }
  }

  private async readChecked(
    path: string,
  ): Promise<{ kind: 'ok'; snapshot: StoreSnapshot } | { kind: 'missing' } | { kind: 'bad'; error: PeerStoreFileError } | { kind: 'unreadable' }> {
    try {
      const info = await stat(path);
      if (!info.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EISDIR' });
      if (info.size > this.maxFileBytes) {
        return { kind: 'bad', error: new PeerStoreFileError('too-large', `${info.size} bytes, limit ${this.maxFileBytes}`) };
      }
      const data = await readFile(path);
      return { kind: 'ok', snapshot: decodePeerStoreFile(data) };
    } catch (err) {
      if (err instanceof PeerStoreFileError) return { kind: 'bad', error: err };
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      this.warn({ code: 'io-error', message: `cannot read ${path}: ${(err as Error).message}`, file: path, error: err as Error });
      return { kind: 'unreadable' };
    }
  }

  /** Moves a bad file out of the way, keeping it for inspection; never overwrites an earlier one. */
  private async setAside(path: string, error: PeerStoreFileError, isBackup: boolean): Promise<void> {
    // Read-only: the file stays where it is (another process may be using the store).
    const movedTo = this.readOnly ? undefined : await this.moveAside(path, error);
    this.warn({
      code: isBackup ? 'corrupt-backup' : error.reason === 'unsupported-version' ? 'unsupported-version' : 'corrupt-file',
      message: `${error.message}${movedTo ? `; moved to ${movedTo}` : ''}`,
      file: path,
      movedTo,
      error,
    });
  }

  private async moveAside(path: string, error: PeerStoreFileError): Promise<string | undefined> {
    const label = error.reason === 'unsupported-version' ? `unsupported-v${error.version}` : 'corrupt';
    const stamp = this.now();
    let movedTo: string | undefined;
    for (let attempt = 0; attempt < 100 && movedTo === undefined; attempt++) {
      const candidate = `${path}.${label}-${stamp}${attempt === 0 ? '' : `-${attempt}`}`;
      try {
        await stat(candidate);
      } catch {
        movedTo = candidate;
      }
    }
    try {
      if (movedTo === undefined) throw new Error('no free name to move the file to');
      await rename(path, movedTo);
      return movedTo;
    } catch (err) {
      this.warn({ code: 'io-error', message: `cannot move ${path} aside: ${(err as Error).message}`, file: path, error: err as Error });
      return undefined;
    }
  }

  /** Temp files left by a crash mid-save are incomplete by definition. */
  private async removeStaleTemps(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dataDir);
    } catch {
      return;
    }
    const prefix = `${this.fileName}.tmp-`;
    const staging = `${this.fileName}.bak.tmp`;
    for (const name of names) {
      if (name.startsWith(prefix) || name === staging) await rm(join(this.dataDir, name), { force: true }).catch(() => {});
    }
  }

  private warn(warning: PeerStoreWarning): void {
    for (const listener of this.warningListeners) {
      try {
        listener(warning);
      } catch {
        // A throwing listener must not turn a recoverable load into a crash.
      }
    }
  }
}

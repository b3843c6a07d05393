import { acquireDirLock, DirLockedError, releaseDirLock } from '../dir-lock.js';

/** Another live store (in this process or another) holds the data directory's lock. */
export class PeerStoreLockedError extends DirLockedError {
  override readonly name = 'PeerStoreLockedError';
  constructor(dataDir: string, lockPath: string, pid: number) {
    super('peer store', dataDir, lockPath, pid);
  }
}

/** Takes the peer store's lock file (see lib/dir-lock.ts); PeerStoreLockedError while a live holder has it. */
export function acquirePeerStoreLock(dataDir: string, lockPath: string): Promise<void> {
  return acquireDirLock(dataDir, lockPath, (dir, path, pid) => new PeerStoreLockedError(dir, path, pid));
}

export { releaseDirLock };

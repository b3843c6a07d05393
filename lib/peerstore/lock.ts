import { acquireDirLock, releaseDirLock } from '../dir-lock.js';

/** Another live store (in this process or another) holds the data directory's lock. */
export class PeerStoreLockedError extends Error {
  override readonly name = 'PeerStoreLockedError';
  readonly reason = 'locked';
  constructor(
    readonly dataDir: string,
    readonly lockPath: string,
    /** The holder's process id. */
    readonly pid: number,
  ) {
    super(`the peer store in ${dataDir} is in use by process ${pid}`);
  }
}

/** Takes the peer store's lock file (see lib/dir-lock.ts); PeerStoreLockedError while a live holder has it. */
export function acquirePeerStoreLock(dataDir: string, lockPath: string): Promise<void> {
  return acquireDirLock(dataDir, lockPath, (dir, path, pid) => new PeerStoreLockedError(dir, path, pid));
}

export { releaseDirLock };

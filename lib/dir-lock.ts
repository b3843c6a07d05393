// One writer per data directory: an exclusive lock file holding the writer's pid, shared by the peer store and the
// header store (each with its own lock file and its own typed error).
import { mkdir, open, readFile, rm } from 'node:fs/promises';

/** Builds the error a store throws while a live holder (`pid`; 0 when the lock names none) has its lock. */
export type LockedErrorFactory = (dataDir: string, lockPath: string, pid: number) => Error;

/** The base of each store's typed "locked" error: a live holder (`pid`; 0 when the lock names none) has its lock. */
export class DirLockedError extends Error {
  readonly reason = 'locked';
  constructor(
    /** What the lock guards, for the message ("peer store", "header store"). */
    what: string,
    readonly dataDir: string,
    readonly lockPath: string,
    readonly pid: number,
  ) {
    super(`the ${what} in ${dataDir} is in use by process ${pid}`);
  }
}

/** Lock files held by stores of this process: a lock naming our own pid is live only if listed here. */
const heldHere = new Set<string>();

/** A pid that names a running process (EPERM: it runs, under another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid a lock file names, or undefined when it names none (a crash between create and write). */
async function lockHolder(lockPath: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return /^[1-9][0-9]{0,9}\n?$/.test(text) ? Number(text.trim()) : undefined;
}

/**
 * Takes the exclusive lock file `lockPath` in `dataDir` (created with O_EXCL, holding our pid).
 * A lock whose holder is gone (a dead pid, or an unreadable lock) is stale and taken over.
 * Throws the error `locked` builds while a live holder has it.
 */
export async function acquireDirLock(dataDir: string, lockPath: string, locked: LockedErrorFactory): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  // Two rounds: a stale lock is removed once, then created afresh; losing that race means a live holder.
  for (let round = 0; ; round++) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      heldHere.add(lockPath);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await lockHolder(lockPath);
    const live = holder !== undefined && (holder === process.pid ? heldHere.has(lockPath) : isAlive(holder));
    if (live || round > 0) throw locked(dataDir, lockPath, holder ?? 0);
    await rm(lockPath, { force: true });
  }
}

/** Gives the lock back (only if this process holds it). */
export async function releaseDirLock(lockPath: string): Promise<void> {
  if (!heldHere.delete(lockPath)) return;
  if ((await lockHolder(lockPath)) === process.pid) await rm(lockPath, { force: true });
}

// The indexer's cursor: the last block the app acknowledged, persisted crash-safely (write a temp file,
// fsync it, rename it over the old one, fsync the directory), so after a SIGKILL the file holds either the
// old cursor or the new one, whole.
import fs from 'node:fs';
import path from 'node:path';

export interface BlockCursor {
  /** Height of the last acknowledged block; -1 before the genesis block. */
  readonly height: number;
  /** Its hash (wire order); undefined when the start was given as a height not yet known. */
  readonly hash: Buffer | undefined;
}

const FORMAT = 'bsv-wire-cursor/1';

export class CursorFile {
  constructor(readonly file: string) {}

  /** The saved cursor, or undefined when there is none. A damaged file is an error, never a silent restart. */
  load(): BlockCursor | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const v = JSON.parse(text) as { format?: string; height?: unknown; hash?: unknown };
    if (v.format !== FORMAT || typeof v.height !== 'number' || !Number.isInteger(v.height) || v.height < -1) {
      throw new Error(`${this.file} is not a block cursor`);
    }
    const hash = typeof v.hash === 'string' && /^[0-9a-f]{64}$/.test(v.hash) ? Buffer.from(v.hash, 'hex') : undefined;
    return { height: v.height, hash };
  }

  /**
   * Writes the cursor crash-safely. Asynchronous, so the fsyncs (two per acknowledged block) never hold the
   * event loop, and with it every peer's socket; the follower awaits it before the next block is handed over.
   */
  async save(cursor: BlockCursor): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const body = JSON.stringify({ format: FORMAT, height: cursor.height, hash: cursor.hash?.toString('hex') }) + '\n';
    const fh = await fs.promises.open(tmp, 'w');
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, this.file);
    const dir = await fs.promises.open(path.dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

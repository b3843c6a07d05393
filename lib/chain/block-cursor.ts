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

  save(cursor: BlockCursor): void {
    const tmp = `${this.file}.tmp`;
    const body = JSON.stringify({ format: FORMAT, height: cursor.height, hash: cursor.hash?.toString('hex') }) + '\n';
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    const dir = fs.openSync(path.dirname(this.file), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  }
}

// An array-backed ChainView for the rules tests: entries may start above height 0 (a window of a real
// chain), in which case at() below the window is undefined and the rules must not need it.
import { blockHash, decodeBlockHeader, type BlockHeader } from '../../lib/messages/block-header.js';
import type { ChainView, HeaderEntry } from '../../lib/chain/types.js';
import { blockWork } from '../../lib/chain/work.js';

export class ArrayChain {
  readonly entries: HeaderEntry[] = [];
  constructor(readonly firstHeight: number) {}

  get tip(): HeaderEntry {
    return this.entries[this.entries.length - 1];
  }

  /** The view from the current tip (or from an earlier height). */
  view(tipHeight = this.tip.height): ChainView {
    const entries = this.entries;
    const first = this.firstHeight;
    const tip = entries[tipHeight - first];
    return {
      tip,
      at: (height: number) => (height <= tipHeight && height >= first ? entries[height - first] : undefined),
    };
  }

  push(header: BlockHeader, hash = blockHash(header)): HeaderEntry {
    const parent = this.entries.length === 0 ? undefined : this.tip;
    const entry: HeaderEntry = {
      hash,
      prevHash: header.prevBlock,
      height: parent === undefined ? this.firstHeight : parent.height + 1,
      version: header.version,
      time: header.timestamp,
      bits: header.bits,
      chainWork: (parent?.chainWork ?? 0n) + blockWork(header.bits),
    };
    this.entries.push(entry);
    return entry;
  }

  /** A synthetic entry (no real hash) for difficulty-only scenarios. */
  pushSynthetic(time: number, bits: number): HeaderEntry {
    const height = this.entries.length === 0 ? this.firstHeight : this.tip.height + 1;
    const hash = Buffer.alloc(32);
    hash.writeUInt32LE(height, 0);
    return this.push({ version: 4, prevBlock: this.entries.length === 0 ? Buffer.alloc(32) : this.tip.hash, merkleRoot: Buffer.alloc(32), timestamp: time, bits, nonce: 0 }, hash);
  }
}

/** Parses a fixture file: `#` comment lines, then one 160-hex-digit header per line (blank lines ignored). */
export function parseHeaderFixture(text: string): BlockHeader[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      if (!/^[0-9a-f]{160}$/.test(line)) throw new Error(`not an 80-byte header: ${line.slice(0, 20)}...`);
      return decodeBlockHeader(Buffer.from(line, 'hex'));
    });
}

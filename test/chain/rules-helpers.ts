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
  pushSynthetic(time: number, bits: number, salt = 0): HeaderEntry {
    const height = this.entries.length === 0 ? this.firstHeight : this.tip.height + 1;
    const hash = Buffer.alloc(32);
    hash.writeUInt32LE(height, 0);
    hash.writeUInt32LE(salt, 4);
    return this.push({ version: 4, prevBlock: this.entries.length === 0 ? Buffer.alloc(32) : this.tip.hash, merkleRoot: Buffer.alloc(32), timestamp: time, bits, nonce: 0 }, hash);
  }
}

export interface FixtureHeader {
  readonly height: number;
  readonly header: BlockHeader;
  readonly raw: Buffer;
  /** The node's chain work for this header, where the fixture gives it. */
  readonly chainWork?: bigint;
}

/** Parses a fixture file: `#` comment lines, then `<height> <80-byte header hex> [<chain work hex>]` per line. */
export function parseHeaderFixture(text: string): FixtureHeader[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [height, hex, work] = line.split(/\s+/);
      if (!/^\d+$/.test(height) || !/^[0-9a-f]{160}$/.test(hex ?? '')) throw new Error(`bad fixture line: ${line.slice(0, 40)}...`);
      const raw = Buffer.from(hex, 'hex');
      return { height: Number(height), header: decodeBlockHeader(raw), raw, chainWork: work === undefined ? undefined : BigInt('0x' + work) };
    });
}

/**
 * The headers of a fixture as chain entries, by height. Runs of consecutive heights must link; chain work is the
 * node's where the fixture gives it, otherwise the previous entry's plus this header's work (0 at the start of a run
 * without one: the rules only use differences inside a window).
 */
export class FixtureChain {
  readonly byHeight = new Map<number, HeaderEntry>();
  readonly headers = new Map<number, FixtureHeader>();

  constructor(fixture: readonly FixtureHeader[]) {
    for (const item of fixture) {
      const hash = blockHash(item.header);
      const parent = this.byHeight.get(item.height - 1);
      if (parent !== undefined && !parent.hash.equals(item.header.prevBlock)) throw new Error(`fixture header ${item.height} does not link to ${item.height - 1}`);
      const chainWork = item.chainWork ?? (parent === undefined ? 0n : parent.chainWork + blockWork(item.header.bits));
      this.byHeight.set(item.height, { hash, prevHash: item.header.prevBlock, height: item.height, version: item.header.version, time: item.header.timestamp, bits: item.header.bits, chainWork });
      this.headers.set(item.height, item);
    }
  }

  /** The branch seen from `tipHeight`: ancestors the fixture lacks are undefined. */
  view(tipHeight: number): ChainView {
    const tip = this.byHeight.get(tipHeight);
    if (tip === undefined) throw new Error(`no fixture header at ${tipHeight}`);
    const byHeight = this.byHeight;
    return { tip, at: (height: number) => (height <= tipHeight ? byHeight.get(height) : undefined) };
  }
}

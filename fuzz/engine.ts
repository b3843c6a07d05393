// A small coverage-guided fuzzer: V8 block coverage through node:inspector as the feedback,
// a corpus of inputs that reached new blocks, byte-level and structure-aware mutators.
// Coverage is taken once per batch of inputs (cheap); only a batch that reached something new
// is replayed input by input to find which inputs to keep.
import { Session } from 'node:inspector';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Random = () => number;

/** A fuzz target: one input in, invariants checked by throwing FuzzViolation (or anything unexpected). */
export interface FuzzTarget {
  readonly name: string;
  seeds(): Buffer[];
  /** Runs one input; throws on a broken invariant. */
  run(input: Buffer): void;
  /** Structure-aware mutation built on the codecs; undefined when it does not apply to this input. */
  mutate?(input: Buffer, rnd: Random, corpus: readonly Buffer[]): Buffer | undefined;
  /** Largest input the mutators may produce. */
  readonly maxInputLength?: number;
}

/** A broken invariant (as opposed to an unexpected exception, which is a crash too). */
export class FuzzViolation extends Error {
  override readonly name = 'FuzzViolation';
}

// ---- coverage ----

interface CoverageRange { startOffset: number; endOffset: number; count: number }
interface ScriptCoverage { scriptId: string; url: string; functions: { ranges: CoverageRange[] }[] }

/**
 * V8 precise block coverage of the project's lib/ sources. Start it before the code under test
 * is imported: V8 gives block counters only to functions compiled after coverage starts.
 */
export class Coverage {
  private readonly session = new Session();
  readonly covered = new Set<string>();
  /** Every block range V8 reported for lib/ scripts, run or not. */
  readonly known = new Set<string>();

  constructor(private readonly filter: (url: string) => boolean = (url) => url.includes('/lib/') && !url.includes('node_modules')) {
    this.session.connect();
    this.post('Profiler.enable');
    // Binary block coverage; each take resets the counters.
    this.post('Profiler.startPreciseCoverage', { callCount: false, detailed: true });
  }

  private post(method: string, params?: object): unknown {
    let result: unknown;
    let error: Error | null = null;
    // The in-thread session answers synchronously.
    this.session.post(method, params ?? {}, (err, res) => {
      error = err;
      result = res;
    });
    if (error) throw error;
    return result;
  }

  /** Per function: the block ranges inside it that V8 has ever reported (it reports a block only when its count differs from its parent's). */
  private readonly blocksOf = new Map<string, { start: number; end: number; key: string }[]>();

  /**
   * The blocks run since the last take that are not yet in `covered`. V8 merges a block whose
   * count equals its parent's into the parent, so a function's report lists only its blocks that
   * did not run (binary mode); every block seen before and not inside one of those ran.
   */
  takeNew(): string[] {
    const { result } = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const fresh: string[] = [];
    const ran = (key: string): void => {
      if (!this.covered.has(key)) fresh.push(key);
    };
    for (const script of result) {
      if (!this.filter(script.url)) continue;
      const file = script.url.slice(script.url.lastIndexOf('/lib/') + 5);
      for (const fn of script.functions) {
        const top = fn.ranges[0];
        if (!top) continue;
        const fnKey = `${file}:${top.startOffset}-${top.endOffset}`;
        this.known.add(fnKey);
        if (top.count === 0) continue;
        ran(fnKey);
        let blocks = this.blocksOf.get(fnKey);
        if (!blocks) this.blocksOf.set(fnKey, (blocks = []));
        const notRun: CoverageRange[] = [];
        for (let i = 1; i < fn.ranges.length; i++) {
          const r = fn.ranges[i]!;
          const key = `${file}:${r.startOffset}-${r.endOffset}`;
          if (!this.known.has(key)) {
            this.known.add(key);
            blocks.push({ start: r.startOffset, end: r.endOffset, key });
          }
          if (r.count === 0) notRun.push(r);
        }
        for (const b of blocks) {
          if (!notRun.some((z) => z.startOffset <= b.start && b.end <= z.endOffset)) ran(b.key);
        }
      }
    }
    return fresh;
  }

  /** Forget what was covered (a new target); the session and its counters stay. */
  reset(): void {
    this.covered.clear();
    this.known.clear();
    this.blocksOf.clear();
  }

  merge(keys: readonly string[]): void {
    for (const k of keys) this.covered.add(k);
  }

  close(): void {
    this.post('Profiler.stopPreciseCoverage');
    this.session.disconnect();
  }
}

// ---- allocation watch ----

/**
 * Records the largest Buffer.alloc / allocUnsafe / allocUnsafeSlow request while an input runs.
 * Only those three entry points are seen (Buffer.concat and Buffer.from go through them or copy
 * an existing buffer); typed arrays made with `new` are not.
 */
export class AllocationWatch {
  largest = 0;
  private readonly originals = { alloc: Buffer.alloc, allocUnsafe: Buffer.allocUnsafe, allocUnsafeSlow: Buffer.allocUnsafeSlow };

  install(): void {
    const self = this;
    const { alloc, allocUnsafe, allocUnsafeSlow } = this.originals;
    Buffer.alloc = function (size: number, fill?: string | Uint8Array | number, encoding?: BufferEncoding) {
      if (size > self.largest) self.largest = size;
      return alloc(size, fill, encoding);
    } as typeof Buffer.alloc;
    Buffer.allocUnsafe = function (size: number) {
      if (size > self.largest) self.largest = size;
      return allocUnsafe(size);
    } as typeof Buffer.allocUnsafe;
    Buffer.allocUnsafeSlow = function (size: number) {
      if (size > self.largest) self.largest = size;
      return allocUnsafeSlow(size);
    } as typeof Buffer.allocUnsafeSlow;
  }

  uninstall(): void {
    Object.assign(Buffer, this.originals);
  }
}

// ---- mutators ----

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xfc, 0xfd, 0xfe, 0xff];
const INTERESTING_32 = [0, 1, 0xfc, 0xfd, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 1_048_576, 2_097_152, 32_000_000];

export function pick<T>(rnd: Random, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)]!;
}
const int = (rnd: Random, n: number): number => Math.floor(rnd() * n);

function compactSize(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  if (n <= 0xffff) return Buffer.from([0xfd, n & 0xff, n >> 8]);
  const b = Buffer.alloc(n <= 0xffffffff ? 5 : 9);
  if (n <= 0xffffffff) {
    b[0] = 0xfe;
    b.writeUInt32LE(n, 1);
  } else {
    b[0] = 0xff;
    b.writeBigUInt64LE(BigInt(n), 1);
  }
  return b;
}

/** One byte-level mutation: flips, interesting integers, inserts, deletes, splices, length fields. */
export function mutateBytes(input: Buffer, rnd: Random, corpus: readonly Buffer[], maxLength: number): Buffer {
  const b = Buffer.from(input);
  const at = (): number => int(rnd, Math.max(1, b.length));
  switch (int(rnd, 12)) {
    case 0: {
      if (b.length) b[at()]! ^= 1 << int(rnd, 8);
      return b;
    }
    case 1: {
      if (b.length) b[at()] = int(rnd, 256);
      return b;
    }
    case 2: {
      if (b.length) b[at()] = pick(rnd, INTERESTING_8);
      return b;
    }
    case 3: {
      if (b.length >= 4) {
        const p = int(rnd, b.length - 3);
        const v = pick(rnd, INTERESTING_32);
        b.writeUInt32LE(rnd() < 0.5 ? v : Math.max(0, v - 1), p);
      }
      return b;
    }
    case 4: {
      // Add or subtract a small amount at a byte (length fields, counts).
      if (b.length) {
        const p = at();
        b[p] = (b[p]! + (rnd() < 0.5 ? 1 : 255) * (1 + int(rnd, 4))) & 0xff;
      }
      return b;
    }
    case 5: {
      const p = int(rnd, b.length + 1);
      const n = 1 + int(rnd, 16);
      const ins = Buffer.alloc(n, rnd() < 0.5 ? 0 : int(rnd, 256));
      return Buffer.concat([b.subarray(0, p), ins, b.subarray(p)]);
    }
    case 6: {
      if (!b.length) return b;
      const p = at();
      const n = 1 + int(rnd, Math.min(32, b.length - p));
      return Buffer.concat([b.subarray(0, p), b.subarray(p + n)]);
    }
    case 7: {
      // Duplicate a range in place (repeated elements of a list).
      if (!b.length) return b;
      const p = at();
      const n = 1 + int(rnd, Math.min(128, b.length - p));
      const q = int(rnd, b.length + 1);
      return Buffer.concat([b.subarray(0, q), b.subarray(p, p + n), b.subarray(q)]);
    }
    case 8: {
      // Splice with another corpus entry.
      const other = pick(rnd, corpus);
      if (!other || !other.length) return b;
      const p = int(rnd, b.length + 1);
      const q = int(rnd, other.length);
      return Buffer.concat([b.subarray(0, p), other.subarray(q, q + 1 + int(rnd, other.length - q))]);
    }
    case 9: {
      // Rewrite a byte as a compact size of another width (varint-aware: canonical and not).
      if (!b.length) return b;
      const p = at();
      const n = pick(rnd, [b[p]!, 0, 1, 0xfc, 0xfd, 0xffff, 0x10000, 0xffffffff, 2 ** 32, b.length - p, b.length - p - 1]);
      const enc = rnd() < 0.3 ? Buffer.concat([Buffer.from([0xfe]), Buffer.from(new Uint32Array([Math.min(n, 0xffffffff)]).buffer)]) : compactSize(Math.max(0, n));
      return Buffer.concat([b.subarray(0, p), enc, b.subarray(p + 1)]);
    }
    case 10:
      return b.subarray(0, int(rnd, b.length + 1));
    default: {
      const n = 1 + int(rnd, 32);
      const tail = Buffer.alloc(n);
      for (let i = 0; i < n; i++) tail[i] = int(rnd, 256);
      return Buffer.concat([b, tail]).subarray(0, maxLength);
    }
  }
}

/** Structure-aware mutation of a decoded value: walks it and changes one field, element or length. */
export function mutateValue(value: unknown, rnd: Random, depth = 0): unknown {
  if (typeof value === 'number') {
    return pick(rnd, [0, 1, -1, value + 1, value - 1, 0xff, 0xffff, 0xffffffff, 0x7fffffff, 2 ** 53 - 1, value * 2, int(rnd, 1000)]);
  }
  if (typeof value === 'bigint') {
    return pick(rnd, [0n, 1n, -1n, value + 1n, value - 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, 21_000_000n * 100_000_000n]);
  }
  if (typeof value === 'boolean') return !value;
  if (typeof value === 'string') {
    return pick(rnd, ['', value + value, value.slice(1), 'x'.repeat(int(rnd, 400)), value + '\u00e9', value + '\0']);
  }
  if (Buffer.isBuffer(value)) {
    if (rnd() < 0.2) return Buffer.alloc(int(rnd, 80));
    return mutateBytes(value, rnd, [], 1 << 20);
  }
  if (Array.isArray(value)) {
    const a = [...value];
    const r = rnd();
    if (r < 0.25 && a.length) a.splice(int(rnd, a.length), 1);
    else if (r < 0.5 && a.length) {
      const n = 1 + int(rnd, rnd() < 0.1 ? 300 : 3);
      const item = a[int(rnd, a.length)];
      for (let i = 0; i < n; i++) a.push(item);
    } else if (r < 0.55) a.length = 0;
    else if (a.length) {
      const i = int(rnd, a.length);
      a[i] = mutateValue(a[i], rnd, depth + 1);
    }
    return a;
  }
  if (value && typeof value === 'object') {
    const o = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(o).filter((k) => k !== 'command');
    if (!keys.length) return o;
    const k = pick(rnd, keys);
    if (o[k] === undefined) return o;
    o[k] = mutateValue(o[k], rnd, depth + 1);
    return o;
  }
  return value;
}

// ---- the loop ----

export interface FuzzOptions {
  readonly runs?: number;
  readonly seconds?: number;
  readonly seed?: number;
  readonly crashDir?: string;
  readonly batch?: number;
  /** Stop at the first crash. */
  readonly stopOnCrash?: boolean;
  readonly log?: (line: string) => void;
}

export interface FuzzCrash {
  readonly file: string | undefined;
  readonly error: string;
  readonly input: Buffer;
}

export interface FuzzResult {
  readonly target: string;
  readonly executions: number;
  readonly seconds: number;
  readonly execPerSecond: number;
  /** Blocks (V8 block-coverage ranges in lib/) run by the seed corpus alone. */
  readonly seedBlocks: number;
  readonly blocks: number;
  /** Every block range V8 reported in the lib/ scripts the target loaded. */
  readonly knownBlocks: number;
  readonly corpusSize: number;
  readonly crashes: FuzzCrash[];
}

export function xorshift(seed: number): Random {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Run one input; returns the error text of a crash or undefined. */
function execute(target: FuzzTarget, input: Buffer): string | undefined {
  try {
    target.run(input);
    return undefined;
  } catch (err) {
    return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
  }
}

/** Index of the first input after which coverage shows a block not yet covered, or -1. */
function firstFresh(target: FuzzTarget, coverage: Coverage, inputs: readonly Buffer[]): number {
  const runPrefix = (n: number): boolean => {
    for (let i = 0; i < n; i++) execute(target, inputs[i]!);
    return coverage.takeNew().length > 0;
  };
  if (!inputs.length || !runPrefix(inputs.length)) return -1;
  let lo = 0;
  let hi = inputs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (runPrefix(mid + 1)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function fuzz(target: FuzzTarget, coverage: Coverage, opts: FuzzOptions): FuzzResult {
  const rnd = xorshift(opts.seed ?? Date.now());
  const log = opts.log ?? (() => {});
  const maxLength = target.maxInputLength ?? 64 * 1024;
  // Coverage costs ~1 ms a take: batches grow while they find nothing new and shrink when they do.
  let batchSize = opts.batch ?? 64;
  const crashes: FuzzCrash[] = [];
  const crashKeys = new Set<string>();
  const corpus: Buffer[] = [];

  const recordCrash = (input: Buffer, error: string): void => {
    const key = error.split('\n').slice(0, 3).join('|');
    if (crashKeys.has(key)) return;
    crashKeys.add(key);
    let file: string | undefined;
    if (opts.crashDir) {
      mkdirSync(opts.crashDir, { recursive: true });
      file = join(opts.crashDir, `${target.name.replace(/[^a-z0-9-]/gi, '_')}-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`);
      writeFileSync(file, input);
    }
    crashes.push({ file, error, input });
    log(`CRASH in ${target.name}: ${error.split('\n')[0]}`);
    if (file) log(`  repro: npm run fuzz -- --target ${target.name} --repro ${file}`);
  };

  // The seeds: each kept if it adds coverage (all are kept when none do, so mutation has a start).
  const seeds = target.seeds(); // built before the reset: building them (encoding messages) is not coverage
  coverage.takeNew(); // reset counters left by loading
  for (const seed of seeds) {
    const err = execute(target, seed);
    if (err) recordCrash(seed, err);
    const fresh = coverage.takeNew();
    if (fresh.length || corpus.length === 0) {
      coverage.merge(fresh);
      corpus.push(seed);
    }
  }
  const seedBlocks = coverage.covered.size;

  const started = performance.now();
  const deadline = opts.seconds !== undefined ? started + opts.seconds * 1000 : Infinity;
  const runs = opts.runs ?? Infinity;
  let executions = 0;
  let lastLog = started;
  const batch: Buffer[] = [];
  while (executions < runs && performance.now() < deadline) {
    if (opts.stopOnCrash && crashes.length) break;
    batch.length = 0;
    const n = Math.min(batchSize, runs - executions);
    for (let i = 0; i < n; i++) {
      const parent = pick(rnd, corpus);
      let input: Buffer | undefined;
      if (target.mutate && rnd() < 0.4) input = target.mutate(parent, rnd, corpus);
      input ??= parent;
      const rounds = 1 + int(rnd, 4);
      if (input === parent || rnd() < 0.3) for (let r = 0; r < rounds; r++) input = mutateBytes(input, rnd, corpus, maxLength);
      if (input.length > maxLength) input = input.subarray(0, maxLength);
      batch.push(input);
      const err = execute(target, input);
      if (err) recordCrash(input, err);
    }
    executions += n;
    const batchFresh = coverage.takeNew();
    if (!batchFresh.length) batchSize = Math.min(batchSize * 2, 1024);
    else {
      batchSize = Math.max(16, batchSize >> 1);
      // Something new ran: find the inputs that did it by bisecting prefixes of the batch (a take
      // costs a few ms, an input well under one), keep each, and go on with the rest.
      let rest = batch.slice();
      for (;;) {
        const first = firstFresh(target, coverage, rest);
        if (first < 0) break;
        execute(target, rest[first]!);
        const fresh = coverage.takeNew();
        coverage.merge(fresh);
        corpus.push(rest[first]!);
        rest = rest.slice(first + 1);
      }
      // Blocks the batch ran that no single input ran again (state left by an earlier input,
      // a lazy first-time path) are taken as covered, so they do not trigger replays forever.
      coverage.merge(batchFresh);
    }
    const now = performance.now();
    if (now - lastLog > 5000) {
      lastLog = now;
      log(`#${executions} ${target.name} exec/s ${Math.round(executions / ((now - started) / 1000))} blocks ${coverage.covered.size} corpus ${corpus.length} crashes ${crashes.length}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    target: target.name,
    executions,
    seconds,
    execPerSecond: executions / Math.max(seconds, 1e-9),
    seedBlocks,
    blocks: coverage.covered.size,
    knownBlocks: coverage.known.size,
    corpusSize: corpus.length,
    crashes,
  };
}

import { DecodeError } from '../errors.js';

/** Smallest possible serialised transaction: version 4 + two empty counts + lock time 4. */
export const MIN_TX_SIZE = 10;
/** Smallest input: outpoint 36 + empty script length 1 + sequence 4. */
export const MIN_INPUT_SIZE = 41;
/** Smallest output: value 8 + empty script length 1. */
export const MIN_OUTPUT_SIZE = 9;

/**
 * Find where a serialised transaction ends without building any objects.
 *
 * `buf[start, available)` holds the bytes that have arrived; `limit` is the furthest
 * the transaction may extend (the end of the payload). Returns the offset just past
 * the transaction, or, when `available` is reached first, `-neededEnd` where
 * `neededEnd` is the smallest offset that must be available before walking again
 * makes progress. That hint lets a streaming caller wait for a large script
 * instead of re-walking the transaction on every chunk.
 */
export function walkTx(buf: Buffer, start: number, available: number, limit: number, command = 'tx'): number {
  let p = start + 4; // version
  if (p + 1 > available) return -(p + 1);
  const nIn = readCompactSize(buf, p, available, command);
  if (nIn < 0) return nIn;
  p += compactSizeLength(buf[p]!);
  if (nIn > (limit - p) / MIN_INPUT_SIZE) fail(command, 'inputs', 'too-large', `${nIn} inputs cannot fit`);
  for (let i = 0; i < nIn; i++) {
    p += 36; // outpoint
    if (p + 1 > available) return -(p + 1);
    const len = readCompactSize(buf, p, available, command);
    if (len < 0) return len;
    p += compactSizeLength(buf[p]!) + len + 4; // script + sequence
    if (p > limit) fail(command, `inputs[${i}].script`, 'truncated', `runs past the payload end`);
  }
  if (p + 1 > available) return -(p + 1);
  const nOut = readCompactSize(buf, p, available, command);
  if (nOut < 0) return nOut;
  p += compactSizeLength(buf[p]!);
  if (nOut > (limit - p) / MIN_OUTPUT_SIZE) fail(command, 'outputs', 'too-large', `${nOut} outputs cannot fit`);
  for (let i = 0; i < nOut; i++) {
    p += 8; // value
    if (p + 1 > available) return -(p + 1);
    const len = readCompactSize(buf, p, available, command);
    if (len < 0) return len;
    p += compactSizeLength(buf[p]!) + len;
    if (p > limit) fail(command, `outputs[${i}].script`, 'truncated', `runs past the payload end`);
  }
  p += 4; // lock time
  if (p > limit) fail(command, 'lockTime', 'truncated');
  return p > available ? -p : p;
}

/** Bytes of a CompactSize, from its first byte. */
export function compactSizeLength(first: number): number {
  return first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
}

/**
 * Canonical CompactSize at `p` (its first byte must be available), or `-neededEnd` when its
 * other bytes have not all arrived. A 0xff prefix is too large for any count or length here.
 */
export function readCompactSize(buf: Buffer, p: number, available: number, command: string, field = 'varint'): number {
  const first = buf[p]!;
  if (first < 0xfd) return first;
  const size = compactSizeLength(first);
  if (p + size > available) return -(p + size);
  if (first === 0xfd) {
    const v = buf.readUInt16LE(p + 1);
    if (v < 0xfd) fail(command, field, 'non-canonical');
    return v;
  }
  if (first === 0xfe) {
    const v = buf.readUInt32LE(p + 1);
    if (v <= 0xffff) fail(command, field, 'non-canonical');
    return v;
  }
  return fail(command, field, 'too-large', 'CompactSize 0xff prefix: more than any payload can hold');
}

function fail(command: string, field: string, reason: DecodeError['reason'], detail?: string): never {
  throw new DecodeError(command, field, reason, detail);
}

/** Where a TxWalker stands: each step is either a fixed skip or a CompactSize to read. */
const enum WalkStep {
  Version,
  InputCount,
  Outpoint,
  InputScriptLength,
  InputScriptAndSequence,
  OutputCount,
  Value,
  OutputScriptLength,
  OutputScript,
  LockTime,
  Done,
}

/**
 * A resumable walkTx: feed it the bytes of one transaction in pieces of any size and it finds
 * where the transaction ends, keeping its place between pieces (no byte is walked twice, and
 * nothing but a 9-byte CompactSize scratch is held). For transactions too large to gather
 * whole. Checks the same things as walkTx: canonical CompactSizes, counts that can fit, and
 * scripts that do not run past `limit` (the most bytes the transaction may span). Errors are
 * DecodeError(command, field relative to the transaction, reason).
 */
export class TxWalker {
  private step = WalkStep.Version;
  /** Bytes still to skip in a fixed-size step. */
  private skip = 4;
  /** Bytes walked so far: the transaction's size once done. */
  private walked = 0;
  private inputs = 0;
  private outputs = 0;
  /** The item being walked within its list. */
  private item = 0;
  private readonly scratch = Buffer.alloc(9);
  private scratchFill = 0;

  constructor(
    private readonly limit: number,
    private readonly command = 'tx',
  ) {}

  /** Bytes walked so far; the transaction's size once `done`. */
  get size(): number {
    return this.walked;
  }

  get done(): boolean {
    return this.step === WalkStep.Done;
  }

  /** Which field the walker is in, for a truncation error at the end of the input. */
  get field(): string {
    switch (this.step) {
      case WalkStep.Version:
        return 'version';
      case WalkStep.InputCount:
        return 'inputs';
      case WalkStep.Outpoint:
      case WalkStep.InputScriptLength:
      case WalkStep.InputScriptAndSequence:
        return `inputs[${this.item}]`;
      case WalkStep.OutputCount:
        return 'outputs';
      case WalkStep.Value:
      case WalkStep.OutputScriptLength:
      case WalkStep.OutputScript:
        return `outputs[${this.item}]`;
      default:
        return 'lockTime';
    }
  }

  /**
   * Walk buf[start, end). Returns the offset in buf just past the transaction when it ends
   * there, else -1 (all of it belongs to the transaction; feed the next piece).
   */
  feed(buf: Buffer, start: number, end: number): number {
    const base = this.walked - start; // walked = base + p
    let p = start;
    while (p < end) {
      const step = this.step;
      if (step === WalkStep.Done) break;
      if (this.skip > 0) {
        const take = Math.min(this.skip, end - p);
        this.skip -= take;
        p += take;
        if (this.skip > 0) break;
        this.afterSkip();
        continue;
      }
      // A CompactSize: read it from buf when whole, else gather it in the scratch.
      let value: number;
      if (this.scratchFill === 0 && p + compactSizeLength(buf[p]!) <= end) {
        value = readCompactSize(buf, p, end, this.command, this.varintField());
        p += compactSizeLength(buf[p]!);
      } else {
        if (this.scratchFill === 0) this.scratch[this.scratchFill++] = buf[p++]!;
        const need = compactSizeLength(this.scratch[0]!);
        const take = Math.min(need - this.scratchFill, end - p);
        buf.copy(this.scratch, this.scratchFill, p, p + take);
        this.scratchFill += take;
        p += take;
        if (this.scratchFill < need) break;
        value = readCompactSize(this.scratch, 0, need, this.command, this.varintField());
        this.scratchFill = 0;
      }
      this.walked = base + p;
      this.afterCompactSize(value);
    }
    this.walked = base + p;
    return this.step === WalkStep.Done ? p : -1;
  }

  private varintField(): string {
    switch (this.step) {
      case WalkStep.InputCount:
        return 'inputs';
      case WalkStep.OutputCount:
        return 'outputs';
      case WalkStep.InputScriptLength:
        return `inputs[${this.item}].script`;
      default:
        return `outputs[${this.item}].script`;
    }
  }

  private afterCompactSize(value: number): void {
    const at = this.walked;
    switch (this.step) {
      case WalkStep.InputCount:
        if (value > (this.limit - at) / MIN_INPUT_SIZE) fail(this.command, 'inputs', 'too-large', `${value} inputs cannot fit`);
        this.inputs = value;
        this.item = 0;
        this.startInputOrOutputs();
        return;
      case WalkStep.InputScriptLength:
        if (at + value + 4 > this.limit) fail(this.command, `inputs[${this.item}].script`, 'truncated', 'runs past the payload end');
        this.step = WalkStep.InputScriptAndSequence;
        this.skip = value + 4;
        return;
      case WalkStep.OutputCount:
        if (value > (this.limit - at) / MIN_OUTPUT_SIZE) fail(this.command, 'outputs', 'too-large', `${value} outputs cannot fit`);
        this.outputs = value;
        this.item = 0;
        this.startOutputOrLockTime();
        return;
      default: // OutputScriptLength
        if (at + value > this.limit) fail(this.command, `outputs[${this.item}].script`, 'truncated', 'runs past the payload end');
        this.step = WalkStep.OutputScript;
        this.skip = value;
        if (value === 0) this.afterSkip();
    }
  }

  private afterSkip(): void {
    switch (this.step) {
      case WalkStep.Version:
        this.step = WalkStep.InputCount;
        return;
      case WalkStep.Outpoint:
        this.step = WalkStep.InputScriptLength;
        return;
      case WalkStep.InputScriptAndSequence:
        this.item++;
        this.startInputOrOutputs();
        return;
      case WalkStep.Value:
        this.step = WalkStep.OutputScriptLength;
        return;
      case WalkStep.OutputScript:
        this.item++;
        this.startOutputOrLockTime();
        return;
      default: // LockTime
        this.step = WalkStep.Done;
    }
  }

  private startInputOrOutputs(): void {
    if (this.item < this.inputs) {
      this.step = WalkStep.Outpoint;
      this.skip = 36;
    } else {
      this.step = WalkStep.OutputCount;
    }
  }

  private startOutputOrLockTime(): void {
    if (this.item < this.outputs) {
      this.step = WalkStep.Value;
      this.skip = 8;
    } else {
      this.step = WalkStep.LockTime;
      this.skip = 4;
    }
  }
}

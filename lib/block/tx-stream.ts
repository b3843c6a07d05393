import { DecodeError } from '../errors.js';
import { Sha256dStream } from '../hash.js';
import { TxWalker } from '../messages/tx-walk.js';

/** Transactions larger than this many bytes are streamed in pieces instead of gathered whole. */
export const DEFAULT_HUGE_TX_THRESHOLD = 16 * 1024 * 1024;

/** Checks a hugeTxThreshold option once: a non-negative safe integer, or Infinity (never stream). */
export function resolveHugeTxThreshold(value: number | undefined): number {
  const threshold = value ?? DEFAULT_HUGE_TX_THRESHOLD;
  if (threshold !== Infinity && (!Number.isSafeInteger(threshold) || threshold < 0)) {
    throw new RangeError(`hugeTxThreshold must be a non-negative safe integer or Infinity, got ${threshold}`);
  }
  return threshold;
}

/**
 * One transaction taken piece by piece: its structure walked by a resumable TxWalker and its
 * bytes fed to an incremental sha256, so nothing is held but the hash state. The txid is
 * known at the end.
 */
export class TransactionInPieces {
  private readonly walker: TxWalker;
  private readonly hasher = new Sha256dStream();

  /** `limit`: the most bytes the transaction may span (the rest of the payload). */
  constructor(limit: number, command: string) {
    this.walker = new TxWalker(limit, command);
  }

  /** Bytes taken so far; the transaction's size once done. */
  get size(): number {
    return this.walker.size;
  }

  get done(): boolean {
    return this.walker.done;
  }

  /** The field the walk stopped in, for a truncation error. */
  get field(): string {
    return this.walker.field;
  }

  /**
   * Take the transaction's bytes from buf[start, end): returns the offset just past the
   * transaction when it ends there, else -1 (all of buf[start, end) was its).
   */
  take(buf: Buffer, start: number, end: number): number {
    const txEnd = this.walker.feed(buf, start, end);
    this.hasher.update(buf.subarray(start, txEnd < 0 ? end : txEnd));
    return txEnd;
  }

  /** sha256d of every byte taken, wire order; call once, when done. */
  txid(): Buffer {
    return this.hasher.digest();
  }
}

/** The start of a transaction streamed in pieces. */
export interface TxStreamStart {
  /** The transaction's size: the frame's payload length. */
  readonly size: number;
}

/** A piece of a streamed transaction: `bytes` is a view of a pushed chunk, at `offset` in the transaction. */
export interface TxStreamPiece {
  readonly offset: number;
  readonly bytes: Buffer;
}

/** The end of a streamed transaction: its txid (wire order) and size. */
export interface TxStreamEnd {
  readonly txid: Buffer;
  readonly size: number;
}

export interface TxStreamDecoderOptions {
  /** The payload length declared by the frame header. */
  readonly payloadLength: number;
  readonly onStart?: (start: TxStreamStart) => void;
  readonly onPiece?: (piece: TxStreamPiece) => void;
  readonly onEnd?: (end: TxStreamEnd) => void;
}

/**
 * Streaming decoder for the payload of a large `tx` message. Pure: no I/O. Push payload chunks
 * of any size; each is walked and hashed as it arrives and passed on as a piece (a view, no
 * copy), and end() gives the txid. Memory: the hash state, whatever the transaction's size.
 * Malformed input throws DecodeError('tx', field, reason) (a payload that holds more than the
 * transaction: 'trailing-bytes'; one cut short: 'truncated'); after a throw the decoder
 * refuses further input with the same error.
 */
export class TxStreamDecoder {
  readonly payloadLength: number;
  private readonly tx: TransactionInPieces;
  private readonly onPiece: ((piece: TxStreamPiece) => void) | undefined;
  private readonly onEnd: ((end: TxStreamEnd) => void) | undefined;
  private received = 0;
  private failure: Error | undefined;
  private result: TxStreamEnd | undefined;

  constructor(options: TxStreamDecoderOptions) {
    const { payloadLength } = options;
    if (!Number.isSafeInteger(payloadLength) || payloadLength < 0) {
      throw new RangeError(`payloadLength must be a non-negative safe integer, got ${payloadLength}`);
    }
    this.payloadLength = payloadLength;
    this.tx = new TransactionInPieces(payloadLength, 'tx');
    this.onPiece = options.onPiece;
    this.onEnd = options.onEnd;
    options.onStart?.({ size: payloadLength });
  }

  /** Payload bytes pushed so far. */
  get bytesReceived(): number {
    return this.received;
  }

  /** Feed the next payload bytes. Callbacks run synchronously from here. */
  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (this.result) throw new Error('TxStreamDecoder: push() after end()');
    try {
      if (chunk.length > this.payloadLength - this.received) {
        throw new DecodeError('tx', 'end', 'trailing-bytes', `more than the declared ${this.payloadLength} bytes`);
      }
      if (chunk.length === 0) return;
      if (this.tx.done) throw new DecodeError('tx', 'end', 'trailing-bytes', `${chunk.length} bytes after the transaction`);
      const offset = this.received;
      this.received += chunk.length;
      const txEnd = this.tx.take(chunk, 0, chunk.length);
      this.onPiece?.({ offset, bytes: txEnd < 0 ? chunk : chunk.subarray(0, txEnd) });
      if (txEnd >= 0 && txEnd < chunk.length) {
        throw new DecodeError('tx', 'end', 'trailing-bytes', `${chunk.length - txEnd} bytes after the transaction`);
      }
    } catch (err) {
      this.failure = err instanceof DecodeError ? err : (err as Error);
      throw this.failure;
    }
  }

  /** Declare the payload complete: checks the transaction ended with it, and returns (and emits) the txid. */
  end(): TxStreamEnd {
    if (this.failure) throw this.failure;
    if (this.result) return this.result;
    if (!this.tx.done || this.received < this.payloadLength) {
      this.failure = new DecodeError('tx', this.tx.done ? 'end' : this.tx.field, 'truncated', `payload ended after ${this.received} of ${this.payloadLength} bytes`);
      throw this.failure;
    }
    this.result = { txid: this.tx.txid(), size: this.tx.size };
    this.onEnd?.(this.result);
    return this.result;
  }
}

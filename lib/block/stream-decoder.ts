import { DecodeError, type DecodeReason } from '../errors.js';
import { sha256d } from '../hash.js';
import { BLOCK_HEADER_SIZE, decodeBlockHeader, type BlockHeader } from '../messages/block-header.js';
import { compactSizeLength, MIN_TX_SIZE, readCompactSize, walkTx } from '../messages/tx-walk.js';
import { MerkleRootBuilder } from '../messages/merkle.js';
import { resolveHugeTxThreshold, TransactionInPieces } from './tx-stream.js';

/** Smallest carry allocation: a small straddling tx then needs no regrowth. */
const MIN_CARRY = 1024;

/** The start of a block: its header, its hash (wire order) and how many transactions follow. */
export interface BlockStart {
  readonly header: BlockHeader;
  readonly hash: Buffer;
  readonly txCount: number;
}

/**
 * One transaction of the block, as its bytes arrived.
 *
 * `raw` is a view into a chunk you pushed when the transaction fits in it, or into a private
 * copy when it straddled chunks. The decoder never writes to either after emitting, so `raw`
 * stays valid as long as you do not modify the chunks you push. Keeping a view keeps its whole
 * chunk alive: copy it (`Buffer.from(raw)`) if you keep many small transactions for long.
 */
export interface BlockTransaction {
  readonly index: number;
  readonly raw: Buffer;
  /** sha256d of `raw`, wire order (reverse it for the explorer form). */
  readonly txid: Buffer;
}

/** A transaction larger than hugeTxThreshold begins; its pieces follow, then its end. */
export interface BlockTransactionStart {
  readonly index: number;
}

/**
 * A piece of a huge transaction, in order: `bytes` is a view of a pushed chunk (or of the
 * decoder's carry, which it then lets go), at `offset` in the transaction. Concatenating the
 * pieces gives the transaction's raw bytes.
 */
export interface BlockTransactionPiece {
  readonly index: number;
  readonly offset: number;
  readonly bytes: Buffer;
}

/** The end of a huge transaction: its txid (sha256d of all its pieces, wire order) and size. */
export interface BlockTransactionEnd {
  readonly index: number;
  readonly txid: Buffer;
  readonly size: number;
}

export interface BlockStreamSummary {
  readonly header: BlockHeader;
  readonly hash: Buffer;
  readonly txCount: number;
  /** Payload bytes decoded (the declared payload length). */
  readonly bytes: number;
  /** Whether the txids hash to header.merkleRoot; undefined when not asked to verify. */
  readonly merkleRootOk: boolean | undefined;
}

export interface BlockStreamDecoderOptions {
  /** The payload length declared by the frame header. */
  readonly payloadLength: number;
  readonly onHeader?: (start: BlockStart) => void;
  readonly onTransaction?: (tx: BlockTransaction) => void;
  readonly onEnd?: (summary: BlockStreamSummary) => void;
  /**
   * Transactions larger than this many bytes (default DEFAULT_HUGE_TX_THRESHOLD, 16 MiB) are
   * not gathered: they are walked and hashed as their bytes arrive and delivered through
   * onTransactionStart / onTransactionPiece... / onTransactionEnd instead of onTransaction.
   * Infinity gathers every transaction whole.
   */
  readonly hugeTxThreshold?: number;
  readonly onTransactionStart?: (start: BlockTransactionStart) => void;
  readonly onTransactionPiece?: (piece: BlockTransactionPiece) => void;
  readonly onTransactionEnd?: (end: BlockTransactionEnd) => void;
  /**
   * Recompute the merkle root from the txids (O(log n) memory) and report it in the summary.
   * About one more sha256d per transaction, so off by default: the frame checksum already
   * guards the bytes in transit; turn it on to tie the transactions to the header's proof of work.
   */
  readonly verifyMerkleRoot?: boolean;
}

/**
 * Streaming decoder for the payload of a `block` message. Pure: no I/O. Push payload chunks of
 * any size; it emits the header, then each transaction with its txid as soon as its last byte
 * arrives, then a summary from end(). Transaction boundaries are found with walkTx, without
 * building objects. A transaction that straddles chunks is copied once into a carry buffer and
 * walked again only when the bytes walkTx asked for have arrived, and at least twice as many
 * as at the previous walk, so the walking work stays linear in the transaction size.
 * Memory: the chunk being decoded plus the carry. The carry holds the straddling transaction;
 * while its end is still unknown it may gather up to twice the bytes of the previous walk, so
 * it stays under about twice the largest transaction (one 1 MB data transaction: 1 MB, as its
 * script length tells walkTx the end at once), and never past hugeTxThreshold + 1 bytes. It
 * grows with the bytes that arrive, never with what a length field claims.
 *
 * A transaction found to be larger than hugeTxThreshold (from a length that runs past it, or
 * from a carry that reached it) is taken over by a resumable walker and an incremental sha256:
 * what the carry held becomes its first piece, each later chunk a piece (a view), and its
 * txid comes with its end. So memory stays at about the threshold whatever its size.
 *
 * Malformed input throws DecodeError('block', field, reason); after a throw the decoder
 * refuses further input with the same error.
 */
export class BlockStreamDecoder {
  readonly command = 'block';
  readonly payloadLength: number;
  private readonly onHeader: ((start: BlockStart) => void) | undefined;
  private readonly onTransaction: ((tx: BlockTransaction) => void) | undefined;
  private readonly onEnd: ((summary: BlockStreamSummary) => void) | undefined;
  private readonly merkle: MerkleRootBuilder | undefined;
  private readonly hugeTxThreshold: number;
  private readonly onTransactionStart: ((start: BlockTransactionStart) => void) | undefined;
  private readonly onTransactionPiece: ((piece: BlockTransactionPiece) => void) | undefined;
  private readonly onTransactionEnd: ((end: BlockTransactionEnd) => void) | undefined;

  private received = 0;
  /** Payload bytes fully decoded: the header, the count and complete transactions. */
  private consumed = 0;
  private start: BlockStart | undefined;
  private txCount = -1;
  private index = 0;
  /** Bytes of an item (header + count, or one transaction) that straddles chunks. */
  private carry: Buffer | null = null;
  private carryLength = 0;
  /** How many carry bytes to gather before walking again. */
  private carryTarget = 0;
  /** Where scan() stopped on an incomplete item. */
  private stalledAt = 0;
  private failure: Error | undefined;
  private summary: BlockStreamSummary | undefined;
  /** The huge transaction being streamed in pieces, if any. */
  private huge: TransactionInPieces | undefined;

  constructor(options: BlockStreamDecoderOptions) {
    const { payloadLength } = options;
    if (!Number.isSafeInteger(payloadLength) || payloadLength < 0) {
      throw new RangeError(`payloadLength must be a non-negative safe integer, got ${payloadLength}`);
    }
    this.payloadLength = payloadLength;
    this.onHeader = options.onHeader;
    this.onTransaction = options.onTransaction;
    this.onEnd = options.onEnd;
    this.merkle = options.verifyMerkleRoot ? new MerkleRootBuilder() : undefined;
    this.hugeTxThreshold = resolveHugeTxThreshold(options.hugeTxThreshold);
    this.onTransactionStart = options.onTransactionStart;
    this.onTransactionPiece = options.onTransactionPiece;
    this.onTransactionEnd = options.onTransactionEnd;
  }

  /** Transactions emitted so far. */
  get transactionsDecoded(): number {
    return this.index;
  }

  /** Payload bytes pushed so far. */
  get bytesReceived(): number {
    return this.received;
  }

  /** The block start, once the header and count have arrived. */
  get blockStart(): BlockStart | undefined {
    return this.start;
  }

  /** Feed the next payload bytes. Callbacks run synchronously from here. */
  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (this.summary) throw new Error('BlockStreamDecoder: push() after end()');
    try {
      if (chunk.length > this.payloadLength - this.received) {
        this.fail('payload', 'trailing-bytes', `more than the declared ${this.payloadLength} bytes`);
      }
      this.received += chunk.length;
      this.consume(chunk);
    } catch (err) {
      this.failure = err as Error;
      throw err;
    }
  }

  /** Declare the payload complete; checks it was, and returns (and emits) the summary. */
  end(): BlockStreamSummary {
    if (this.failure) throw this.failure;
    if (this.summary) return this.summary;
    const start = this.start;
    if (this.received < this.payloadLength || start === undefined || this.index < this.txCount) {
      const field = start === undefined ? 'header' : this.huge ? `txs[${this.index}].${this.huge.field}` : `txs[${this.index}]`;
      const error = new DecodeError(this.command, field, 'truncated', `payload ended after ${this.received} of ${this.payloadLength} bytes`);
      this.failure = error;
      throw error;
    }
    const root = this.merkle?.root();
    this.summary = {
      header: start.header,
      hash: start.hash,
      txCount: this.txCount,
      bytes: this.payloadLength,
      merkleRootOk: root === undefined ? undefined : root.equals(start.header.merkleRoot),
    };
    this.onEnd?.(this.summary);
    return this.summary;
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    if (this.huge !== undefined) {
      pos = this.continueHuge(chunk, 0, end);
      if (pos === end) return;
    }
    while (this.carry !== null) {
      // Gather straddling bytes up to the target, then walk the carry again.
      const take = Math.min(end - pos, this.carryTarget - this.carryLength);
      if (take > 0) {
        this.reserveCarry(this.carryLength + take);
        chunk.copy(this.carry, this.carryLength, pos, pos + take);
        this.carryLength += take;
        pos += take;
      }
      if (this.carryLength < this.carryTarget) return;
      const carry = this.carry;
      const length = this.carryLength;
      const needed = this.scan(carry, 0, length);
      if (needed < 0) {
        this.carry = null; // everything in it decoded, or taken as a huge tx's first piece
        if (this.huge !== undefined) {
          pos = this.continueHuge(chunk, pos, end);
          if (pos === end) return;
        }
      } else if (this.stalledAt === 0) {
        this.setCarryTarget(needed, length); // same item, still incomplete
      } else {
        // Items completed; the rest is a new incomplete item. If all of it came from this
        // chunk, step back and decode it from the chunk (no copy); else start a new carry.
        const rest = length - this.stalledAt;
        this.carry = null;
        if (rest <= take) {
          pos -= rest;
        } else {
          this.startCarry(carry, this.stalledAt, length, needed);
        }
      }
    }
    if (pos < end) {
      const needed = this.scan(chunk, pos, end);
      if (needed >= 0) this.startCarry(chunk, this.stalledAt, end, needed);
    }
  }

  /**
   * Decode complete items in buf[pos, end). Returns -1 when everything was decoded, or the
   * offset in buf that must be available before the incomplete item at this.stalledAt can
   * be walked again.
   */
  private scan(buf: Buffer, pos: number, end: number): number {
    const limit = pos + (this.payloadLength - this.consumed); // the payload end, in buf offsets
    if (this.txCount < 0) {
      const next = this.scanStart(buf, pos, end, limit);
      if (next < 0) {
        this.stalledAt = pos;
        return -next;
      }
      pos = next;
    }
    const count = this.txCount;
    const onTransaction = this.onTransaction;
    const merkle = this.merkle;
    const threshold = this.hugeTxThreshold;
    while (this.index < count) {
      let txEnd: number;
      try {
        txEnd = walkTx(buf, pos, end, limit, this.command);
      } catch (err) {
        throw err instanceof DecodeError ? err.within(`txs[${this.index}]`) : err;
      }
      if (txEnd < 0) {
        if (-txEnd > limit) {
          this.fail(`txs[${this.index}]`, 'truncated', 'runs past the declared payload end');
        }
        if (-txEnd - pos > threshold) {
          // Larger than the threshold: walk and hash it as it arrives instead of gathering it.
          this.startHuge(limit - pos);
          this.continueHuge(buf, pos, end); // takes all of buf[pos, end): the tx goes on past it
          return -1;
        }
        this.stalledAt = pos;
        return -txEnd;
      }
      if (txEnd - pos > threshold) {
        // Whole here (one big chunk), but over the threshold: the same events as when streamed.
        this.startHuge(limit - pos);
        pos = this.continueHuge(buf, pos, txEnd);
        continue;
      }
      const raw = buf.subarray(pos, txEnd);
      const txid = sha256d(raw);
      merkle?.add(txid);
      const index = this.index++;
      this.consumed += txEnd - pos;
      pos = txEnd;
      onTransaction?.({ index, raw, txid });
    }
    if (pos < end) this.fail('payload', 'trailing-bytes', `${end - pos} bytes after the last transaction`);
    return -1;
  }

  /** Header and tx count at buf[pos]: returns the offset past them, or -(offset needed) when incomplete. */
  private scanStart(buf: Buffer, pos: number, end: number, limit: number): number {
    const countAt = pos + BLOCK_HEADER_SIZE;
    if (countAt + 1 > limit) this.fail('header', 'truncated', `payload of ${this.payloadLength} bytes has no room for a header and a count`);
    if (countAt + 1 > end) return -(countAt + 1);
    const size = compactSizeLength(buf[countAt]!);
    if (countAt + size > limit) this.fail('txCount', 'truncated');
    const count = readCompactSize(buf, countAt, end, this.command, 'txCount');
    if (count < 0) return count;
    const txsAt = countAt + size;
    if (count === 0) this.fail('txCount', 'invalid-value', 'a block holds at least its coinbase transaction');
    if (count > (limit - txsAt) / MIN_TX_SIZE) {
      this.fail('txCount', 'too-large', `${count} transactions cannot fit in ${limit - txsAt} bytes`);
    }
    const headerBytes = buf.subarray(pos, countAt);
    const start: BlockStart = {
      header: decodeBlockHeader(headerBytes, this.command),
      hash: sha256d(headerBytes),
      txCount: count,
    };
    this.start = start;
    this.txCount = count;
    this.consumed += txsAt - pos;
    this.onHeader?.(start);
    return txsAt;
  }

  /** A huge transaction at the current index begins; `limit`: the payload bytes left for it. */
  private startHuge(limit: number): void {
    this.huge = new TransactionInPieces(limit, this.command);
    this.onTransactionStart?.({ index: this.index });
  }

  /**
   * Give buf[pos, end) to the huge transaction as its next piece; when it ends there, emit its
   * end and return the offset past it, else return `end`.
   */
  private continueHuge(buf: Buffer, pos: number, end: number): number {
    const huge = this.huge!;
    const offset = huge.size;
    let txEnd: number;
    try {
      txEnd = huge.take(buf, pos, end);
    } catch (err) {
      throw err instanceof DecodeError ? err.within(`txs[${this.index}]`) : err;
    }
    const pieceEnd = txEnd < 0 ? end : txEnd;
    if (pieceEnd > pos) this.onTransactionPiece?.({ index: this.index, offset, bytes: buf.subarray(pos, pieceEnd) });
    if (txEnd < 0) return end;
    const txid = huge.txid();
    this.huge = undefined;
    this.merkle?.add(txid);
    const index = this.index++;
    this.consumed += huge.size;
    this.onTransactionEnd?.({ index, txid, size: huge.size });
    return txEnd;
  }

  /** Copy buf[from, to) into a fresh carry buffer; `needed` is an offset in buf. */
  private startCarry(buf: Buffer, from: number, to: number, needed: number): void {
    const length = to - from;
    this.setCarryTarget(needed - from, length);
    this.carry = Buffer.allocUnsafe(Math.min(this.carryTarget, Math.max(length * 2, MIN_CARRY)));
    buf.copy(this.carry, 0, from, to);
    this.carryLength = length;
  }

  /**
   * Walk again once `needed` bytes are there and at least twice what the last walk saw
   * (linear total walking for a huge tx of many small inputs), but never past the payload end.
   */
  private setCarryTarget(needed: number, walked: number): void {
    const payloadLeft = this.payloadLength - this.consumed;
    // A tx that fills the carry past the threshold is huge: stop gathering there.
    const cap = this.txCount < 0 ? payloadLeft : Math.min(payloadLeft, this.hugeTxThreshold + 1);
    this.carryTarget = Math.min(Math.max(needed, walked * 2), cap);
  }

  /** Grow the carry with the bytes that actually arrived, not with what a length field claims. */
  private reserveCarry(size: number): void {
    const carry = this.carry!;
    if (size <= carry.length) return;
    const grown = Buffer.allocUnsafe(Math.min(Math.max(size, carry.length * 2), this.carryTarget));
    carry.copy(grown, 0, 0, this.carryLength);
    this.carry = grown;
  }

  private fail(field: string, reason: DecodeReason, detail?: string): never {
    throw new DecodeError(this.command, field, reason, detail);
  }
}

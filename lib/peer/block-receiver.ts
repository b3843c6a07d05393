import {
  BlockStreamDecoder,
  type BlockStart,
  type BlockTransaction as StreamedTransaction,
  type BlockTransactionEnd,
  type BlockTransactionPiece,
  type BlockTransactionStart,
} from '../block/stream-decoder.js';
import type { FrameHeader } from '../framing/index.js';
import type { BlockHeader } from '../messages/block-header.js';

export type BlockHeaderEvent = BlockStart;

/** A transaction of a block being streamed; `raw` is a view, copy it to keep it. */
export interface BlockTransactionEvent extends StreamedTransaction {
  readonly blockHash: Buffer;
}

/** A block transaction over hugeTxThreshold begins; `blockTxPiece` events follow, then `blockTxEnd`. */
export interface BlockTxStartEvent extends BlockTransactionStart {
  readonly blockHash: Buffer;
}

/** A piece of a huge block transaction, in order; `bytes` is a view, copy it to keep it. */
export interface BlockTxPieceEvent extends BlockTransactionPiece {
  readonly blockHash: Buffer;
}

/** The end of a huge block transaction: its txid and size. */
export interface BlockTxEndEvent extends BlockTransactionEnd {
  readonly blockHash: Buffer;
}

export interface BlockEnd {
  readonly hash: Buffer;
  readonly header: BlockHeader;
  readonly txCount: number;
  readonly bytes: number;
  readonly checksumOk: boolean;
  readonly merkleRootOk: boolean | undefined;
}

/**
 * What `blockEnd` says about the transactions already delivered by `blockTx` / `blockTxEnd`:
 * 'valid' (frame checksum and merkle root match), 'bad-checksum' (the bytes are not what the peer
 * framed), 'bad-merkle-root' (the transactions do not hash to the header's proof of work), or
 * 'merkle-root-unchecked' (checksum good, merkle root not verified: verifyMerkleRoot false).
 * Anything but 'valid' means: roll back what this block's events gave you.
 */
export type BlockVerdict = 'valid' | 'bad-checksum' | 'bad-merkle-root' | 'merkle-root-unchecked';

export function blockVerdict(end: BlockEnd): BlockVerdict {
  if (!end.checksumOk) return 'bad-checksum';
  if (end.merkleRootOk === undefined) return 'merkle-root-unchecked';
  return end.merkleRootOk ? 'valid' : 'bad-merkle-root';
}

/** A verdict that means the block's delivered transactions must be rolled back. */
export type BlockFailure = 'bad-checksum' | 'bad-merkle-root';

/**
 * Emitted as `blockInvalid`, right after the `blockEnd` of a block whose checksum or merkle root
 * failed: every `blockTx`/`blockTxEnd` with this `hash` as `blockHash` is to be rolled back.
 */
export interface BlockInvalidEvent {
  readonly hash: Buffer;
  readonly verdict: BlockFailure;
  readonly end: BlockEnd;
}

export type BlockReceiverEvent =
  | { readonly type: 'header'; readonly event: BlockHeaderEvent }
  | { readonly type: 'tx'; readonly event: BlockTransactionEvent }
  | { readonly type: 'txStart'; readonly event: BlockTxStartEvent }
  | { readonly type: 'txPiece'; readonly event: BlockTxPieceEvent }
  | { readonly type: 'txEnd'; readonly event: BlockTxEndEvent }
  | { readonly type: 'end'; readonly event: BlockEnd };

/** Turns the framer's stream-start/data/end for a block into header, tx and end events. */
export class BlockReceiver {
  private decoder: BlockStreamDecoder | undefined;
  private events: BlockReceiverEvent[] = [];
  private hash: Buffer | undefined;

  constructor(private readonly opts: { readonly verifyMerkleRoot: boolean; readonly hugeTxThreshold?: number }) {}

  start(header: FrameHeader): BlockReceiverEvent[] {
    this.hash = undefined;
    this.decoder = new BlockStreamDecoder({
      payloadLength: header.length,
      verifyMerkleRoot: this.opts.verifyMerkleRoot,
      onHeader: (start) => {
        this.hash = start.hash;
        this.events.push({ type: 'header', event: start });
      },
      onTransaction: (tx) => this.events.push({ type: 'tx', event: { ...tx, blockHash: this.hash! } }),
      hugeTxThreshold: this.opts.hugeTxThreshold,
      onTransactionStart: (start) => this.events.push({ type: 'txStart', event: { ...start, blockHash: this.hash! } }),
      onTransactionPiece: (piece) => this.events.push({ type: 'txPiece', event: { ...piece, blockHash: this.hash! } }),
      onTransactionEnd: (end) => this.events.push({ type: 'txEnd', event: { ...end, blockHash: this.hash! } }),
    });
    return this.drain();
  }

  data(chunk: Buffer): BlockReceiverEvent[] {
    this.decoder?.push(chunk);
    return this.drain();
  }

  end(checksumOk: boolean): BlockReceiverEvent[] {
    const decoder = this.decoder;
    this.decoder = undefined;
    if (decoder) {
      const s = decoder.end();
      this.events.push({
        type: 'end',
        event: { hash: s.hash, header: s.header, txCount: s.txCount, bytes: s.bytes, checksumOk, merkleRootOk: s.merkleRootOk },
      });
    }
    return this.drain();
  }

  abort(): void {
    this.decoder = undefined;
    this.events = [];
  }

  private drain(): BlockReceiverEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }
}

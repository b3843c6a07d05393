import { BlockStreamDecoder, type BlockStart, type BlockTransaction as StreamedTransaction } from '../block/stream-decoder.js';
import type { FrameHeader } from '../framing/index.js';
import type { BlockHeader } from '../messages/block-header.js';

export type BlockHeaderEvent = BlockStart;

/** A transaction of a block being streamed; `raw` is a view, copy it to keep it. */
export interface BlockTransactionEvent extends StreamedTransaction {
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

export type BlockReceiverEvent =
  | { readonly type: 'header'; readonly event: BlockHeaderEvent }
  | { readonly type: 'tx'; readonly event: BlockTransactionEvent }
  | { readonly type: 'end'; readonly event: BlockEnd };

/** Turns the framer's stream-start/data/end for a block into header, tx and end events. */
export class BlockReceiver {
  private decoder: BlockStreamDecoder | undefined;
  private events: BlockReceiverEvent[] = [];
  private hash: Buffer | undefined;

  constructor(private readonly opts: { readonly verifyMerkleRoot: boolean }) {}

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

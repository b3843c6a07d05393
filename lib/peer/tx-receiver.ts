import { TxStreamDecoder, type TxStreamEnd, type TxStreamPiece, type TxStreamStart } from '../block/tx-stream.js';
import type { FrameHeader } from '../framing/index.js';

/** A `tx` frame over hugeTxThreshold begins; `txPiece` events follow, then `txEnd`. */
export type TxStartEvent = TxStreamStart;

/** A piece of a streamed `tx` frame, in order; `bytes` is a view, copy it to keep it. */
export type TxPieceEvent = TxStreamPiece;

/** The end of a streamed `tx` frame: its txid and size, and whether the frame checksum matched. */
export interface TxEndEvent extends TxStreamEnd {
  readonly checksumOk: boolean;
}

export type TxReceiverEvent =
  | { readonly type: 'start'; readonly event: TxStartEvent }
  | { readonly type: 'piece'; readonly event: TxPieceEvent }
  | { readonly type: 'end'; readonly event: TxEndEvent };

/**
 * Turns the framer's stream-start/data/end for a large `tx` frame into start, piece and end
 * events. A malformed payload throws once (the caller punishes it); the rest of that frame is
 * then ignored, so one bad frame costs one penalty.
 */
export class TxReceiver {
  private decoder: TxStreamDecoder | undefined;
  private events: TxReceiverEvent[] = [];

  start(header: FrameHeader): TxReceiverEvent[] {
    this.decoder = new TxStreamDecoder({
      payloadLength: header.length,
      onStart: (event) => this.events.push({ type: 'start', event }),
      onPiece: (event) => this.events.push({ type: 'piece', event }),
    });
    return this.drain();
  }

  data(chunk: Buffer): TxReceiverEvent[] {
    const decoder = this.decoder;
    if (decoder === undefined) return [];
    try {
      decoder.push(chunk);
    } catch (err) {
      this.abort();
      throw err;
    }
    return this.drain();
  }

  end(checksumOk: boolean): TxReceiverEvent[] {
    const decoder = this.decoder;
    this.decoder = undefined;
    if (decoder === undefined) return [];
    const { txid, size } = decoder.end();
    this.events.push({ type: 'end', event: { txid, size, checksumOk } });
    return this.drain();
  }

  abort(): void {
    this.decoder = undefined;
    this.events = [];
  }

  private drain(): TxReceiverEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }
}

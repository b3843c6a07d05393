import { DecodeError, FramingError } from '../errors.js';
import { FrameDecoder } from '../framing/decoder.js';
import type { PayloadLimits } from '../framing/limits.js';
import { BlockStreamDecoder, type BlockStreamDecoderOptions, type BlockStreamSummary } from './stream-decoder.js';

export interface BlockFrameOptions extends Omit<BlockStreamDecoderOptions, 'payloadLength'> {
  /** The network magic, 4 bytes as on the wire. */
  readonly magic: Buffer;
  readonly limits?: Partial<PayloadLimits>;
}

/** The end of a streamed block frame: the payload summary, after the frame checksum matched. */
export type BlockFrameSummary = BlockStreamSummary;

/**
 * Frame bytes in, block events out: a FrameDecoder streaming `block` payloads into a
 * BlockStreamDecoder. Frames of other commands are skipped without being gathered in memory
 * (a bad checksum on them still throws, as it would for the block). The checksum is hashed from the
 * same chunks as they pass (no copy); a mismatch throws FramingError('block', 'bad-checksum')
 * at the end of the frame, after the transactions were emitted: treat them as unconfirmed
 * until `finished` says so.
 */
export class BlockFrameStream {
  private readonly frames: FrameDecoder;
  private block: BlockStreamDecoder | undefined;
  private result: BlockFrameSummary | undefined;

  constructor(private readonly options: BlockFrameOptions) {
    // Every frame streams, so a skipped frame's payload passes as views and is never gathered.
    this.frames = new FrameDecoder({ magic: options.magic, limits: options.limits, shouldStream: () => true });
  }

  /** The summary of the first block frame, once it has ended with a good checksum. */
  get finished(): BlockFrameSummary | undefined {
    return this.result;
  }

  /** The source ended: the summary if the block frame was complete, else a truncation error. */
  end(): BlockFrameSummary {
    if (this.result) return this.result;
    if (this.block) return this.block.end(); // throws DecodeError(block, ..., truncated)
    throw new DecodeError('block', 'frame', 'truncated', 'no complete block frame before the end of the source');
  }

  /** Feed frame bytes; returns the summary when the block frame ends in this chunk. */
  push(chunk: Buffer): BlockFrameSummary | undefined {
    if (this.result) return this.result; // bytes after the block are not ours
    for (const event of this.frames.push(chunk)) {
      if (this.result) continue;
      if (event.header.command !== 'block') {
        if (event.type === 'stream-end' && !event.checksumOk) {
          throw new FramingError(event.header.command, 'bad-checksum', 'skipped frame does not match its header checksum');
        }
        continue;
      }
      if (event.type === 'stream-start') {
        this.block = new BlockStreamDecoder({ ...this.options, payloadLength: event.header.length });
      } else if (event.type === 'stream-data') {
        this.block!.push(event.chunk);
      } else if (event.type === 'stream-end') {
        if (!event.checksumOk) throw new FramingError('block', 'bad-checksum', 'streamed payload does not match the header checksum');
        this.result = this.block!.end();
      }
    }
    return this.result;
  }
}

/**
 * Decode the first `block` frame from a source of frame bytes (a socket, a file stream, an
 * array of chunks). Callbacks run as transactions arrive; resolves with the summary.
 */
export async function decodeBlockStream(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  options: BlockFrameOptions,
): Promise<BlockFrameSummary> {
  const stream = new BlockFrameStream(options);
  for await (const chunk of source) {
    const done = stream.push(chunk);
    if (done) return done;
  }
  return stream.end();
}

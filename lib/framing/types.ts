import type { FramingError } from '../errors.js';

/** A decoded frame header (24 bytes, or 44 for extmsg). */
export interface FrameHeader {
  /** The real command: for extmsg, the extended command. */
  readonly command: string;
  /** Payload length in bytes (from the u64 extended length for extmsg). */
  readonly length: number;
  /** The 4 checksum bytes as sent; all zero and unchecked for extmsg. */
  readonly checksum: Buffer;
  readonly extended: boolean;
  /** Header size on the wire: 24, or 44 for extmsg. */
  readonly headerSize: number;
}

/**
 * What the incremental decoder yields. Small payloads arrive whole as `frame`;
 * payloads the caller chose to stream (blocks) arrive as start / data... / end,
 * with the checksum verified incrementally and reported at the end.
 */
export type FrameEvent =
  | { readonly type: 'frame'; readonly header: FrameHeader; readonly payload: Buffer }
  | { readonly type: 'stream-start'; readonly header: FrameHeader }
  | { readonly type: 'stream-data'; readonly header: FrameHeader; readonly chunk: Buffer }
  | { readonly type: 'stream-end'; readonly header: FrameHeader; readonly checksumOk: boolean }
  /** Only with `badChecksum: 'drop'`: a whole frame whose checksum failed was skipped; decoding goes on. */
  | { readonly type: 'dropped'; readonly header: FrameHeader; readonly error: FramingError }
  /** Only when `onHeader` said 'skip': the payload went by unread and unbuffered. */
  | { readonly type: 'skipped'; readonly header: FrameHeader };

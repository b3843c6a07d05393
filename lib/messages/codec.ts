import type { JsonObject } from './json.js';

/**
 * Which size limit the framer applies to a command's payload (PROTOCOL.md §2.3):
 * protoconf 1 MiB; tx and datareftx 10^9; block-like = excessive block size;
 * getblocktxn scales with the block size; everything else the receive limit (2 MiB).
 */
export type PayloadLimitClass = 'default' | 'protoconf' | 'tx' | 'block' | 'getblocktxn';

/** One codec per command: pure functions between a payload and a typed message. */
export interface MessageCodec<M extends { readonly command: string }> {
  readonly command: M['command'];
  readonly limit: PayloadLimitClass;
  /** Decode a whole payload. Throws DecodeError naming the command and field. */
  decode(payload: Buffer): M;
  /** Encode to a payload. Throws EncodeError on out-of-range values. */
  encode(message: M): Buffer;
  /** The CLI's JSON form: { command, ...fields }. */
  toJSON(message: M): JsonObject;
  fromJSON(json: JsonObject): M;
}

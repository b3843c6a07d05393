// The framing layer: bytes <-> frames (PROTOCOL.md §2).
export { FrameDecoder, type FrameDecoderOptions } from './decoder.js';
export { encodeFrame, encodeFrameHeader, encodeMessageFrame, payloadChecksum, type FrameEncodeOptions } from './encoder.js';
export {
  CHECKSUM_SIZE,
  COMMAND_SIZE,
  EMPTY_PAYLOAD_CHECKSUM,
  EXTENDED_HEADER_SIZE,
  EXTMSG_COMMAND,
  HEADER_SIZE,
  MAGIC_SIZE,
  MAX_LEGACY_PAYLOAD_LENGTH,
  describeCommandField,
  isValidCommand,
  parseCommandField,
} from './header.js';
export {
  DEFAULT_MAX_BLOCK_SIZE,
  DEFAULT_MAX_PROTOCOL_RECV_PAYLOAD_LENGTH,
  DEFAULT_PAYLOAD_LIMITS,
  LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH,
  MAX_TX_SIZE_CONSENSUS_AFTER_GENESIS,
  getBlockTxnLimitFor,
  maxPayloadFor,
  nodePayloadLimitClasses,
  payloadLimitClassOf,
  resolvePayloadLimits,
  type PayloadLimits,
} from './limits.js';
export type { FrameEvent, FrameHeader } from './types.js';

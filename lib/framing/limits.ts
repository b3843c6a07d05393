// Per-command payload limits the receiver applies to a header before reading its payload
// (PROTOCOL.md §2.3, the node's NetMsgType::GetMaxMessageLength).
import { limitClassOf, type PayloadLimitClass } from '../messages/index.js';

/** The maximum payload length, in bytes, for each limit class. */
export interface PayloadLimits {
  /** Everything else, unknown commands included: the node's -maxprotocolrecvpayloadlength. */
  readonly default: number;
  /** protoconf: LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH. */
  readonly protoconf: number;
  /** tx, datareftx: the post-Genesis consensus maximum tx size. */
  readonly tx: number;
  /** block, cmpctblock, blocktxn, hdrsen: the excessive block size. */
  readonly block: number;
  /** getblocktxn: block / 215 * 6 + 24, an estimate of the short txids a block can need. */
  readonly getblocktxn: number;
}

export const DEFAULT_MAX_PROTOCOL_RECV_PAYLOAD_LENGTH = 2_097_152;
export const LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH = 1_048_576;
export const MAX_TX_SIZE_CONSENSUS_AFTER_GENESIS = 1_000_000_000;
/** Our default excessive block size: 10 GB. The node has no default (the option is mandatory). */
export const DEFAULT_MAX_BLOCK_SIZE = 10_000_000_000;

// The node's getblocktxn estimate: a minimum realistic tx of 215 bytes, 6-byte short txids,
// plus the 24-byte legacy header size.
const MIN_TX_SIZE = 215;
const SHORT_TXID_SIZE = 6;
const LEGACY_HEADER_SIZE = 24;

/** The getblocktxn limit the node derives from the excessive block size. */
export function getBlockTxnLimitFor(maxBlockSize: number): number {
  return Math.floor(maxBlockSize / MIN_TX_SIZE) * SHORT_TXID_SIZE + LEGACY_HEADER_SIZE;
}

export const DEFAULT_PAYLOAD_LIMITS: Readonly<PayloadLimits> = Object.freeze({
  default: DEFAULT_MAX_PROTOCOL_RECV_PAYLOAD_LENGTH,
  protoconf: LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH,
  tx: MAX_TX_SIZE_CONSENSUS_AFTER_GENESIS,
  block: DEFAULT_MAX_BLOCK_SIZE,
  getblocktxn: getBlockTxnLimitFor(DEFAULT_MAX_BLOCK_SIZE),
});

/**
 * Complete and validate a partial limits config once, at construction. When `block` is
 * given without `getblocktxn`, getblocktxn is derived from it as the node does.
 * Every value must be a non-negative safe integer (Number.MAX_SAFE_INTEGER stands for
 * "unlimited", like the node's excessiveblocksize 0).
 */
export function resolvePayloadLimits(overrides: Partial<PayloadLimits> = {}): Readonly<PayloadLimits> {
  const block = overrides.block ?? DEFAULT_PAYLOAD_LIMITS.block;
  const limits: PayloadLimits = {
    default: overrides.default ?? DEFAULT_PAYLOAD_LIMITS.default,
    protoconf: overrides.protoconf ?? DEFAULT_PAYLOAD_LIMITS.protoconf,
    tx: overrides.tx ?? DEFAULT_PAYLOAD_LIMITS.tx,
    block,
    getblocktxn: overrides.getblocktxn ?? getBlockTxnLimitFor(block),
  };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`payload limit ${name} must be a non-negative safe integer, got ${String(value)}`);
    }
  }
  return Object.freeze(limits);
}

// The node's own table, for commands whose codec is not (yet) registered: the limit is a
// property of the command name on the wire, not of whether we can decode it.
const NODE_LIMIT_CLASSES: Readonly<Record<string, PayloadLimitClass>> = Object.freeze({
  protoconf: 'protoconf',
  tx: 'tx',
  datareftx: 'tx',
  getblocktxn: 'getblocktxn',
  block: 'block',
  cmpctblock: 'block',
  blocktxn: 'block',
  hdrsen: 'block',
});

/** The limit class of a command: its codec's class, else the node's table, else 'default'. */
export function payloadLimitClassOf(command: string): PayloadLimitClass {
  const fromCodec = limitClassOf(command);
  if (fromCodec !== 'default') return fromCodec;
  return Object.hasOwn(NODE_LIMIT_CLASSES, command) ? NODE_LIMIT_CLASSES[command] : 'default';
}

/** The maximum payload length accepted for `command`. Unknown commands get the default limit. */
export function maxPayloadFor(command: string, limits: Readonly<PayloadLimits> = DEFAULT_PAYLOAD_LIMITS): number {
  return limits[payloadLimitClassOf(command)];
}

/** The node's table of non-default limit classes, for consistency checks against the codecs. */
export const nodePayloadLimitClasses: Readonly<Record<string, PayloadLimitClass>> = NODE_LIMIT_CLASSES;

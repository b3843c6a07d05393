import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson, type JsonObject } from './json.js';

/** Reject codes the node sends (PROTOCOL.md §6.9). */
export const REJECT_MALFORMED = 0x01;
export const REJECT_INVALID = 0x10;
export const REJECT_OBSOLETE = 0x11;
export const REJECT_DUPLICATE = 0x12;
export const REJECT_SOFT_CONSENSUS_FREEZE = 0x13;
export const REJECT_NONSTANDARD = 0x40;
export const REJECT_DUST = 0x41;
export const REJECT_INSUFFICIENTFEE = 0x42;
export const REJECT_CHECKPOINT = 0x43;
export const REJECT_TOOBUSY = 0x44;
export const REJECT_RATE_EXCEEDED = 0x45;
export const REJECT_STREAM_SETUP = 0x60;
export const REJECT_AUTH_CONN_SETUP = 0x70;

const codeNames: Record<number, string> = {
  [REJECT_MALFORMED]: 'MALFORMED',
  [REJECT_INVALID]: 'INVALID',
  [REJECT_OBSOLETE]: 'OBSOLETE',
  [REJECT_DUPLICATE]: 'DUPLICATE',
  [REJECT_SOFT_CONSENSUS_FREEZE]: 'SOFT_CONSENSUS_FREEZE',
  [REJECT_NONSTANDARD]: 'NONSTANDARD',
  [REJECT_DUST]: 'DUST',
  [REJECT_INSUFFICIENTFEE]: 'INSUFFICIENTFEE',
  [REJECT_CHECKPOINT]: 'CHECKPOINT',
  [REJECT_TOOBUSY]: 'TOOBUSY',
  [REJECT_RATE_EXCEEDED]: 'RATE_EXCEEDED',
  [REJECT_STREAM_SETUP]: 'STREAM_SETUP',
  [REJECT_AUTH_CONN_SETUP]: 'AUTH_CONN_SETUP',
};

/** "TOOBUSY", ..., or "unknown(0x99)". */
export function rejectCodeName(code: number): string {
  return codeNames[code] ?? `unknown(0x${code.toString(16)})`;
}

/** Read limit of the rejected command (CMessageFields::COMMAND_SIZE). */
export const MAX_REJECT_COMMAND_LENGTH = 12;
/** Read limit of the reason (MAX_REJECT_MESSAGE_LENGTH). */
export const MAX_REJECT_REASON_LENGTH = 111;

/**
 * `reject`: var_str message (≤ 12) | u8 code | var_str reason (≤ 111) | optional 32-byte hash.
 * The node adds the hash for "tx"/"block" rejects except its own MALFORMED ones, so the hash
 * is read whenever bytes remain, whatever the message, and is absent otherwise.
 */
export interface RejectMessage {
  readonly command: 'reject';
  /** The command being rejected, e.g. "tx". */
  readonly message: string;
  readonly code: number;
  readonly reason: string;
  /** Wire order: the txid or block hash. */
  readonly hash?: Buffer;
}

const command = 'reject';

export const rejectCodec: MessageCodec<RejectMessage> = {
  command,
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, command);
    const message = r.varStr('message', MAX_REJECT_COMMAND_LENGTH);
    const code = r.u8('code');
    const reason = r.varStr('reason', MAX_REJECT_REASON_LENGTH);
    if (r.remaining === 0) return { command, message, code, reason };
    const hash = r.hash('hash');
    r.end();
    return { command, message, code, reason, hash };
  },
  encode(m) {
    const w = new PayloadWriter(command)
      .varStr('message', m.message, MAX_REJECT_COMMAND_LENGTH)
      .u8('code', m.code)
      .varStr('reason', m.reason, MAX_REJECT_REASON_LENGTH);
    if (m.hash !== undefined) w.hash('hash', m.hash);
    return w.render();
  },
  toJSON(m) {
    // codeName is for people reading the JSON; fromJSON uses the number.
    const j: JsonObject = { command, message: m.message, code: m.code, codeName: rejectCodeName(m.code), reason: m.reason };
    if (m.hash !== undefined) j.hash = toJson.hash(m.hash);
    return j;
  },
  fromJSON(json) {
    const f = new JsonFields(command, json);
    const base = { command, message: f.string('message'), code: f.number('code'), reason: f.string('reason') } as const;
    return f.has('hash') ? { ...base, hash: f.hash('hash') } : base;
  },
};

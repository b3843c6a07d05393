import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson } from './json.js';

/** AUTHCH_V1: the only authch version the node answers. */
export const AUTHCH_VERSION = 1;
/** SECP256K1_COMP_PUB_KEY_SIZE_IN_BYTES: authresp's public key read limit (and exact size). */
export const AUTHRESP_PUBLIC_KEY_LENGTH = 33;
/** SECP256K1_DER_SIGN_MIN/MAX_SIZE_IN_BYTES: the signature sizes the node accepts; 72 is the read limit. */
export const AUTHRESP_MIN_SIGNATURE_LENGTH = 70;
export const AUTHRESP_MAX_SIGNATURE_LENGTH = 72;

/**
 * `authch` (PROTOCOL.md §6.4): u32 version | u32 msgLen | 32-byte challenge.
 * The node reads exactly 32 challenge bytes whatever msgLen says, so msgLen is kept as sent.
 */
export interface AuthChMessage {
  readonly command: 'authch';
  readonly version: number;
  readonly messageLength: number;
  readonly challenge: Buffer;
}

/**
 * `authresp`: var_bytes publicKey (≤ 33) | u64 nonce | var_bytes DER signature (≤ 72).
 * The node's exact-size checks (33, 70..72) are semantic and left to the caller.
 * The signed message is sha256d(challenge ‖ nonce as 8 LE bytes).
 */
export interface AuthRespMessage {
  readonly command: 'authresp';
  readonly publicKey: Buffer;
  readonly nonce: bigint;
  readonly signature: Buffer;
}

export const authChCodec: MessageCodec<AuthChMessage> = {
  command: 'authch',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'authch');
    const m: AuthChMessage = {
      command: 'authch',
      version: r.u32('version'),
      messageLength: r.u32('messageLength'),
      challenge: r.bytes('challenge', 32),
    };
    r.end();
    return m;
  },
  encode: (m) =>
    new PayloadWriter('authch')
      .u32('version', m.version)
      .u32('messageLength', m.messageLength)
      .bytes('challenge', m.challenge, 32)
      .render(),
  toJSON: (m) => ({
    command: 'authch',
    version: m.version,
    messageLength: m.messageLength,
    challenge: toJson.bytes(m.challenge),
  }),
  fromJSON(json) {
    const f = new JsonFields('authch', json);
    return {
      command: 'authch',
      version: f.number('version'),
      messageLength: f.number('messageLength'),
      challenge: f.bytes('challenge'),
    };
  },
};

export const authRespCodec: MessageCodec<AuthRespMessage> = {
  command: 'authresp',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'authresp');
    const m: AuthRespMessage = {
      command: 'authresp',
      publicKey: r.varBytes('publicKey', AUTHRESP_PUBLIC_KEY_LENGTH),
      nonce: r.u64('nonce'),
      signature: r.varBytes('signature', AUTHRESP_MAX_SIGNATURE_LENGTH),
    };
    r.end();
    return m;
  },
  encode: (m) =>
    new PayloadWriter('authresp')
      .varBytes('publicKey', m.publicKey, AUTHRESP_PUBLIC_KEY_LENGTH)
      .u64('nonce', m.nonce)
      .varBytes('signature', m.signature, AUTHRESP_MAX_SIGNATURE_LENGTH)
      .render(),
  toJSON: (m) => ({
    command: 'authresp',
    publicKey: toJson.bytes(m.publicKey),
    nonce: toJson.big(m.nonce),
    signature: toJson.bytes(m.signature),
  }),
  fromJSON(json) {
    const f = new JsonFields('authresp', json);
    return { command: 'authresp', publicKey: f.bytes('publicKey'), nonce: f.big('nonce'), signature: f.bytes('signature') };
  },
};

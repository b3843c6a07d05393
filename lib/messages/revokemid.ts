import type { MessageCodec } from './codec.js';
import { EncodeError } from '../errors.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson } from './json.js';

export const MINER_ID_KEY_SIZE = 33;
/** Each signature sits behind a one-byte length inside the sig field. */
const MAX_SIG_SIZE = 0xff;

/**
 * `revokemid` (PROTOCOL.md §6.12). Both signatures are over single SHA256(revocationMessage).
 * The codec checks the layout only; the node also requires version 0.
 */
export interface RevokeMidMessage {
  readonly command: 'revokemid';
  readonly version: number;
  /** Compressed public keys, 33 bytes each. */
  readonly revocationKey: Buffer;
  readonly minerId: Buffer;
  /** The compromised miner ID being revoked. */
  readonly revocationMessage: Buffer;
  /** Signature by the revocation key (first inside the sig field). */
  readonly revocationKeySig: Buffer;
  /** Signature by the current miner ID (second inside the sig field). */
  readonly minerIdSig: Buffer;
}

export const revokeMidCodec: MessageCodec<RevokeMidMessage> = {
  command: 'revokemid',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'revokemid');
    const version = r.u32('version');
    const revocationKey = r.bytes('revocationKey', MINER_ID_KEY_SIZE);
    const minerId = r.bytes('minerId', MINER_ID_KEY_SIZE);
    const revocationMessage = r.bytes('revocationMessage', MINER_ID_KEY_SIZE);
    // [len1][sig1][len2][sig2], and the var_bytes length must be exactly len1 + len2 + 2.
    const sigs = new PayloadReader(r.varBytes('sigs'), 'revokemid');
    const revocationKeySig = sigs.bytes('sigs.revocationKeySig', sigs.u8('sigs.revocationKeySig.length'));
    const minerIdSig = sigs.bytes('sigs.minerIdSig', sigs.u8('sigs.minerIdSig.length'));
    sigs.end();
    r.end();
    return { command: 'revokemid', version, revocationKey, minerId, revocationMessage, revocationKeySig, minerIdSig };
  },
  encode(m) {
    for (const field of ['revocationKeySig', 'minerIdSig'] as const) {
      if (Buffer.isBuffer(m[field]) && m[field].length > MAX_SIG_SIZE) {
        throw new EncodeError('revokemid', field, `${m[field].length} bytes, at most ${MAX_SIG_SIZE}`);
      }
    }
    const sigs = new PayloadWriter('revokemid')
      .u8('revocationKeySig.length', m.revocationKeySig.length)
      .bytes('revocationKeySig', m.revocationKeySig)
      .u8('minerIdSig.length', m.minerIdSig.length)
      .bytes('minerIdSig', m.minerIdSig)
      .render();
    return new PayloadWriter('revokemid')
      .u32('version', m.version)
      .bytes('revocationKey', m.revocationKey, MINER_ID_KEY_SIZE)
      .bytes('minerId', m.minerId, MINER_ID_KEY_SIZE)
      .bytes('revocationMessage', m.revocationMessage, MINER_ID_KEY_SIZE)
      .varBytes('sigs', sigs)
      .render();
  },
  toJSON: (m) => ({
    command: 'revokemid',
    version: m.version,
    revocationKey: toJson.bytes(m.revocationKey),
    minerId: toJson.bytes(m.minerId),
    revocationMessage: toJson.bytes(m.revocationMessage),
    revocationKeySig: toJson.bytes(m.revocationKeySig),
    minerIdSig: toJson.bytes(m.minerIdSig),
  }),
  fromJSON(j) {
    const f = new JsonFields('revokemid', j);
    return {
      command: 'revokemid',
      version: f.number('version'),
      revocationKey: f.bytes('revocationKey'),
      minerId: f.bytes('minerId'),
      revocationMessage: f.bytes('revocationMessage'),
      revocationKeySig: f.bytes('revocationKeySig'),
      minerIdSig: f.bytes('minerIdSig'),
    };
  },
};

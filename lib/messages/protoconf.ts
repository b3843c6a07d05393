import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { EncodeError } from '../errors.js';
import { JsonFields, toJson, type JsonObject } from './json.js';

/** Read limit of streamPolicies: (MAX_STREAM_POLICY_NAME_LENGTH + 1) * 10. */
export const MAX_STREAM_POLICIES_LENGTH = 650;
/** The smallest maxRecvPayloadLength the node accepts (LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH). */
export const MIN_MAX_RECV_PAYLOAD_LENGTH = 1_048_576;

/**
 * `protoconf` (PROTOCOL.md §6.3). `numberOfFields` says which fields follow:
 * maxRecvPayloadLength (u32, not a CompactSize despite the spec) if ≥ 1,
 * streamPolicies (comma-separated) if ≥ 2. Bytes of fields this codec does not
 * know (numberOfFields > 2, or anything after the known fields) are kept in `extra`.
 * A value below MIN_MAX_RECV_PAYLOAD_LENGTH is a protocol violation for the peer
 * layer to act on, not a decode error.
 */
export interface ProtoconfMessage {
  readonly command: 'protoconf';
  readonly numberOfFields: number;
  /** Always present: numberOfFields is at least 1. */
  readonly maxRecvPayloadLength: number;
  readonly streamPolicies?: string;
  readonly extra?: Buffer;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const command = 'protoconf';

export const protoconfCodec: MessageCodec<ProtoconfMessage> = {
  command,
  limit: 'protoconf',
  decode(payload) {
    const r = new PayloadReader(payload, command);
    const numberOfFields = r.varint('numberOfFields');
    if (numberOfFields === 0) r.fail('numberOfFields', 'invalid-value', 'a protoconf must carry at least one field');
    const m: Mutable<ProtoconfMessage> = { command, numberOfFields, maxRecvPayloadLength: r.u32('maxRecvPayloadLength') };
    if (numberOfFields >= 2) m.streamPolicies = r.varStr('streamPolicies', MAX_STREAM_POLICIES_LENGTH);
    if (r.remaining > 0) m.extra = r.rest();
    return m;
  },
  encode(m) {
    const w = new PayloadWriter(command);
    if (m.numberOfFields < 1) throw new EncodeError(command, 'numberOfFields', 'at least 1');
    w.varint('numberOfFields', m.numberOfFields);
    w.u32('maxRecvPayloadLength', m.maxRecvPayloadLength);
    if (m.numberOfFields >= 2) {
      if (m.streamPolicies === undefined) throw new EncodeError(command, 'streamPolicies', 'required when numberOfFields >= 2');
      w.varStr('streamPolicies', m.streamPolicies, MAX_STREAM_POLICIES_LENGTH);
    } else if (m.streamPolicies !== undefined) {
      throw new EncodeError(command, 'streamPolicies', 'present but numberOfFields < 2');
    }
    if (m.extra !== undefined) {
      if (m.extra.length === 0) throw new EncodeError(command, 'extra', 'empty: omit it instead');
      w.bytes('extra', m.extra);
    }
    return w.render();
  },
  toJSON(m) {
    const j: JsonObject = { command, numberOfFields: m.numberOfFields, maxRecvPayloadLength: m.maxRecvPayloadLength };
    if (m.streamPolicies !== undefined) j.streamPolicies = m.streamPolicies;
    if (m.extra !== undefined) j.extra = toJson.bytes(m.extra);
    return j;
  },
  fromJSON(json) {
    const f = new JsonFields(command, json);
    const m: Mutable<ProtoconfMessage> = {
      command,
      numberOfFields: f.number('numberOfFields'),
      maxRecvPayloadLength: f.number('maxRecvPayloadLength'),
    };
    if (f.has('streamPolicies')) m.streamPolicies = f.string('streamPolicies');
    if (f.has('extra')) m.extra = f.bytes('extra');
    return m;
  },
};

/** The policy names of a streamPolicies field ("BlockPriority,Default" -> ["BlockPriority", "Default"]). */
export function streamPolicyNames(streamPolicies: string): string[] {
  return streamPolicies.split(',').filter((name) => name.length > 0);
}

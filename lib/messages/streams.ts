import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson } from './json.js';
import { MAX_ASSOCIATION_ID_LENGTH } from './version.js';

/** Stream types (src/net/stream.h). The node refuses a type >= MAX. */
export const STREAM_TYPE_UNKNOWN = 0;
export const STREAM_TYPE_GENERAL = 1;
export const STREAM_TYPE_DATA1 = 2;
export const STREAM_TYPE_DATA2 = 3;
export const STREAM_TYPE_DATA3 = 4;
export const STREAM_TYPE_DATA4 = 5;
export const STREAM_TYPE_MAX = 6;
/** MAX_STREAM_POLICY_NAME_LENGTH: createstrm's policy name read limit. */
export const MAX_STREAM_POLICY_NAME_LENGTH = 64;

/**
 * `createstrm` (PROTOCOL.md §6.4): var_bytes associationId (≤ 129) | u8 streamType |
 * var_str policyName (≤ 64). Must be the first message on a new socket.
 * A streamType >= STREAM_TYPE_MAX or a null association ID is refused by the node
 * after parsing; here they decode, and the caller decides.
 */
export interface CreateStreamMessage {
  readonly command: 'createstrm';
  readonly associationId: Buffer;
  readonly streamType: number;
  readonly policyName: string;
}

/** `streamack`: var_bytes associationId (≤ 129) | u8 streamType. */
export interface StreamAckMessage {
  readonly command: 'streamack';
  readonly associationId: Buffer;
  readonly streamType: number;
}

export const createStreamCodec: MessageCodec<CreateStreamMessage> = {
  command: 'createstrm',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'createstrm');
    const m: CreateStreamMessage = {
      command: 'createstrm',
      associationId: r.varBytes('associationId', MAX_ASSOCIATION_ID_LENGTH),
      streamType: r.u8('streamType'),
      policyName: r.varStr('policyName', MAX_STREAM_POLICY_NAME_LENGTH),
    };
    r.end();
    return m;
  },
  encode: (m) =>
    new PayloadWriter('createstrm')
      .varBytes('associationId', m.associationId, MAX_ASSOCIATION_ID_LENGTH)
      .u8('streamType', m.streamType)
      .varStr('policyName', m.policyName, MAX_STREAM_POLICY_NAME_LENGTH)
      .render(),
  toJSON: (m) => ({
    command: 'createstrm',
    associationId: toJson.bytes(m.associationId),
    streamType: m.streamType,
    policyName: m.policyName,
  }),
  fromJSON(json) {
    const f = new JsonFields('createstrm', json);
    return {
      command: 'createstrm',
      associationId: f.bytes('associationId'),
      streamType: f.number('streamType'),
      policyName: f.string('policyName'),
    };
  },
};

export const streamAckCodec: MessageCodec<StreamAckMessage> = {
  command: 'streamack',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'streamack');
    const m: StreamAckMessage = {
      command: 'streamack',
      associationId: r.varBytes('associationId', MAX_ASSOCIATION_ID_LENGTH),
      streamType: r.u8('streamType'),
    };
    r.end();
    return m;
  },
  encode: (m) =>
    new PayloadWriter('streamack')
      .varBytes('associationId', m.associationId, MAX_ASSOCIATION_ID_LENGTH)
      .u8('streamType', m.streamType)
      .render(),
  toJSON: (m) => ({ command: 'streamack', associationId: toJson.bytes(m.associationId), streamType: m.streamType }),
  fromJSON(json) {
    const f = new JsonFields('streamack', json);
    return { command: 'streamack', associationId: f.bytes('associationId'), streamType: f.number('streamType') };
  },
};

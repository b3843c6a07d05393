import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson } from './json.js';

/**
 * `feefilter`: i64 satoshis per 1000 bytes. The node ignores values outside MoneyRange;
 * the codec keeps any i64.
 */
export interface FeeFilterMessage {
  readonly command: 'feefilter';
  readonly feeRate: bigint;
}

/** `sendcmpct` (BIP152): bool announce | u64 version. The node honours only version 1. */
export interface SendCmpctMessage {
  readonly command: 'sendcmpct';
  readonly announce: boolean;
  readonly version: bigint;
}

/** `alert`: the retired alert system. Not processed by the node on receipt; kept opaque. */
export interface AlertMessage {
  readonly command: 'alert';
  readonly payload: Buffer;
}

export const feeFilterCodec: MessageCodec<FeeFilterMessage> = {
  command: 'feefilter',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'feefilter');
    const feeRate = r.i64('feeRate');
    r.end();
    return { command: 'feefilter', feeRate };
  },
  encode: (m) => new PayloadWriter('feefilter').i64('feeRate', m.feeRate).render(),
  toJSON: (m) => ({ command: 'feefilter', feeRate: toJson.big(m.feeRate) }),
  fromJSON: (json) => ({ command: 'feefilter', feeRate: new JsonFields('feefilter', json).big('feeRate') }),
};

export const sendCmpctCodec: MessageCodec<SendCmpctMessage> = {
  command: 'sendcmpct',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'sendcmpct');
    const m: SendCmpctMessage = { command: 'sendcmpct', announce: r.bool('announce'), version: r.u64('version') };
    r.end();
    return m;
  },
  encode: (m) => new PayloadWriter('sendcmpct').bool('announce', m.announce).u64('version', m.version).render(),
  toJSON: (m) => ({ command: 'sendcmpct', announce: m.announce, version: toJson.big(m.version) }),
  fromJSON(json) {
    const f = new JsonFields('sendcmpct', json);
    return { command: 'sendcmpct', announce: f.boolean('announce'), version: f.big('version') };
  },
};

export const alertCodec: MessageCodec<AlertMessage> = {
  command: 'alert',
  limit: 'default',
  decode: (payload) => ({ command: 'alert', payload }),
  encode: (m) => new PayloadWriter('alert').bytes('payload', m.payload).render(),
  toJSON: (m) => ({ command: 'alert', payload: toJson.bytes(m.payload) }),
  fromJSON: (json) => ({ command: 'alert', payload: new JsonFields('alert', json).bytes('payload') }),
};

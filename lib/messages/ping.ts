import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson, type JsonObject } from './json.js';

export interface PingMessage {
  readonly command: 'ping';
  /**
   * Absent in a pre-BIP31 ping: peers below protocol 60001 send an empty payload, which the
   * node accepts and does not answer.
   */
  readonly nonce?: bigint;
}
export interface PongMessage {
  readonly command: 'pong';
  readonly nonce: bigint;
}

export const pingCodec: MessageCodec<PingMessage> = {
  command: 'ping',
  limit: 'default',
  decode(payload) {
    if (payload.length === 0) return { command: 'ping' };
    const r = new PayloadReader(payload, 'ping');
    const nonce = r.u64('nonce');
    r.end();
    return { command: 'ping', nonce };
  },
  encode: (m) => (m.nonce === undefined ? Buffer.alloc(0) : new PayloadWriter('ping').u64('nonce', m.nonce).render()),
  toJSON: (m): JsonObject => (m.nonce === undefined ? { command: 'ping' } : { command: 'ping', nonce: toJson.big(m.nonce) }),
  fromJSON(j) {
    const f = new JsonFields('ping', j);
    return f.has('nonce') ? { command: 'ping', nonce: f.big('nonce') } : { command: 'ping' };
  },
};

export const pongCodec: MessageCodec<PongMessage> = {
  command: 'pong',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'pong');
    const nonce = r.u64('nonce');
    r.end();
    return { command: 'pong', nonce };
  },
  encode: (m) => new PayloadWriter('pong').u64('nonce', m.nonce).render(),
  toJSON: (m) => ({ command: 'pong', nonce: toJson.big(m.nonce) }),
  fromJSON: (j) => ({ command: 'pong', nonce: new JsonFields('pong', j).big('nonce') }),
};

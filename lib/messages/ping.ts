import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson } from './json.js';

export interface PingMessage {
  readonly command: 'ping';
  readonly nonce: bigint;
}
export interface PongMessage {
  readonly command: 'pong';
  readonly nonce: bigint;
}

function nonceCodec<C extends 'ping' | 'pong'>(command: C): MessageCodec<{ readonly command: C; readonly nonce: bigint }> {
  return {
    command,
    limit: 'default',
    decode(payload) {
      const r = new PayloadReader(payload, command);
      const nonce = r.u64('nonce');
      r.end();
      return { command, nonce };
    },
    encode: (m) => new PayloadWriter(command).u64('nonce', m.nonce).render(),
    toJSON: (m) => ({ command, nonce: toJson.big(m.nonce) }),
    fromJSON: (j) => ({ command, nonce: new JsonFields(command, j).big('nonce') }),
  };
}

export const pingCodec: MessageCodec<PingMessage> = nonceCodec('ping');
export const pongCodec: MessageCodec<PongMessage> = nonceCodec('pong');

import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';

type EmptyCommand = 'verack' | 'getaddr' | 'sendheaders' | 'sendhdrsen' | 'filterclear';
export interface EmptyMessage<C extends EmptyCommand> {
  readonly command: C;
}
export type VerackMessage = EmptyMessage<'verack'>;
export type GetAddrMessage = EmptyMessage<'getaddr'>;
export type SendHeadersMessage = EmptyMessage<'sendheaders'>;
export type SendHdrsEnMessage = EmptyMessage<'sendhdrsen'>;
export type FilterClearMessage = EmptyMessage<'filterclear'>;

function emptyCodec<C extends EmptyCommand>(command: C): MessageCodec<EmptyMessage<C>> {
  return {
    command,
    limit: 'default',
    decode(payload) {
      new PayloadReader(payload, command).end();
      return { command };
    },
    encode: () => Buffer.alloc(0),
    toJSON: () => ({ command }),
    fromJSON: () => ({ command }),
  };
}

export const verackCodec = emptyCodec('verack');
export const getAddrCodec = emptyCodec('getaddr');
export const sendHeadersCodec = emptyCodec('sendheaders');
export const sendHdrsEnCodec = emptyCodec('sendhdrsen');
export const filterClearCodec = emptyCodec('filterclear');

// Control, handshake, address, inventory and header messages. Each codec lives in its own file.
import type { MessageCodec } from './codec.js';
import * as empty from './empty.js';
import * as ping from './ping.js';

export type CoreMessage =
  | empty.VerackMessage
  | empty.GetAddrMessage
  | empty.SendHeadersMessage
  | empty.SendHdrsEnMessage
  | empty.FilterClearMessage
  | ping.PingMessage
  | ping.PongMessage;

export const coreCodecs: readonly MessageCodec<CoreMessage>[] = [
  empty.verackCodec,
  empty.getAddrCodec,
  empty.sendHeadersCodec,
  empty.sendHdrsEnCodec,
  empty.filterClearCodec,
  ping.pingCodec,
  ping.pongCodec,
];

// Control, handshake, address, inventory and header messages. Each codec lives in its own file.
import type { MessageCodec } from './codec.js';
import * as addr from './addr.js';
import * as auth from './auth.js';
import * as bloom from './bloom.js';
import * as control from './control.js';
import * as empty from './empty.js';
import * as headers from './headers.js';
import * as inventory from './inventory.js';
import * as locator from './locator.js';
import * as mempool from './mempool.js';
import * as ping from './ping.js';
import * as protoconf from './protoconf.js';
import * as reject from './reject.js';
import * as streams from './streams.js';
import * as version from './version.js';

export type CoreMessage =
  | version.VersionMessage
  | empty.VerackMessage
  | protoconf.ProtoconfMessage
  | auth.AuthChMessage
  | auth.AuthRespMessage
  | streams.CreateStreamMessage
  | streams.StreamAckMessage
  | empty.GetAddrMessage
  | empty.SendHeadersMessage
  | empty.SendHdrsEnMessage
  | empty.FilterClearMessage
  | ping.PingMessage
  | ping.PongMessage
  | addr.AddrMessage
  | inventory.InvMessage
  | inventory.GetDataMessage
  | inventory.NotFoundMessage
  | locator.GetBlocksMessage
  | locator.GetHeadersMessage
  | locator.GetHdrsEnMessage
  | headers.HeadersMessage
  | reject.RejectMessage
  | control.FeeFilterMessage
  | control.SendCmpctMessage
  | mempool.MempoolMessage
  | bloom.FilterLoadMessage
  | bloom.FilterAddMessage
  | control.AlertMessage;

export const coreCodecs: readonly MessageCodec<CoreMessage>[] = [
  version.versionCodec,
  empty.verackCodec,
  protoconf.protoconfCodec,
  auth.authChCodec,
  auth.authRespCodec,
  streams.createStreamCodec,
  streams.streamAckCodec,
  empty.getAddrCodec,
  empty.sendHeadersCodec,
  empty.sendHdrsEnCodec,
  empty.filterClearCodec,
  ping.pingCodec,
  ping.pongCodec,
  addr.addrCodec,
  inventory.invCodec,
  inventory.getDataCodec,
  inventory.notFoundCodec,
  locator.getBlocksCodec,
  locator.getHeadersCodec,
  locator.getHdrsEnCodec,
  headers.headersCodec,
  reject.rejectCodec,
  control.feeFilterCodec,
  control.sendCmpctCodec,
  mempool.mempoolCodec,
  bloom.filterLoadCodec,
  bloom.filterAddCodec,
  control.alertCodec,
];

// Transactions, blocks, compact blocks, merkle blocks and BSV data messages.
import type { MessageCodec } from './codec.js';
import * as block from './block.js';
import * as compact from './compact-blocks.js';
import * as datareftx from './datareftx.js';
import * as dsdetected from './dsdetected.js';
import * as hdrsen from './hdrsen.js';
import * as merkleblock from './merkleblock.js';
import * as revokemid from './revokemid.js';
import * as tx from './tx.js';

export type DataMessage =
  | tx.TxMessage
  | block.BlockMessage
  | merkleblock.MerkleBlockMessage
  | compact.CmpctBlockMessage
  | compact.GetBlockTxnMessage
  | compact.BlockTxnMessage
  | hdrsen.HdrsEnMessage
  | dsdetected.DsDetectedMessage
  | revokemid.RevokeMidMessage
  | datareftx.DataRefTxMessage;

export const dataCodecs: readonly MessageCodec<DataMessage>[] = [
  tx.txCodec,
  block.blockCodec,
  merkleblock.merkleBlockCodec,
  compact.cmpctBlockCodec,
  compact.getBlockTxnCodec,
  compact.blockTxnCodec,
  hdrsen.hdrsEnCodec,
  dsdetected.dsDetectedCodec,
  revokemid.revokeMidCodec,
  datareftx.dataRefTxCodec,
];

// Transactions, blocks, compact blocks, merkle blocks and BSV data messages.
import type { MessageCodec } from './codec.js';
import * as block from './block.js';
import * as tx from './tx.js';

export type DataMessage = tx.TxMessage | block.BlockMessage;

export const dataCodecs: readonly MessageCodec<DataMessage>[] = [tx.txCodec, block.blockCodec];

// Transactions, blocks, compact blocks, merkle blocks and BSV data messages.
import type { MessageCodec } from './codec.js';

export type DataMessage = never;
export const dataCodecs: readonly MessageCodec<DataMessage>[] = [];

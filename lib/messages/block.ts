import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { blockHeaderFromJSON, blockHeaderToJSON, readBlockHeader, writeBlockHeader, type BlockHeader } from './block-header.js';
import { JsonFields } from './json.js';
import {
  readTransaction,
  transactionFromJSON,
  transactionToJSON,
  writeTransaction,
  type RawTransaction,
} from './transaction.js';
import { MIN_TX_SIZE } from './tx-walk.js';

/**
 * `block` decoded whole: for small blocks and for encoding. Large blocks arrive
 * through the streaming decoder instead, which never holds the whole payload.
 */
export interface BlockMessage {
  readonly command: 'block';
  readonly header: BlockHeader;
  readonly transactions: readonly RawTransaction[];
}

/** A CompactSize count of transactions followed by the transactions themselves. */
export function readTransactions(r: PayloadReader, field: string): RawTransaction[] {
  return r.list(field, MIN_TX_SIZE, (i) => readTransaction(r, `${field}[${i}]`));
}

export function writeTransactions(w: PayloadWriter, txs: readonly RawTransaction[], field: string): void {
  w.list(field, txs, (tx, i) => writeTransaction(w, tx, `${field}[${i}]`));
}

export function transactionsFromJSON(f: JsonFields, field: string): RawTransaction[] {
  return f.objects(field).map((o) => transactionFromJSON(o));
}

export const blockCodec: MessageCodec<BlockMessage> = {
  command: 'block',
  limit: 'block',
  decode(payload) {
    const r = new PayloadReader(payload, 'block');
    const header = readBlockHeader(r);
    const transactions = readTransactions(r, 'transactions');
    r.end();
    return { command: 'block', header, transactions };
  },
  encode(m) {
    const w = new PayloadWriter('block');
    writeBlockHeader(w, m.header);
    writeTransactions(w, m.transactions, 'transactions');
    return w.render();
  },
  toJSON: (m) => ({
    command: 'block',
    header: blockHeaderToJSON(m.header),
    transactions: m.transactions.map(transactionToJSON),
  }),
  fromJSON(j) {
    const f = new JsonFields('block', j);
    return { command: 'block', header: blockHeaderFromJSON(f.object('header')), transactions: transactionsFromJSON(f, 'transactions') };
  },
};

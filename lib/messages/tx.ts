import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields } from './json.js';
import { readTransaction, transactionFromJSON, transactionToJSON, writeTransaction, type RawTransaction } from './transaction.js';

/** `tx`: one transaction, the whole payload. */
export interface TxMessage extends RawTransaction {
  readonly command: 'tx';
}

export const txCodec: MessageCodec<TxMessage> = {
  command: 'tx',
  limit: 'tx',
  decode(payload) {
    const r = new PayloadReader(payload, 'tx');
    const { raw, txid } = readTransaction(r, 'tx');
    r.end();
    return { command: 'tx', raw, txid };
  },
  encode(m) {
    const w = new PayloadWriter('tx');
    writeTransaction(w, m, 'tx');
    return w.render();
  },
  toJSON: (m) => ({ command: 'tx', ...transactionToJSON(m) }),
  fromJSON(j) {
    const { raw, txid } = transactionFromJSON(new JsonFields('tx', j));
    return { command: 'tx', raw, txid };
  },
};

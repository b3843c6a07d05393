import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields } from './json.js';
import {
  readTransactionWithProof,
  transactionWithProofFromJSON,
  transactionWithProofToJSON,
  writeTransactionWithProof,
  type TransactionWithProof,
} from './tx-with-proof.js';

/** `datareftx` (reply to getdata type 5): a transaction and its proof (flags 0, txid, target = block hash). */
export interface DataRefTxMessage extends TransactionWithProof {
  readonly command: 'datareftx';
}

export const dataRefTxCodec: MessageCodec<DataRefTxMessage> = {
  command: 'datareftx',
  limit: 'tx',
  decode(payload) {
    const r = new PayloadReader(payload, 'datareftx');
    const { tx, proof } = readTransactionWithProof(r);
    r.end();
    return { command: 'datareftx', tx, proof };
  },
  encode(m) {
    const w = new PayloadWriter('datareftx');
    writeTransactionWithProof(w, m);
    return w.render();
  },
  toJSON: (m) => ({ command: 'datareftx', ...transactionWithProofToJSON(m) }),
  fromJSON(j) {
    const { tx, proof } = transactionWithProofFromJSON(new JsonFields('datareftx', j));
    return { command: 'datareftx', tx, proof };
  },
};

// BIP152 compact blocks: cmpctblock, getblocktxn, blocktxn.
import type { MessageCodec } from './codec.js';
import { EncodeError } from '../errors.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { readTransactions, transactionsFromJSON, writeTransactions } from './block.js';
import { blockHeaderFromJSON, blockHeaderToJSON, readBlockHeader, writeBlockHeader, type BlockHeader } from './block-header.js';
import { readDifferentialIndex, writeDifferentialIndex } from './differential-index.js';
import { JsonFields, toJson } from './json.js';
import {
  readTransaction,
  transactionFromJSON,
  transactionToJSON,
  writeTransaction,
  type RawTransaction,
} from './transaction.js';
import { MIN_TX_SIZE } from './tx-walk.js';

export const SHORT_ID_SIZE = 6;
const SHORT_ID_MAX = (1n << 48n) - 1n;

/** A transaction sent in full inside a cmpctblock, at its absolute position in the block. */
export interface PrefilledTransaction {
  readonly index: number;
  readonly tx: RawTransaction;
}

export interface CmpctBlockMessage {
  readonly command: 'cmpctblock';
  readonly header: BlockHeader;
  readonly nonce: bigint;
  /** 48-bit short ids: SipHash-2-4 of the txid & 0xffffffffffff. */
  readonly shortIds: readonly bigint[];
  /** Absolute indexes (differential on the wire), strictly increasing. */
  readonly prefilled: readonly PrefilledTransaction[];
}

export interface GetBlockTxnMessage {
  readonly command: 'getblocktxn';
  /** Wire order. */
  readonly blockHash: Buffer;
  /** Absolute indexes (differential on the wire), strictly increasing. */
  readonly indexes: readonly number[];
}

export interface BlockTxnMessage {
  readonly command: 'blocktxn';
  readonly blockHash: Buffer;
  readonly transactions: readonly RawTransaction[];
}

export const cmpctBlockCodec: MessageCodec<CmpctBlockMessage> = {
  command: 'cmpctblock',
  limit: 'block',
  decode(payload) {
    const r = new PayloadReader(payload, 'cmpctblock');
    const header = readBlockHeader(r);
    const nonce = r.u64('nonce');
    const shortIds = r.list('shortIds', SHORT_ID_SIZE, (i) =>
      BigInt(r.bytes(`shortIds[${i}]`, SHORT_ID_SIZE).readUIntLE(0, SHORT_ID_SIZE)),
    );
    let previous = -1;
    const prefilled = r.list('prefilled', 1 + MIN_TX_SIZE, (i): PrefilledTransaction => {
      previous = readDifferentialIndex(r, `prefilled[${i}].index`, previous);
      return { index: previous, tx: readTransaction(r, `prefilled[${i}].tx`) };
    });
    r.end();
    return { command: 'cmpctblock', header, nonce, shortIds, prefilled };
  },
  encode(m) {
    const w = new PayloadWriter('cmpctblock');
    writeBlockHeader(w, m.header);
    w.u64('nonce', m.nonce).list('shortIds', m.shortIds, (shortId, i) => {
      if (typeof shortId !== 'bigint' || shortId < 0n || shortId > SHORT_ID_MAX) {
        throw new EncodeError('cmpctblock', `shortIds[${i}]`, `${shortId} is not a 48-bit bigint`);
      }
      // A fresh buffer per id: the writer keeps references until render().
      const id = Buffer.alloc(SHORT_ID_SIZE);
      id.writeUIntLE(Number(shortId), 0, SHORT_ID_SIZE);
      w.bytes(`shortIds[${i}]`, id);
    });
    let previous = -1;
    w.list('prefilled', m.prefilled, (p, i) => {
      writeDifferentialIndex(w, `prefilled[${i}].index`, p.index, previous);
      previous = p.index;
      writeTransaction(w, p.tx, `prefilled[${i}].tx`);
    });
    return w.render();
  },
  toJSON: (m) => ({
    command: 'cmpctblock',
    header: blockHeaderToJSON(m.header),
    nonce: toJson.big(m.nonce),
    shortIds: m.shortIds.map((id) => id.toString(16).padStart(12, '0')),
    prefilled: m.prefilled.map((p) => ({ index: p.index, ...transactionToJSON(p.tx) })),
  }),
  fromJSON(j) {
    const f = new JsonFields('cmpctblock', j);
    return {
      command: 'cmpctblock',
      header: blockHeaderFromJSON(f.object('header')),
      nonce: f.big('nonce'),
      shortIds: f.array('shortIds').map((v, i) => {
        if (typeof v !== 'string' || !/^[0-9a-fA-F]{12}$/.test(v)) {
          throw new EncodeError('cmpctblock', `shortIds[${i}]`, `expected 12 hex digits, got ${JSON.stringify(v)}`);
        }
        return BigInt(`0x${v}`);
      }),
      prefilled: f.objects('prefilled').map((p) => ({ index: p.number('index'), tx: transactionFromJSON(p) })),
    };
  },
};

export const getBlockTxnCodec: MessageCodec<GetBlockTxnMessage> = {
  command: 'getblocktxn',
  limit: 'getblocktxn',
  decode(payload) {
    const r = new PayloadReader(payload, 'getblocktxn');
    const blockHash = r.hash('blockHash');
    let previous = -1;
    const indexes = r.list('indexes', 1, (i) => (previous = readDifferentialIndex(r, `indexes[${i}]`, previous)));
    r.end();
    return { command: 'getblocktxn', blockHash, indexes };
  },
  encode(m) {
    const w = new PayloadWriter('getblocktxn');
    let previous = -1;
    w.hash('blockHash', m.blockHash).list('indexes', m.indexes, (index, i) => {
      writeDifferentialIndex(w, `indexes[${i}]`, index, previous);
      previous = index;
    });
    return w.render();
  },
  toJSON: (m) => ({ command: 'getblocktxn', blockHash: toJson.hash(m.blockHash), indexes: [...m.indexes] }),
  fromJSON(j) {
    const f = new JsonFields('getblocktxn', j);
    return {
      command: 'getblocktxn',
      blockHash: f.hash('blockHash'),
      indexes: f.array('indexes').map((v, i) => {
        if (typeof v !== 'number') throw new EncodeError('getblocktxn', `indexes[${i}]`, `expected a number, got ${JSON.stringify(v)}`);
        return v;
      }),
    };
  },
};

export const blockTxnCodec: MessageCodec<BlockTxnMessage> = {
  command: 'blocktxn',
  limit: 'block',
  decode(payload) {
    const r = new PayloadReader(payload, 'blocktxn');
    const blockHash = r.hash('blockHash');
    const transactions = readTransactions(r, 'transactions');
    r.end();
    return { command: 'blocktxn', blockHash, transactions };
  },
  encode(m) {
    const w = new PayloadWriter('blocktxn');
    w.hash('blockHash', m.blockHash);
    writeTransactions(w, m.transactions, 'transactions');
    return w.render();
  },
  toJSON: (m) => ({
    command: 'blocktxn',
    blockHash: toJson.hash(m.blockHash),
    transactions: m.transactions.map(transactionToJSON),
  }),
  fromJSON(j) {
    const f = new JsonFields('blocktxn', j);
    return { command: 'blocktxn', blockHash: f.hash('blockHash'), transactions: transactionsFromJSON(f, 'transactions') };
  },
};

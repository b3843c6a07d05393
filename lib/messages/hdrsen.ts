import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { blockHeaderFromJSON, blockHeaderToJSON, readBlockHeader, writeBlockHeader, type BlockHeader } from './block-header.js';
import { JsonFields, type Json } from './json.js';
import {
  readTransactionWithProof,
  transactionWithProofFromJSON,
  transactionWithProofToJSON,
  writeTransactionWithProof,
  type TransactionWithProof,
} from './tx-with-proof.js';

/** One `hdrsen` entry (CBlockHeaderEnriched). */
export interface EnrichedHeader {
  readonly header: BlockHeader;
  /** The block's real tx count when the node knows it. */
  readonly txCount: number;
  /** True only for the node's tip. */
  readonly noMoreHeaders: boolean;
  /** Coinbase tx + proof (flags 0, index 0, txid, target = block hash); null when absent. */
  readonly coinbase: TransactionWithProof | null;
  /** Miner-info tx + proof; null when absent. */
  readonly minerInfo: TransactionWithProof | null;
}

/** `hdrsen`: enriched headers. The node sends at most 2000; the decoder bounds the count by the bytes only. */
export interface HdrsEnMessage {
  readonly command: 'hdrsen';
  readonly headers: readonly EnrichedHeader[];
}

/** header 80 + txCount 1 + noMoreHeaders 1 + two absent optionals. */
const MIN_ENRICHED_HEADER_SIZE = 84;

function readOptional(r: PayloadReader, field: string): TransactionWithProof | null {
  return r.bool(`${field}.present`) ? readTransactionWithProof(r, field) : null;
}

function writeOptional(w: PayloadWriter, v: TransactionWithProof | null, field: string): void {
  w.bool(`${field}.present`, v !== null);
  if (v !== null) writeTransactionWithProof(w, v, field);
}

function optionalFromJSON(f: JsonFields, field: string): TransactionWithProof | null {
  return f.raw(field) === null ? null : transactionWithProofFromJSON(f.object(field));
}

export const hdrsEnCodec: MessageCodec<HdrsEnMessage> = {
  command: 'hdrsen',
  limit: 'block',
  decode(payload) {
    const r = new PayloadReader(payload, 'hdrsen');
    const headers = r.list('headers', MIN_ENRICHED_HEADER_SIZE, (i): EnrichedHeader => {
      const field = `headers[${i}]`;
      return {
        header: readBlockHeader(r, `${field}.header`),
        txCount: r.varint(`${field}.txCount`),
        noMoreHeaders: r.bool(`${field}.noMoreHeaders`),
        coinbase: readOptional(r, `${field}.coinbase`),
        minerInfo: readOptional(r, `${field}.minerInfo`),
      };
    });
    r.end();
    return { command: 'hdrsen', headers };
  },
  encode(m) {
    const w = new PayloadWriter('hdrsen');
    w.list('headers', m.headers, (h, i) => {
      const field = `headers[${i}]`;
      writeBlockHeader(w, h.header, `${field}.header`);
      w.varint(`${field}.txCount`, h.txCount).bool(`${field}.noMoreHeaders`, h.noMoreHeaders);
      writeOptional(w, h.coinbase, `${field}.coinbase`);
      writeOptional(w, h.minerInfo, `${field}.minerInfo`);
    });
    return w.render();
  },
  toJSON: (m) => ({
    command: 'hdrsen',
    headers: m.headers.map(
      (h): Json => ({
        header: blockHeaderToJSON(h.header),
        txCount: h.txCount,
        noMoreHeaders: h.noMoreHeaders,
        coinbase: h.coinbase && transactionWithProofToJSON(h.coinbase),
        minerInfo: h.minerInfo && transactionWithProofToJSON(h.minerInfo),
      }),
    ),
  }),
  fromJSON(j) {
    const f = new JsonFields('hdrsen', j);
    return {
      command: 'hdrsen',
      headers: f.objects('headers').map((h) => ({
        header: blockHeaderFromJSON(h.object('header')),
        txCount: h.number('txCount'),
        noMoreHeaders: h.boolean('noMoreHeaders'),
        coinbase: optionalFromJSON(h, 'coinbase'),
        minerInfo: optionalFromJSON(h, 'minerInfo'),
      })),
    };
  },
};

import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { blockHeaderFromJSON, blockHeaderToJSON, readBlockHeader, writeBlockHeader, type BlockHeader } from './block-header.js';
import { JsonFields, toJson } from './json.js';

/** BIP37 `merkleblock`: a header and a partial merkle tree of the matched txs. */
export interface MerkleBlockMessage {
  readonly command: 'merkleblock';
  readonly header: BlockHeader;
  /** Number of transactions in the whole block (u32). */
  readonly totalTransactions: number;
  /** Partial-tree hashes, depth first, wire order. */
  readonly hashes: readonly Buffer[];
  /** Partial-tree flag bits, least significant bit first. */
  readonly flags: Buffer;
}

export const merkleBlockCodec: MessageCodec<MerkleBlockMessage> = {
  command: 'merkleblock',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'merkleblock');
    const header = readBlockHeader(r);
    const totalTransactions = r.u32('totalTransactions');
    const hashes = r.list('hashes', 32, (i) => r.hash(`hashes[${i}]`));
    const flags = r.varBytes('flags');
    r.end();
    return { command: 'merkleblock', header, totalTransactions, hashes, flags };
  },
  encode(m) {
    const w = new PayloadWriter('merkleblock');
    writeBlockHeader(w, m.header);
    w.u32('totalTransactions', m.totalTransactions).list('hashes', m.hashes, (h, i) => w.hash(`hashes[${i}]`, h));
    w.varBytes('flags', m.flags);
    return w.render();
  },
  toJSON: (m) => ({
    command: 'merkleblock',
    header: blockHeaderToJSON(m.header),
    totalTransactions: m.totalTransactions,
    hashes: m.hashes.map(toJson.hash),
    flags: toJson.bytes(m.flags),
  }),
  fromJSON(j) {
    const f = new JsonFields('merkleblock', j);
    return {
      command: 'merkleblock',
      header: blockHeaderFromJSON(f.object('header')),
      totalTransactions: f.number('totalTransactions'),
      hashes: f.hashes('hashes'),
      flags: f.bytes('flags'),
    };
  },
};

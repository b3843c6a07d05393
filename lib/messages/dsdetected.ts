import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import {
  BLOCK_HEADER_SIZE,
  blockHeaderFromJSON,
  blockHeaderToJSON,
  readBlockHeader,
  writeBlockHeader,
  type BlockHeader,
} from './block-header.js';
import { JsonFields, type Json } from './json.js';
import { merkleProofFromJSON, merkleProofToJSON, MIN_MERKLE_PROOF_SIZE, readMerkleProof, writeMerkleProof, type MerkleProof } from './merkle-proof.js';

/** One side of a double spend: the block chain back to the fork point and a proof of the conflicting tx. */
export interface DsDetectedBlock {
  /** From the block containing the conflicting tx back to the fork point (80-byte headers, no tx count). */
  readonly headers: readonly BlockHeader[];
  /** Flags 5 (full tx, target = merkle root), index != 0, node type 0. */
  readonly proof: MerkleProof;
}

/**
 * `dsdetected` (PROTOCOL.md §6.11). The codec is structural: the node's content rules
 * (version 1, at least 2 blocks, at least 1 header each, proof flags 5) are left to the caller.
 */
export interface DsDetectedMessage {
  readonly command: 'dsdetected';
  /** u16; the node accepts only 1. */
  readonly version: number;
  readonly blocks: readonly DsDetectedBlock[];
}

export const dsDetectedCodec: MessageCodec<DsDetectedMessage> = {
  command: 'dsdetected',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'dsdetected');
    const version = r.u16('version');
    const blocks = r.list(
      'blocks',
      1 + MIN_MERKLE_PROOF_SIZE,
      (i): DsDetectedBlock => ({
        headers: r.list(`blocks[${i}].headers`, BLOCK_HEADER_SIZE, (j) => readBlockHeader(r, `blocks[${i}].headers[${j}]`)),
        proof: readMerkleProof(r, `blocks[${i}].proof`),
      }),
    );
    r.end();
    return { command: 'dsdetected', version, blocks };
  },
  encode(m) {
    const w = new PayloadWriter('dsdetected');
    w.u16('version', m.version).list('blocks', m.blocks, (b, i) => {
      w.list(`blocks[${i}].headers`, b.headers, (h, j) => writeBlockHeader(w, h, `blocks[${i}].headers[${j}]`));
      writeMerkleProof(w, b.proof, `blocks[${i}].proof`);
    });
    return w.render();
  },
  toJSON: (m) => ({
    command: 'dsdetected',
    version: m.version,
    blocks: m.blocks.map((b): Json => ({ headers: b.headers.map(blockHeaderToJSON), proof: merkleProofToJSON(b.proof) })),
  }),
  fromJSON(j) {
    const f = new JsonFields('dsdetected', j);
    return {
      command: 'dsdetected',
      version: f.number('version'),
      blocks: f.objects('blocks').map((b) => ({
        headers: b.objects('headers').map(blockHeaderFromJSON),
        proof: merkleProofFromJSON(b.object('proof')),
      })),
    };
  },
};

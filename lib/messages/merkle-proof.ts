import { EncodeError } from '../errors.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson, type JsonObject } from './json.js';
import { rootFromBranch } from './merkle.js';
import { readTransaction, transactionFromJSON, transactionToJSON, writeTransaction, type RawTransaction } from './transaction.js';

/** flags bit 0: the proof carries the whole transaction instead of its txid. */
export const PROOF_FLAG_FULL_TX = 0x01;
/** flags bits 1-2: what `target` is; 0 = block hash, 4 = merkle root. */
export const PROOF_TARGET_MASK = 0x06;
export const PROOF_TARGET_BLOCK_HASH = 0x00;
export const PROOF_TARGET_MERKLE_ROOT = 0x04;

/** One proof node. SV Node reads 32 bytes after every type and only emits type 0 (a hash). */
export interface MerkleProofNode {
  readonly type: number;
  /** Wire order. */
  readonly hash: Buffer;
}

/** A TSC Merkle proof as SV Node serialises it (PROTOCOL.md §3). */
export interface MerkleProof {
  /** Raw flags byte; bit 0 must agree with `txOrId`. */
  readonly flags: number;
  /** The transaction's position in the block. */
  readonly index: number;
  /** The whole transaction when `flags & 1`, otherwise its txid (wire order). */
  readonly txOrId: RawTransaction | Buffer;
  /** Block hash or merkle root (see flags), wire order. */
  readonly target: Buffer;
  readonly nodes: readonly MerkleProofNode[];
}

const NODE_SIZE = 33;
/** Smallest proof: flags 1 + index 1 + txid 32 + target 32 + node count 1. */
export const MIN_MERKLE_PROOF_SIZE = 67;

/** The proven txid, whichever form the proof carries. */
export function merkleProofTxid(proof: MerkleProof): Buffer {
  return Buffer.isBuffer(proof.txOrId) ? proof.txOrId : proof.txOrId.txid;
}

export function readMerkleProof(r: PayloadReader, field = 'proof'): MerkleProof {
  const flags = r.u8(`${field}.flags`);
  const index = r.varint(`${field}.index`);
  let txOrId: RawTransaction | Buffer;
  if (flags & PROOF_FLAG_FULL_TX) {
    const length = r.varint(`${field}.txLength`);
    const bytes = r.bytes(`${field}.tx`, length);
    // The declared length must hold exactly one transaction.
    const inner = new PayloadReader(bytes, r.command);
    txOrId = readTransaction(inner, `${field}.tx`);
    if (inner.remaining !== 0) r.fail(`${field}.tx`, 'invalid-value', `${inner.remaining} bytes after the transaction inside txLength`);
  } else {
    txOrId = r.hash(`${field}.txid`);
  }
  const target = r.hash(`${field}.target`);
  const nodes = r.list(
    `${field}.nodes`,
    NODE_SIZE,
    (i): MerkleProofNode => ({ type: r.u8(`${field}.nodes[${i}].type`), hash: r.hash(`${field}.nodes[${i}].hash`) }),
  );
  return { flags, index, txOrId, target, nodes };
}

export function writeMerkleProof(w: PayloadWriter, proof: MerkleProof, field = 'proof'): void {
  const fullTx = !Buffer.isBuffer(proof.txOrId);
  if (fullTx !== ((proof.flags & PROOF_FLAG_FULL_TX) !== 0)) {
    throw new EncodeError(w.command, `${field}.flags`, `bit 0 is ${proof.flags & 1} but txOrId is ${fullTx ? 'a transaction' : 'a txid'}`);
  }
  w.u8(`${field}.flags`, proof.flags).varint(`${field}.index`, proof.index);
  if (Buffer.isBuffer(proof.txOrId)) {
    w.hash(`${field}.txid`, proof.txOrId);
  } else {
    w.varint(`${field}.txLength`, proof.txOrId.raw.length);
    writeTransaction(w, proof.txOrId, `${field}.tx`);
  }
  w.hash(`${field}.target`, proof.target).list(`${field}.nodes`, proof.nodes, (node, i) => {
    w.u8(`${field}.nodes[${i}].type`, node.type).hash(`${field}.nodes[${i}].hash`, node.hash);
  });
}

export function merkleProofToJSON(proof: MerkleProof): JsonObject {
  return {
    flags: proof.flags,
    index: proof.index,
    ...(Buffer.isBuffer(proof.txOrId) ? { txid: toJson.hash(proof.txOrId) } : { tx: transactionToJSON(proof.txOrId) }),
    target: toJson.hash(proof.target),
    nodes: proof.nodes.map((n) => ({ type: n.type, hash: toJson.hash(n.hash) })),
  };
}

export function merkleProofFromJSON(f: JsonFields): MerkleProof {
  const flags = f.number('flags');
  return {
    flags,
    index: f.number('index'),
    txOrId: flags & PROOF_FLAG_FULL_TX ? transactionFromJSON(f.object('tx')) : f.hash('txid'),
    target: f.hash('target'),
    nodes: f.objects('nodes').map((n) => ({ type: n.number('type'), hash: n.hash('hash') })),
  };
}

/**
 * The merkle root a proof leads to (compare it with `target` or the block's merkle root).
 * Only type-0 nodes are understood, as in SV Node; other types throw RangeError.
 */
export function merkleProofRoot(proof: MerkleProof): Buffer {
  const branch = proof.nodes.map((n, i) => {
    if (n.type !== 0) throw new RangeError(`proof node ${i} has type ${n.type}; only type 0 is supported`);
    return n.hash;
  });
  return rootFromBranch(merkleProofTxid(proof), proof.index, branch);
}

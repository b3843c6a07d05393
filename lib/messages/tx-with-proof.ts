import type { PayloadReader } from '../encoding/reader.js';
import type { PayloadWriter } from '../encoding/writer.js';
import type { JsonFields, JsonObject } from './json.js';
import { merkleProofFromJSON, merkleProofToJSON, readMerkleProof, writeMerkleProof, type MerkleProof } from './merkle-proof.js';
import { readTransaction, transactionFromJSON, transactionToJSON, writeTransaction, type RawTransaction } from './transaction.js';

/** A transaction followed by a TSC Merkle proof of it (hdrsen parts, datareftx). */
export interface TransactionWithProof {
  readonly tx: RawTransaction;
  readonly proof: MerkleProof;
}

/** `field` prefixes the error field names; '' names them plain `tx` and `proof`. */
const sub = (field: string, name: string): string => (field ? `${field}.${name}` : name);

export function readTransactionWithProof(r: PayloadReader, field = ''): TransactionWithProof {
  return { tx: readTransaction(r, sub(field, 'tx')), proof: readMerkleProof(r, sub(field, 'proof')) };
}

export function writeTransactionWithProof(w: PayloadWriter, v: TransactionWithProof, field = ''): void {
  writeTransaction(w, v.tx, sub(field, 'tx'));
  writeMerkleProof(w, v.proof, sub(field, 'proof'));
}

export function transactionWithProofToJSON(v: TransactionWithProof): JsonObject {
  return { tx: transactionToJSON(v.tx), proof: merkleProofToJSON(v.proof) };
}

export function transactionWithProofFromJSON(f: JsonFields): TransactionWithProof {
  return { tx: transactionFromJSON(f.object('tx')), proof: merkleProofFromJSON(f.object('proof')) };
}

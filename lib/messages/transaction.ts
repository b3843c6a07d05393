/// <reference path="../../types/bsv.d.ts" preserve="true" />
import bsv from 'bsv';
import type { BlockHeader as BsvBlockHeader, Tx as BsvTx } from 'bsv';
import { DecodeError, EncodeError } from '../errors.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { sha256d } from '../hash.js';
import { encodeBlockHeader, type BlockHeader } from './block-header.js';
import { JsonFields, toJson, type JsonObject } from './json.js';
import { MIN_INPUT_SIZE, MIN_OUTPUT_SIZE, walkTx } from './tx-walk.js';

/**
 * A transaction as it travels: its exact bytes and its txid (wire order).
 * Nothing is parsed up front; `parseTransaction` or `toBsvTx` build objects on demand.
 * Decoded `raw` is a zero-copy view of the payload: copy it to keep one tx without the rest.
 */
export interface RawTransaction {
  readonly raw: Buffer;
  readonly txid: Buffer;
}

/** Wrap bytes already known to be exactly one transaction; computes the txid. */
export function rawTransaction(raw: Buffer): RawTransaction {
  return { raw, txid: sha256d(raw) };
}

/**
 * Read one transaction at the reader's position. Its end is found with walkTx,
 * bounded by the bytes left in the payload; the bytes are a zero-copy view.
 * Errors are DecodeErrors whose field is prefixed with `field`.
 */
export function readTransaction(r: PayloadReader, field = 'tx'): RawTransaction {
  const start = r.offset;
  const end = r.data.length;
  let stop: number;
  try {
    stop = walkTx(r.data, start, end, end, r.command);
  } catch (err) {
    if (err instanceof DecodeError) throw err.within(field);
    throw err;
  }
  if (stop < 0) r.fail(field, 'truncated', `transaction needs ${-stop - start} bytes, have ${end - start}`);
  return rawTransaction(r.bytes(field, stop - start));
}

/** Write a transaction's bytes, refusing bytes that are not exactly one transaction. */
export function writeTransaction(w: PayloadWriter, tx: RawTransaction, field = 'tx'): void {
  if (!Buffer.isBuffer(tx.raw)) throw new EncodeError(w.command, `${field}.raw`, 'not a Buffer');
  checkTransactionBytes(tx.raw, w.command, `${field}.raw`);
  w.bytes(field, tx.raw);
}

/** Throws EncodeError unless `raw` is exactly one well-formed transaction. */
function checkTransactionBytes(raw: Buffer, command: string, field: string): void {
  let stop: number;
  try {
    stop = walkTx(raw, 0, raw.length, raw.length, command);
  } catch (err) {
    if (err instanceof DecodeError) throw new EncodeError(command, field, `not a transaction: ${err.message}`);
    throw err;
  }
  if (stop !== raw.length) {
    throw new EncodeError(command, field, stop < 0 ? 'truncated transaction' : `${raw.length - stop} bytes after the transaction`);
  }
}

/** A transaction read as bytes from JSON (`raw` hex); the txid is recomputed, not trusted. */
export function transactionFromJSON(f: JsonFields, field = 'raw'): RawTransaction {
  const raw = f.bytes(field);
  checkTransactionBytes(raw, f.command, field);
  return rawTransaction(raw);
}

/** JSON form: the txid is informational (display hex); `raw` is what counts. */
export function transactionToJSON(tx: RawTransaction): JsonObject {
  return { txid: toJson.hash(tx.txid), raw: toJson.bytes(tx.raw) };
}

export interface TransactionInput {
  /** Wire order. */
  readonly prevTxid: Buffer;
  readonly vout: number;
  readonly script: Buffer;
  readonly sequence: number;
}

export interface TransactionOutput {
  /** Satoshis; read as a signed 64-bit value so any bytes round-trip. */
  readonly value: bigint;
  readonly script: Buffer;
}

/** A transaction's fields. Scripts and hashes are zero-copy views of the raw bytes. */
export interface ParsedTransaction {
  readonly version: number;
  readonly inputs: readonly TransactionInput[];
  readonly outputs: readonly TransactionOutput[];
  readonly lockTime: number;
}

/**
 * Build the structured form of a transaction, on demand. The bytes must be exactly
 * one transaction; counts are bounded by the bytes left before anything is allocated.
 */
export function parseTransaction(raw: Buffer | RawTransaction, command = 'tx'): ParsedTransaction {
  const r = new PayloadReader(Buffer.isBuffer(raw) ? raw : raw.raw, command);
  const version = r.i32('version');
  const inputs = r.list(
    'inputs',
    MIN_INPUT_SIZE,
    (i): TransactionInput => ({
      prevTxid: r.hash(`inputs[${i}].prevTxid`),
      vout: r.u32(`inputs[${i}].vout`),
      script: r.varBytes(`inputs[${i}].script`),
      sequence: r.u32(`inputs[${i}].sequence`),
    }),
  );
  const outputs = r.list(
    'outputs',
    MIN_OUTPUT_SIZE,
    (i): TransactionOutput => ({ value: r.i64(`outputs[${i}].value`), script: r.varBytes(`outputs[${i}].script`) }),
  );
  const lockTime = r.u32('lockTime');
  r.end();
  return { version, inputs, outputs, lockTime };
}

/** The wire serialisation of a structured transaction. */
export function serializeTransaction(tx: ParsedTransaction, command = 'tx'): Buffer {
  const w = new PayloadWriter(command);
  w.i32('version', tx.version);
  w.list('inputs', tx.inputs, (input, i) => {
    w.hash(`inputs[${i}].prevTxid`, input.prevTxid)
      .u32(`inputs[${i}].vout`, input.vout)
      .varBytes(`inputs[${i}].script`, input.script)
      .u32(`inputs[${i}].sequence`, input.sequence);
  });
  w.list('outputs', tx.outputs, (output, i) => {
    w.i64(`outputs[${i}].value`, output.value).varBytes(`outputs[${i}].script`, output.script);
  });
  w.u32('lockTime', tx.lockTime);
  return w.render();
}

/** A `bsv` 2.x Tx for signing, scripts and the like. Built on demand from the raw bytes. */
export function toBsvTx(tx: RawTransaction | Buffer): BsvTx {
  return bsv.Tx.fromBuffer(Buffer.isBuffer(tx) ? tx : tx.raw);
}

/** A `bsv` 2.x BlockHeader with the same 80 bytes. */
export function toBsvBlockHeader(header: BlockHeader): BsvBlockHeader {
  return bsv.BlockHeader.fromBuffer(encodeBlockHeader(header));
}

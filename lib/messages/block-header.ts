import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { sha256d } from '../hash.js';
import { JsonFields, toJson, type JsonObject } from './json.js';

export const BLOCK_HEADER_SIZE = 80;

/** An 80-byte block header; hashes in wire order. */
export interface BlockHeader {
  readonly version: number;
  readonly prevBlock: Buffer;
  readonly merkleRoot: Buffer;
  readonly timestamp: number;
  readonly bits: number;
  readonly nonce: number;
}

export function readBlockHeader(r: PayloadReader, field = 'header'): BlockHeader {
  return {
    version: r.i32(`${field}.version`),
    prevBlock: r.hash(`${field}.prevBlock`),
    merkleRoot: r.hash(`${field}.merkleRoot`),
    timestamp: r.u32(`${field}.timestamp`),
    bits: r.u32(`${field}.bits`),
    nonce: r.u32(`${field}.nonce`),
  };
}

export function writeBlockHeader(w: PayloadWriter, h: BlockHeader, field = 'header'): void {
  w.i32(`${field}.version`, h.version)
    .hash(`${field}.prevBlock`, h.prevBlock)
    .hash(`${field}.merkleRoot`, h.merkleRoot)
    .u32(`${field}.timestamp`, h.timestamp)
    .u32(`${field}.bits`, h.bits)
    .u32(`${field}.nonce`, h.nonce);
}

export function encodeBlockHeader(h: BlockHeader): Buffer {
  const w = new PayloadWriter('header');
  writeBlockHeader(w, h);
  return w.render();
}

export function decodeBlockHeader(bytes: Buffer, command = 'header'): BlockHeader {
  return readBlockHeader(new PayloadReader(bytes, command));
}

/** Block hash in wire order (sha256d of the 80 header bytes). */
export function blockHash(h: BlockHeader): Buffer {
  return sha256d(encodeBlockHeader(h));
}

export function blockHeaderToJSON(h: BlockHeader): JsonObject {
  return {
    hash: toJson.hash(blockHash(h)),
    version: h.version,
    prevBlock: toJson.hash(h.prevBlock),
    merkleRoot: toJson.hash(h.merkleRoot),
    timestamp: h.timestamp,
    bits: h.bits,
    nonce: h.nonce,
  };
}

/** The `hash` field of the JSON form is informational and ignored on the way back. */
export function blockHeaderFromJSON(f: JsonFields): BlockHeader {
  return {
    version: f.number('version'),
    prevBlock: f.hash('prevBlock'),
    merkleRoot: f.hash('merkleRoot'),
    timestamp: f.number('timestamp'),
    bits: f.number('bits'),
    nonce: f.number('nonce'),
  };
}

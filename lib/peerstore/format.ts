import { sha256 } from '../hash.js';
import type { AddressTable, BanEntry, StoreSnapshot, StoredAddress } from './types.js';

/**
 * The peers file: one header line, then a JSON body.
 *
 *   BSV-WIRE-PEERSTORE <version> <body length in bytes> <sha256 of the body, hex>\n
 *   {"key":"…","savedAt":…,"addresses":[…],"bans":[…]}
 *
 * The length catches truncation, the checksum catches any other damage, and the version lets a
 * newer format be recognised (and left alone) rather than misread.
 */
export const PEERSTORE_FILE_MAGIC = 'BSV-WIRE-PEERSTORE';
export const PEERSTORE_FORMAT_VERSION = 1;

/** Why a peers file was refused. */
export type PeerStoreFileReason =
  | 'empty'
  | 'bad-header'
  | 'unsupported-version'
  | 'truncated'
  | 'trailing-bytes'
  | 'bad-checksum'
  | 'bad-body'
  | 'too-large';

export class PeerStoreFileError extends Error {
  override readonly name = 'PeerStoreFileError';
  constructor(
    readonly reason: PeerStoreFileReason,
    detail: string,
    /** The format version the header declares, when it could be read. */
    readonly version?: number,
  ) {
    super(`peers file: ${reason} (${detail})`);
  }
}

const MAX_HEADER_BYTES = 200;
const MAX_TEXT = 1024;

export function encodePeerStoreFile(snapshot: StoreSnapshot): Buffer {
  const body = Buffer.from(
    JSON.stringify({
      key: snapshot.key.toString('hex'),
      savedAt: snapshot.savedAt,
      addresses: snapshot.addresses.map((a) => ({
        host: a.host,
        port: a.port,
        services: a.services.toString(10),
        lastSeen: a.lastSeen,
        lastTry: a.lastTry,
        lastSuccess: a.lastSuccess,
        attempts: a.attempts,
        source: a.source,
        table: a.table,
      })),
      bans: snapshot.bans,
    }),
    'utf8',
  );
  const header = `${PEERSTORE_FILE_MAGIC} ${PEERSTORE_FORMAT_VERSION} ${body.length} ${sha256(body).toString('hex')}\n`;
  return Buffer.concat([Buffer.from(header, 'ascii'), body]);
}

/** Checks and parses a peers file; any damage is a PeerStoreFileError, never anything else. */
export function decodePeerStoreFile(data: Buffer): StoreSnapshot {
  if (data.length === 0) throw new PeerStoreFileError('empty', 'zero bytes');
  const newline = data.subarray(0, MAX_HEADER_BYTES).indexOf(0x0a);
  if (newline < 0) throw new PeerStoreFileError('bad-header', 'no header line');
  const header = data.subarray(0, newline).toString('latin1');
  const words = header.split(' ');
  if (words[0] !== PEERSTORE_FILE_MAGIC || words.length < 2 || !/^\d{1,9}$/.test(words[1])) {
    throw new PeerStoreFileError('bad-header', 'not a bsv-wire peers file');
  }
  const version = Number(words[1]);
  if (version !== PEERSTORE_FORMAT_VERSION) {
    throw new PeerStoreFileError('unsupported-version', `version ${version}, this build reads ${PEERSTORE_FORMAT_VERSION}`, version);
  }
  if (words.length !== 4 || !/^\d{1,12}$/.test(words[2]) || !/^[0-9a-f]{64}$/.test(words[3])) {
    throw new PeerStoreFileError('bad-header', `malformed header ${JSON.stringify(header.slice(0, 120))}`, version);
  }
  const declared = Number(words[2]);
  const body = data.subarray(newline + 1);
  if (body.length < declared) throw new PeerStoreFileError('truncated', `body has ${body.length} of ${declared} bytes`, version);
  if (body.length > declared) throw new PeerStoreFileError('trailing-bytes', `body has ${body.length} bytes, header says ${declared}`, version);
  if (!sha256(body).equals(Buffer.from(words[3], 'hex'))) throw new PeerStoreFileError('bad-checksum', 'body does not match its sha256', version);

  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new PeerStoreFileError('bad-body', `JSON: ${(err as Error).message}`, version);
  }
  return parseBody(parsed, version);
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(field: string, version: number): never {
  throw new PeerStoreFileError('bad-body', `invalid ${field}`, version);
}

function time(o: Obj, field: string, where: string, version: number): number {
  const v = o[field];
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : bad(`${where}.${field}`, version);
}

function text(o: Obj, field: string, where: string, version: number): string {
  const v = o[field];
  return typeof v === 'string' && v.length <= MAX_TEXT ? v : bad(`${where}.${field}`, version);
}

function parseBody(parsed: unknown, version: number): StoreSnapshot {
  if (!isObj(parsed)) bad('body', version);
  const keyHex = parsed.key;
  if (typeof keyHex !== 'string' || !/^([0-9a-f]{2}){16,64}$/.test(keyHex)) bad('key', version);
  if (!Array.isArray(parsed.addresses)) bad('addresses', version);
  if (!Array.isArray(parsed.bans)) bad('bans', version);

  const addresses = parsed.addresses.map((raw, i): StoredAddress => {
    const where = `addresses[${i}]`;
    if (!isObj(raw)) bad(where, version);
    const port = raw.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) bad(`${where}.port`, version);
    const services = raw.services;
    if (typeof services !== 'string' || !/^\d{1,20}$/.test(services) || BigInt(services) >= 1n << 64n) bad(`${where}.services`, version);
    const table = raw.table;
    if (table !== 'new' && table !== 'tried') bad(`${where}.table`, version);
    return {
      host: text(raw, 'host', where, version),
      port,
      services: BigInt(services),
      lastSeen: time(raw, 'lastSeen', where, version),
      lastTry: time(raw, 'lastTry', where, version),
      lastSuccess: time(raw, 'lastSuccess', where, version),
      attempts: time(raw, 'attempts', where, version),
      source: text(raw, 'source', where, version),
      table: table as AddressTable,
    };
  });
  const bans = parsed.bans.map((raw, i): BanEntry => {
    const where = `bans[${i}]`;
    if (!isObj(raw)) bad(where, version);
    return {
      subnet: text(raw, 'subnet', where, version),
      reason: text(raw, 'reason', where, version),
      createdAt: time(raw, 'createdAt', where, version),
      expiresAt: time(raw, 'expiresAt', where, version),
    };
  });
  return { key: Buffer.from(keyHex, 'hex'), savedAt: time(parsed, 'savedAt', 'body', version), addresses, bans };
}

import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { DecodeError, EncodeError } from '../errors.js';
import { JsonFields, toJson, type JsonObject } from './json.js';
import { netAddressFromJSON, netAddressToJSON, readNetAddress, writeNetAddress, type NetAddress } from './net-address.js';

/** MAX_SUBVERSION_LENGTH: a longer user agent makes the node drop the connection. */
export const MAX_USER_AGENT_LENGTH = 256;
/** Association IDs travel as var_bytes of at most this many bytes (§3). */
export const MAX_ASSOCIATION_ID_LENGTH = 129;
/** The only association ID type the node knows: a 16-byte UUID. */
export const ASSOCIATION_ID_TYPE_UUID = 0;

/**
 * `version` (PROTOCOL.md §6.2). Fields after `addrRecv` are optional, but only as
 * trailing groups, exactly as the node reads them: addrFrom+nonce, userAgent,
 * startHeight, relay, associationId. An absent group is an absent field; every
 * group before a present one must be present. `extra` keeps any bytes after the
 * association ID so that the round trip is exact.
 */
export interface VersionMessage {
  readonly command: 'version';
  /** int32; the node sends 70016. */
  readonly version: number;
  readonly services: bigint;
  /** int64 Unix seconds. */
  readonly timestamp: bigint;
  readonly addrRecv: NetAddress;
  readonly addrFrom?: NetAddress;
  /** Present exactly when addrFrom is. */
  readonly nonce?: bigint;
  readonly userAgent?: string;
  /** int32; the node assumes -1 when absent. */
  readonly startHeight?: number;
  /** The node assumes true when absent. */
  readonly relay?: boolean;
  /** Raw var_bytes content (≤ 129 bytes); see parseAssociationId. */
  readonly associationId?: Buffer;
  /** Unknown bytes after the association ID, kept for an exact round trip. */
  readonly extra?: Buffer;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const command = 'version';

export const versionCodec: MessageCodec<VersionMessage> = {
  command,
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, command);
    const m: Mutable<VersionMessage> = {
      command,
      version: r.i32('version'),
      services: r.u64('services'),
      timestamp: r.i64('timestamp'),
      addrRecv: readNetAddress(r, 'addrRecv'),
    };
    // Each group is read only if bytes remain, as ProcessVersionMessage does.
    if (r.remaining === 0) return m;
    m.addrFrom = readNetAddress(r, 'addrFrom');
    m.nonce = r.u64('nonce');
    if (r.remaining === 0) return m;
    m.userAgent = r.varStr('userAgent', MAX_USER_AGENT_LENGTH);
    if (r.remaining === 0) return m;
    m.startHeight = r.i32('startHeight');
    if (r.remaining === 0) return m;
    m.relay = r.bool('relay');
    if (r.remaining === 0) return m;
    m.associationId = r.varBytes('associationId', MAX_ASSOCIATION_ID_LENGTH);
    if (r.remaining === 0) return m;
    m.extra = r.rest();
    return m;
  },
  encode(m) {
    checkGroups(m);
    const w = new PayloadWriter(command)
      .i32('version', m.version)
      .u64('services', m.services)
      .i64('timestamp', m.timestamp);
    writeNetAddress(w, m.addrRecv, 'addrRecv');
    if (m.addrFrom !== undefined && m.nonce !== undefined) {
      writeNetAddress(w, m.addrFrom, 'addrFrom');
      w.u64('nonce', m.nonce);
    }
    if (m.userAgent !== undefined) w.varStr('userAgent', m.userAgent, MAX_USER_AGENT_LENGTH);
    if (m.startHeight !== undefined) w.i32('startHeight', m.startHeight);
    if (m.relay !== undefined) w.bool('relay', m.relay);
    if (m.associationId !== undefined) w.varBytes('associationId', m.associationId, MAX_ASSOCIATION_ID_LENGTH);
    if (m.extra !== undefined) w.bytes('extra', m.extra);
    return w.render();
  },
  toJSON(m) {
    const j: JsonObject = {
      command,
      version: m.version,
      services: toJson.big(m.services),
      timestamp: toJson.big(m.timestamp),
      addrRecv: netAddressToJSON(m.addrRecv),
    };
    if (m.addrFrom !== undefined) j.addrFrom = netAddressToJSON(m.addrFrom);
    if (m.nonce !== undefined) j.nonce = toJson.big(m.nonce);
    if (m.userAgent !== undefined) j.userAgent = m.userAgent;
    if (m.startHeight !== undefined) j.startHeight = m.startHeight;
    if (m.relay !== undefined) j.relay = m.relay;
    if (m.associationId !== undefined) j.associationId = toJson.bytes(m.associationId);
    if (m.extra !== undefined) j.extra = toJson.bytes(m.extra);
    return j;
  },
  fromJSON(json) {
    const f = new JsonFields(command, json);
    const m: Mutable<VersionMessage> = {
      command,
      version: f.number('version'),
      services: f.big('services'),
      timestamp: f.big('timestamp'),
      addrRecv: netAddressFromJSON(f.object('addrRecv'), 'addrRecv'),
    };
    if (f.has('addrFrom')) m.addrFrom = netAddressFromJSON(f.object('addrFrom'), 'addrFrom');
    if (f.has('nonce')) m.nonce = f.big('nonce');
    if (f.has('userAgent')) m.userAgent = f.string('userAgent');
    if (f.has('startHeight')) m.startHeight = f.number('startHeight');
    if (f.has('relay')) m.relay = f.boolean('relay');
    if (f.has('associationId')) m.associationId = f.bytes('associationId');
    if (f.has('extra')) m.extra = f.bytes('extra');
    return m;
  },
};

/** Refuses a message whose optional fields could not be read back the same way. */
function checkGroups(m: VersionMessage): void {
  if ((m.addrFrom === undefined) !== (m.nonce === undefined)) {
    throw new EncodeError(command, m.addrFrom === undefined ? 'addrFrom' : 'nonce', 'addrFrom and nonce go together');
  }
  const groups: [string, unknown][] = [
    ['addrFrom', m.addrFrom],
    ['userAgent', m.userAgent],
    ['startHeight', m.startHeight],
    ['relay', m.relay],
    ['associationId', m.associationId],
    ['extra', m.extra],
  ];
  let last = -1;
  groups.forEach(([, v], i) => {
    if (v !== undefined) last = i;
  });
  for (let i = 0; i < last; i++) {
    const [name, v] = groups[i]!;
    if (v === undefined) throw new EncodeError(command, name, `required because ${groups[last]![0]} is present`);
  }
  if (m.extra !== undefined && m.extra.length === 0) throw new EncodeError(command, 'extra', 'empty: omit it instead');
}

/** What an association ID means to the node (§3). */
export type AssociationId = { readonly kind: 'null' } | { readonly kind: 'uuid'; readonly uuid: Buffer };

/**
 * Interprets the raw association ID bytes the way the node does: 0 or 1 bytes is a null ID
 * ("supports streams but disabled"); otherwise type byte 0 followed by exactly 16 UUID bytes.
 * Anything else makes the node reject the version with 0x60 and disconnect; here it is a DecodeError.
 */
export function parseAssociationId(bytes: Buffer, commandName = command): AssociationId {
  if (bytes.length <= 1) return { kind: 'null' };
  if (bytes[0] !== ASSOCIATION_ID_TYPE_UUID) {
    throw new DecodeError(commandName, 'associationId', 'invalid-value', `unknown association ID type ${bytes[0]}`);
  }
  if (bytes.length !== 17) {
    throw new DecodeError(commandName, 'associationId', 'invalid-value', `UUID of ${bytes.length - 1} bytes, expected 16`);
  }
  return { kind: 'uuid', uuid: bytes.subarray(1) };
}

/** The wire bytes of a UUID association ID: type 0 then the 16 UUID bytes. */
export function uuidAssociationId(uuid: Buffer): Buffer {
  if (uuid.length !== 16) throw new RangeError(`a UUID is 16 bytes, got ${uuid.length}`);
  return Buffer.concat([Buffer.from([ASSOCIATION_ID_TYPE_UUID]), uuid]);
}

import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields } from './json.js';
import {
  BLOCK_HEADER_SIZE,
  blockHeaderFromJSON,
  blockHeaderToJSON,
  readBlockHeader,
  writeBlockHeader,
  type BlockHeader,
} from './block-header.js';

/**
 * MAX_HEADERS_RESULTS: the node sends at most this many, and more earns 20 misbehaviour
 * points. Policy for the peer layer: the codec decodes any count that fits the payload.
 */
export const MAX_HEADERS_PER_MESSAGE = 2000;

/**
 * A header plus the transaction count that follows it on the wire. The node sends 0 and
 * ignores the value on receipt; it is kept so that the round trip is exact.
 */
export interface HeadersEntry extends BlockHeader {
  readonly txCount: number;
}

/** `headers` (PROTOCOL.md §6.7): varint count | count × (80-byte header | varint txCount). */
export interface HeadersMessage {
  readonly command: 'headers';
  readonly headers: readonly HeadersEntry[];
}

const command = 'headers';

export const headersCodec: MessageCodec<HeadersMessage> = {
  command,
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, command);
    const n = r.count('count', BLOCK_HEADER_SIZE + 1);
    const headers: HeadersEntry[] = new Array<HeadersEntry>(n);
    // A sync decodes a million of these: whole entries with a one-byte tx count (all the node sends) are read
    // straight from the payload, one object each, with no field names built; anything else takes the checked path.
    let at = r.offset;
    let i = 0;
    while (i < n && at + BLOCK_HEADER_SIZE < payload.length && payload[at + BLOCK_HEADER_SIZE]! < 0xfd) {
      headers[i++] = {
        version: payload.readInt32LE(at),
        prevBlock: payload.subarray(at + 4, at + 36),
        merkleRoot: payload.subarray(at + 36, at + 68),
        timestamp: payload.readUInt32LE(at + 68),
        bits: payload.readUInt32LE(at + 72),
        nonce: payload.readUInt32LE(at + 76),
        txCount: payload[at + BLOCK_HEADER_SIZE]!,
      };
      at += BLOCK_HEADER_SIZE + 1;
    }
    r.skip('headers', at - r.offset);
    for (; i < n; i++) headers[i] = { ...readBlockHeader(r, `headers[${i}]`), txCount: r.varint(`headers[${i}].txCount`) };
    r.end();
    return { command, headers };
  },
  encode(m) {
    const w = new PayloadWriter(command);
    w.list('count', m.headers, (h, i) => {
      writeBlockHeader(w, h, `headers[${i}]`);
      w.varint(`headers[${i}].txCount`, h.txCount);
    });
    return w.render();
  },
  toJSON: (m) => ({ command, headers: m.headers.map((h) => ({ ...blockHeaderToJSON(h), txCount: h.txCount })) }),
  fromJSON(json) {
    const f = new JsonFields(command, json);
    return { command, headers: f.objects('headers').map((h) => ({ ...blockHeaderFromJSON(h), txCount: h.number('txCount') })) };
  },
};

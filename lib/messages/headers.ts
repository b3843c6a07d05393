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
    const headers = r.list(
      'count',
      BLOCK_HEADER_SIZE + 1,
      (i): HeadersEntry => ({ ...readBlockHeader(r, `headers[${i}]`), txCount: r.varint(`headers[${i}].txCount`) }),
    );
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

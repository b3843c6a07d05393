import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson, type JsonObject } from './json.js';

/**
 * `mempool` (PROTOCOL.md §6.9) has three wire forms, told apart by `age`:
 * - `age` absent (undefined): the legacy empty payload;
 * - `age: null`: the extended form without an age, `optional<i64>` flag byte 0x00;
 * - `age: bigint`: the extended form with an age in seconds, flag 0x01 then i64.
 * The code's flag byte wins over the spec's flag-less layout. A default node disconnects
 * a non-whitelisted peer that sends the legacy or no-age form.
 */
export interface MempoolMessage {
  readonly command: 'mempool';
  readonly age?: bigint | null;
}

const command = 'mempool';

export const mempoolCodec: MessageCodec<MempoolMessage> = {
  command,
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, command);
    if (r.remaining === 0) return { command };
    const hasAge = r.bool('hasAge');
    const age = hasAge ? r.i64('age') : null;
    r.end();
    return { command, age };
  },
  encode(m) {
    const w = new PayloadWriter(command);
    if (m.age === null) w.bool('hasAge', false);
    else if (m.age !== undefined) w.bool('hasAge', true).i64('age', m.age);
    return w.render();
  },
  toJSON(m) {
    const j: JsonObject = { command };
    if (m.age !== undefined) j.age = m.age === null ? null : toJson.big(m.age);
    return j;
  },
  fromJSON(json) {
    const f = new JsonFields(command, json);
    if (!f.has('age')) return { command };
    return { command, age: f.raw('age') === null ? null : f.big('age') };
  },
};

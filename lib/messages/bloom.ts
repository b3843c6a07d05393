import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson } from './json.js';

/** MAX_BLOOM_FILTER_SIZE: filterload's filter read limit. */
export const MAX_BLOOM_FILTER_SIZE = 36_000;
/** MAX_HASH_FUNCS: the node gives 100 points above it; policy, not a decode error. */
export const MAX_BLOOM_HASH_FUNCS = 50;
/** MAX_SCRIPT_ELEMENT_SIZE before Genesis: filteradd's data read limit. */
export const MAX_FILTER_ADD_SIZE = 520;

/** BIP37 nFlags values. */
export const BLOOM_UPDATE_NONE = 0;
export const BLOOM_UPDATE_ALL = 1;
export const BLOOM_UPDATE_P2PUBKEY_ONLY = 2;

/**
 * `filterload` (BIP37): var_bytes filter (≤ 36,000) | u32 hashFuncs | u32 tweak | u8 flags.
 * Sending it to a node without NODE_BLOOM (the default) gets you banned.
 */
export interface FilterLoadMessage {
  readonly command: 'filterload';
  readonly filter: Buffer;
  readonly hashFuncs: number;
  readonly tweak: number;
  readonly flags: number;
}

/** `filteradd`: var_bytes data (≤ 520). */
export interface FilterAddMessage {
  readonly command: 'filteradd';
  readonly data: Buffer;
}

export const filterLoadCodec: MessageCodec<FilterLoadMessage> = {
  command: 'filterload',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'filterload');
    const m: FilterLoadMessage = {
      command: 'filterload',
      filter: r.varBytes('filter', MAX_BLOOM_FILTER_SIZE),
      hashFuncs: r.u32('hashFuncs'),
      tweak: r.u32('tweak'),
      flags: r.u8('flags'),
    };
    r.end();
    return m;
  },
  encode: (m) =>
    new PayloadWriter('filterload')
      .varBytes('filter', m.filter, MAX_BLOOM_FILTER_SIZE)
      .u32('hashFuncs', m.hashFuncs)
      .u32('tweak', m.tweak)
      .u8('flags', m.flags)
      .render(),
  toJSON: (m) => ({
    command: 'filterload',
    filter: toJson.bytes(m.filter),
    hashFuncs: m.hashFuncs,
    tweak: m.tweak,
    flags: m.flags,
  }),
  fromJSON(json) {
    const f = new JsonFields('filterload', json);
    return {
      command: 'filterload',
      filter: f.bytes('filter'),
      hashFuncs: f.number('hashFuncs'),
      tweak: f.number('tweak'),
      flags: f.number('flags'),
    };
  },
};

export const filterAddCodec: MessageCodec<FilterAddMessage> = {
  command: 'filteradd',
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, 'filteradd');
    const data = r.varBytes('data', MAX_FILTER_ADD_SIZE);
    r.end();
    return { command: 'filteradd', data };
  },
  encode: (m) => new PayloadWriter('filteradd').varBytes('data', m.data, MAX_FILTER_ADD_SIZE).render(),
  toJSON: (m) => ({ command: 'filteradd', data: toJson.bytes(m.data) }),
  fromJSON: (json) => ({ command: 'filteradd', data: new JsonFields('filteradd', json).bytes('data') }),
};

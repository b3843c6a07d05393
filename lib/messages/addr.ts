import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields } from './json.js';
import { NET_ADDRESS_SIZE, netAddressFromJSON, netAddressToJSON, readNetAddress, writeNetAddress, type NetAddress } from './net-address.js';

/** Bytes of one addr entry: time u32 | services u64 | ip 16 | port u16 BE. */
export const ADDR_ENTRY_SIZE = 4 + NET_ADDRESS_SIZE;
/**
 * The node's per-message cap. A peer sending more earns 20 misbehaviour points and the
 * message is ignored; that is policy for the peer layer, so the codec decodes any count that fits.
 */
export const MAX_ADDR_PER_MESSAGE = 1000;

/** One address (`ip`: 16 bytes, IPv6 or IPv4-mapped) with the time it was last seen (Unix seconds, u32). */
export interface AddrEntry extends NetAddress {
  readonly time: number;
}

/** `addr` (PROTOCOL.md §6.5): varint count | count × 30-byte entries. */
export interface AddrMessage {
  readonly command: 'addr';
  readonly addresses: readonly AddrEntry[];
}

const command = 'addr';

export const addrCodec: MessageCodec<AddrMessage> = {
  command,
  limit: 'default',
  decode(payload) {
    const r = new PayloadReader(payload, command);
    const addresses = r.list(
      'count',
      ADDR_ENTRY_SIZE,
      (i): AddrEntry => ({ time: r.u32(`addresses[${i}].time`), ...readNetAddress(r, `addresses[${i}]`) }),
    );
    r.end();
    return { command, addresses };
  },
  encode(m) {
    const w = new PayloadWriter(command);
    w.list('count', m.addresses, (a, i) => {
      w.u32(`addresses[${i}].time`, a.time);
      writeNetAddress(w, a, `addresses[${i}]`);
    });
    return w.render();
  },
  toJSON: (m) => ({
    command,
    addresses: m.addresses.map((a) => ({ time: a.time, ...netAddressToJSON(a) })),
  }),
  fromJSON(json) {
    const f = new JsonFields(command, json);
    return {
      command,
      addresses: f.objects('addresses').map((e, i) => ({ time: e.number('time'), ...netAddressFromJSON(e, `addresses[${i}]`) })),
    };
  },
};

import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson } from './json.js';

/** Inventory types (PROTOCOL.md §1.4). */
export const MSG_UNDEFINED = 0;
export const MSG_TX = 1;
export const MSG_BLOCK = 2;
export const MSG_FILTERED_BLOCK = 3;
export const MSG_CMPCT_BLOCK = 4;
export const MSG_DATAREF_TX = 5;

const typeNames: Record<number, string> = {
  [MSG_UNDEFINED]: 'MSG_UNDEFINED',
  [MSG_TX]: 'MSG_TX',
  [MSG_BLOCK]: 'MSG_BLOCK',
  [MSG_FILTERED_BLOCK]: 'MSG_FILTERED_BLOCK',
  [MSG_CMPCT_BLOCK]: 'MSG_CMPCT_BLOCK',
  [MSG_DATAREF_TX]: 'MSG_DATAREF_TX',
};

/** "MSG_TX", ..., or "unknown(7)". */
export function inventoryTypeName(type: number): string {
  return typeNames[type] ?? `unknown(${type})`;
}

/** Bytes of one entry: u32 type | 32-byte hash. */
export const INVENTORY_ENTRY_SIZE = 36;

/**
 * One inventory vector. `type` is any u32: the node disconnects on an `inv` with a type
 * other than MSG_TX/MSG_BLOCK and skips unknown `getdata` types, which is the peer layer's call.
 */
export interface InventoryEntry {
  readonly type: number;
  /** Wire order. */
  readonly hash: Buffer;
}

type InventoryCommand = 'inv' | 'getdata' | 'notfound';
export interface InventoryMessage<C extends InventoryCommand> {
  readonly command: C;
  readonly inventory: readonly InventoryEntry[];
}
/** `inv`, `getdata`, `notfound` (PROTOCOL.md §6.6): varint count | count × 36 bytes. No count cap besides the payload size. */
export type InvMessage = InventoryMessage<'inv'>;
export type GetDataMessage = InventoryMessage<'getdata'>;
export type NotFoundMessage = InventoryMessage<'notfound'>;

function inventoryCodec<C extends InventoryCommand>(command: C): MessageCodec<InventoryMessage<C>> {
  return {
    command,
    limit: 'default',
    decode(payload) {
      const r = new PayloadReader(payload, command);
      const inventory = r.list(
        'count',
        INVENTORY_ENTRY_SIZE,
        (i): InventoryEntry => ({ type: r.u32(`inventory[${i}].type`), hash: r.hash(`inventory[${i}].hash`) }),
      );
      r.end();
      return { command, inventory };
    },
    encode(m) {
      const w = new PayloadWriter(command);
      return w.list('count', m.inventory, (e, i) => w.u32(`inventory[${i}].type`, e.type).hash(`inventory[${i}].hash`, e.hash)).render();
    },
    // typeName is for people reading the JSON; fromJSON uses the number.
    toJSON: (m) => ({
      command,
      inventory: m.inventory.map((e) => ({ type: e.type, typeName: inventoryTypeName(e.type), hash: toJson.hash(e.hash) })),
    }),
    fromJSON(json) {
      const f = new JsonFields(command, json);
      return { command, inventory: f.objects('inventory').map((e) => ({ type: e.number('type'), hash: e.hash('hash') })) };
    },
  };
}

export const invCodec: MessageCodec<InvMessage> = inventoryCodec('inv');
export const getDataCodec: MessageCodec<GetDataMessage> = inventoryCodec('getdata');
export const notFoundCodec: MessageCodec<NotFoundMessage> = inventoryCodec('notfound');

import type { MessageCodec } from './codec.js';
import { PayloadReader } from '../encoding/reader.js';
import { PayloadWriter } from '../encoding/writer.js';
import { JsonFields, toJson } from './json.js';

type LocatorCommand = 'getblocks' | 'getheaders' | 'gethdrsen';

/**
 * A block locator request (PROTOCOL.md §3): version i32 (the sender's protocol version,
 * ignored by the receiver) | varint count | count × 32-byte hashes | 32-byte hashStop.
 * The node imposes no locator length limit beyond the payload size. An all-zero hashStop means "as many as allowed".
 */
export interface LocatorMessage<C extends LocatorCommand> {
  readonly command: C;
  readonly version: number;
  /** Wire order, newest first. */
  readonly locator: readonly Buffer[];
  readonly hashStop: Buffer;
}
export type GetBlocksMessage = LocatorMessage<'getblocks'>;
export type GetHeadersMessage = LocatorMessage<'getheaders'>;
export type GetHdrsEnMessage = LocatorMessage<'gethdrsen'>;

function locatorCodec<C extends LocatorCommand>(command: C): MessageCodec<LocatorMessage<C>> {
  return {
    command,
    limit: 'default',
    decode(payload) {
      const r = new PayloadReader(payload, command);
      const version = r.i32('version');
      // Each locator hash is 32 bytes and hashStop follows, so bound the count before allocating.
      const locator = r.list('count', 32, (i) => r.hash(`locator[${i}]`));
      const hashStop = r.hash('hashStop');
      r.end();
      return { command, version, locator, hashStop };
    },
    encode(m) {
      const w = new PayloadWriter(command).i32('version', m.version);
      return w.list('count', m.locator, (h, i) => w.hash(`locator[${i}]`, h)).hash('hashStop', m.hashStop).render();
    },
    toJSON: (m) => ({
      command,
      version: m.version,
      locator: m.locator.map(toJson.hash),
      hashStop: toJson.hash(m.hashStop),
    }),
    fromJSON(json) {
      const f = new JsonFields(command, json);
      return { command, version: f.number('version'), locator: f.hashes('locator'), hashStop: f.hash('hashStop') };
    },
  };
}

export const getBlocksCodec: MessageCodec<GetBlocksMessage> = locatorCodec('getblocks');
export const getHeadersCodec: MessageCodec<GetHeadersMessage> = locatorCodec('getheaders');
export const getHdrsEnCodec: MessageCodec<GetHdrsEnMessage> = locatorCodec('gethdrsen');

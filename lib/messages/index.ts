import type { MessageCodec, PayloadLimitClass } from './codec.js';
import { coreCodecs, type CoreMessage } from './core.js';
import { dataCodecs, type DataMessage } from './data.js';
import { JsonFields, toJson, type JsonObject } from './json.js';

/** A command no codec knows. Never an error: it reaches the app as it arrived. */
export interface UnknownMessage {
  readonly command: 'unknown';
  readonly name: string;
  readonly payload: Buffer;
}

/** Every message bsv-wire knows, as a discriminated union on `command`. */
export type Message = CoreMessage | DataMessage | UnknownMessage;
export type KnownMessage = CoreMessage | DataMessage;
export type Command = KnownMessage['command'];
export type MessageOf<C extends Message['command']> = Extract<Message, { command: C }>;

const codecs = new Map<string, MessageCodec<KnownMessage>>();
for (const codec of [...coreCodecs, ...dataCodecs] as MessageCodec<KnownMessage>[]) {
  if (codecs.has(codec.command)) throw new Error(`duplicate codec for ${codec.command}`);
  codecs.set(codec.command, codec);
}

/** The registry: command name -> codec. */
export const messageCodecs: ReadonlyMap<string, MessageCodec<KnownMessage>> = codecs;

export function codecFor(command: string): MessageCodec<KnownMessage> | undefined {
  return codecs.get(command);
}

/** The size-limit class the framer applies; unknown commands get the default limit, as in the node. */
export function limitClassOf(command: string): PayloadLimitClass {
  return codecs.get(command)?.limit ?? 'default';
}

/** Decode a payload for its command. Unknown commands decode to `{ command: 'unknown' }`. */
export function decodeMessage(command: string, payload: Buffer): Message {
  const codec = codecs.get(command);
  if (!codec) return { command: 'unknown', name: command, payload };
  return codec.decode(payload);
}

/** Encode a message to its wire command and payload. */
export function encodeMessage(message: Message): { command: string; payload: Buffer } {
  if (message.command === 'unknown') return { command: message.name, payload: message.payload };
  const codec = codecs.get(message.command);
  if (!codec) throw new RangeError(`no codec for ${message.command}`);
  return { command: message.command, payload: codec.encode(message) };
}

export function messageToJSON(message: Message): JsonObject {
  if (message.command === 'unknown') {
    return { command: 'unknown', name: message.name, payload: toJson.bytes(message.payload) };
  }
  return codecs.get(message.command)!.toJSON(message);
}

export function messageFromJSON(json: JsonObject): Message {
  const f = new JsonFields(String(json.command), json);
  const command = f.string('command');
  if (command === 'unknown') return { command: 'unknown', name: f.string('name'), payload: f.bytes('payload') };
  const codec = codecs.get(command);
  if (!codec) throw new RangeError(`unknown command ${JSON.stringify(command)} in JSON`);
  return codec.fromJSON(json);
}

export type { MessageCodec, PayloadLimitClass } from './codec.js';
export type { Json, JsonObject } from './json.js';

import { FrameDecoder, encodeMessageFrame } from '../framing/index.js';
import { decodeMessage, messageFromJSON, messageToJSON, type JsonObject } from '../messages/index.js';
import type { Network } from '../networks.js';

/** Frames in hex -> one JSON object per message. Throws a typed error on bad frames. */
export function decodeFramesHex(hex: string, network: Network): JsonObject[] {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new Error('input is not hex');
  const decoder = new FrameDecoder({
    magic: network.magic,
    shouldStream: () => false,
    limits: { default: Number.MAX_SAFE_INTEGER, block: Number.MAX_SAFE_INTEGER, tx: Number.MAX_SAFE_INTEGER, protoconf: Number.MAX_SAFE_INTEGER },
  });
  const out: JsonObject[] = [];
  for (const ev of decoder.push(Buffer.from(clean, 'hex'))) {
    if (ev.type === 'frame') out.push(messageToJSON(decodeMessage(ev.header.command, ev.payload)));
  }
  if (decoder.bytesBuffered > 0) throw new Error(`input ends inside a frame (${decoder.bytesBuffered} bytes left over)`);
  return out;
}

/** JSON messages (an object, an array, or one object per line) -> frames in hex. */
export function encodeJsonToHex(text: string, network: Network): string {
  return parseJsonMessages(text)
    .map((json) => encodeMessageFrame(network.magic, messageFromJSON(json), { peerVersion: network.protocolVersion }).toString('hex'))
    .join('');
}

function parseJsonMessages(text: string): JsonObject[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return (Array.isArray(parsed) ? parsed : [parsed]).map(asObject);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    return trimmed.split('\n').filter((l) => l.trim() !== '').map((l) => asObject(JSON.parse(l)));
  }
}

function asObject(v: unknown): JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('each message must be a JSON object with a "command"');
  return v as JsonObject;
}

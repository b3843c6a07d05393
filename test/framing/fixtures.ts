// Shared helpers for the framing tests (not a test file itself).
import type { FrameEvent } from '../../lib/framing/types.js';

/** A small seeded PRNG (mulberry32) so "random" chunkings are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededBytes(seed: number, length: number): Buffer {
  const next = seededRandom(seed);
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** A comparable summary of events: consecutive stream-data chunks joined into one payload. */
export interface EventSummary {
  type: string;
  command: string;
  length: number;
  extended: boolean;
  payloadHex?: string;
  checksumOk?: boolean;
}

export function summarize(events: FrameEvent[]): EventSummary[] {
  const out: EventSummary[] = [];
  let streamed: Buffer[] = [];
  for (const e of events) {
    const base = { type: e.type, command: e.header.command, length: e.header.length, extended: e.header.extended };
    if (e.type === 'frame') out.push({ ...base, payloadHex: e.payload.toString('hex') });
    else if (e.type === 'stream-start') {
      streamed = [];
      out.push(base);
    } else if (e.type === 'stream-data') streamed.push(Buffer.from(e.chunk));
    else out.push({ ...base, payloadHex: Buffer.concat(streamed).toString('hex'), checksumOk: e.checksumOk });
  }
  return out;
}

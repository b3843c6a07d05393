import type { Test } from 'tap';
import { DecodeError } from '../../lib/errors.js';
import type { MessageCodec } from '../../lib/messages/codec.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { decodeMessage, encodeMessage, messageFromJSON, messageToJSON, type Message } from '../../lib/messages/index.js';

/**
 * The checks every codec gets: payload round trip, JSON round trip through the
 * registry, and a typed DecodeError (never another exception) for every truncation.
 */
export function checkCodec<M extends { readonly command: string }>(t: Test, codec: MessageCodec<M>, samples: M[]): void {
  for (const [i, sample] of samples.entries()) {
    const payload = codec.encode(sample);
    dumpFuzzSeed(codec.command, payload);
    const decoded = codec.decode(payload);
    t.same(decoded, sample, `${codec.command} sample ${i}: decode(encode(x)) == x`);
    t.same(codec.encode(decoded), payload, `${codec.command} sample ${i}: bytes round trip`);
    const viaRegistry = decodeMessage(codec.command, payload);
    t.same(viaRegistry, sample, `${codec.command} sample ${i}: registry decodes it`);
    const json = JSON.parse(JSON.stringify(messageToJSON(viaRegistry as Message)));
    t.same(encodeMessage(messageFromJSON(json)).payload, payload, `${codec.command} sample ${i}: JSON round trip`);
    checkTruncations(t, codec, payload, `sample ${i}`);
  }
}

/** Every strict prefix of a valid payload must fail with DecodeError, or decode to something shorter-encoding. */
export function checkTruncations<M extends { readonly command: string }>(
  t: Test,
  codec: MessageCodec<M>,
  payload: Buffer,
  label: string,
): void {
  let typed = 0;
  let accepted = 0;
  let other: unknown;
  for (let n = 0; n < payload.length; n++) {
    try {
      const m = codec.decode(payload.subarray(0, n));
      // Some layouts end in optional groups: a prefix may be a valid shorter message.
      if (codec.encode(m).length !== n) other ??= new Error(`prefix ${n} decoded but re-encodes to another length`);
      accepted++;
    } catch (err) {
      if (err instanceof DecodeError && err.command === codec.command) typed++;
      else other ??= err;
    }
  }
  t.equal(other, undefined, `${codec.command} ${label}: every truncation is a DecodeError or a valid shorter message`);
  t.equal(typed + accepted, payload.length, `${codec.command} ${label}: ${payload.length} prefixes checked`);
}

/** With FUZZ_SEED_DIR set, every sample payload is written there: the fuzzer's codec corpus comes from these tests. */
function dumpFuzzSeed(command: string, payload: Buffer): void {
  const dir = process.env.FUZZ_SEED_DIR;
  if (!dir || payload.length > 65_536) return;
  mkdirSync(dir, { recursive: true });
  const name = createHash('sha256').update(command).update(payload).digest('hex').slice(0, 16);
  writeFileSync(`${dir}/${command}-${name}.bin`, payload);
}

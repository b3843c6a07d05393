// The fuzzer's own instruments: the allocation watch sees the allocations the invariant is about,
// and the structure-aware mutator keeps codec inputs decodable often enough to matter.
import t from 'tap';
import { AllocationWatch, mutateValue, xorshift } from '../../fuzz/engine.js';
import { decodeMessage, encodeMessage, type Message } from '../../lib/messages/index.js';
import { FrameDecoder } from '../../lib/framing/decoder.js';
import { encodeFrame } from '../../lib/framing/encoder.js';
import { regtest } from '../../lib/networks.js';

t.test('the allocation watch sees Buffer.alloc, allocUnsafe and concat, and a frame decoder buffering a straddling payload', async (t) => {
  const watch = new AllocationWatch();
  watch.install();
  t.teardown(() => watch.uninstall());
  Buffer.alloc(1000);
  t.equal(watch.largest, 1000);
  Buffer.concat([Buffer.from('ab'), Buffer.alloc(5000, 1)]);
  t.ok(watch.largest >= 5002, `concat seen (${watch.largest})`);
  const frame = encodeFrame(regtest.magic, 'madeup', Buffer.alloc(300_000));
  watch.largest = 0;
  new FrameDecoder({ magic: regtest.magic }).push(frame.subarray(0, 100));
  t.equal(watch.largest, 300_000, 'the declared payload length is allocated once the payload straddles');
  watch.uninstall();
  Buffer.alloc(9_999_999);
  t.equal(watch.largest, 300_000, 'uninstalled');
});

t.test('structure-aware mutation of a version message mostly re-encodes', async (t) => {
  const version: Message = {
    command: 'version', version: 70016, services: 1n, timestamp: 1n,
    addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 }, addrFrom: { services: 0n, ip: Buffer.alloc(16), port: 0 },
    nonce: 7n, userAgent: '/x/', startHeight: 0, relay: true,
  } as Message;
  const rnd = xorshift(5);
  let encoded = 0;
  let changed = 0;
  for (let i = 0; i < 200; i++) {
    try {
      const payload = encodeMessage(mutateValue(version, rnd) as Message).payload;
      encoded++;
      if (!payload.equals(encodeMessage(version).payload)) changed++;
      decodeMessage('version', payload);
    } catch {
      /* out-of-range values are refused by the encoder */
    }
  }
  t.ok(encoded > 100, `${encoded} of 200 mutants encode`);
  t.ok(changed > 80, `${changed} differ from the seed`);
});

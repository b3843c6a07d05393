// Found by the frame target: a header whose command field is 12 NULs passes the decoder (as it
// passes the node's CheckCommandFormat: nothing before the first NUL is non-printable) and arrives
// as an unknown message named '', which the encoder refuses to send. Both sides are deliberate;
// this pins them, and the fuzzer's frame invariant now re-encodes only commands the encoder sends.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { FramingError } from '../../lib/errors.js';
import { FrameDecoder, encodeFrame, payloadChecksum } from '../../lib/framing/index.js';
import { decodeMessage } from '../../lib/messages/index.js';
import { regtest } from '../../lib/networks.js';
import { frameTarget } from '../../fuzz/targets.js';

t.test('an all-NUL command decodes to an unknown message named "" and is never sent', async (t) => {
  const payload = Buffer.from('hi');
  const header = Buffer.concat([regtest.magic, Buffer.alloc(12), Buffer.from([2, 0, 0, 0]), payloadChecksum(payload)]);
  const events = new FrameDecoder({ magic: regtest.magic }).push(Buffer.concat([header, payload]));
  t.equal(events.length, 1);
  const frame = events[0]!;
  if (frame.type !== 'frame') throw new Error('expected a frame');
  t.equal(frame.header.command, '');
  t.same(decodeMessage('', frame.payload), { command: 'unknown', name: '', payload });
  t.throws(() => encodeFrame(regtest.magic, '', payload), FramingError, 'the encoder refuses the empty command');
});

t.test('the input that found it replays clean through the frame target', async (t) => {
  t.doesNotThrow(() => frameTarget.run(readFileSync(new URL('./inputs/frame-empty-command.bin', import.meta.url))));
});

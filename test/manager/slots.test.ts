import t from 'tap';
import net from 'node:net';
import { ConnectionSlots, type SlotKind } from '../../lib/manager/slots.js';
import { tcpDialer } from '../../lib/transport/index.js';
import { closedPort } from '../helpers/ports.js';

t.test('reserve up to the limit, release is idempotent, limits change at runtime', async (t) => {
  const slots = new ConnectionSlots({ outbound: 2, inbound: 1, manual: 0 });
  const a = slots.reserve('outbound');
  const b = slots.reserve('outbound');
  t.ok(a && b);
  t.equal(slots.reserve('outbound'), undefined, 'third outbound refused');
  t.equal(slots.reserve('manual'), undefined, 'manual limit 0');
  t.equal(slots.count('outbound'), 2);
  a!.release();
  a!.release();
  t.equal(slots.count('outbound'), 1, 'double release counted once');
  t.ok(a!.released);
  slots.setLimits({ outbound: 0 });
  t.equal(slots.excess('outbound'), 1, 'lowered below the holders');
  t.equal(slots.available('outbound'), 0);
  t.equal(slots.reserve('outbound'), undefined);
  b!.release();
  slots.setLimits({ outbound: 3 });
  t.equal(slots.available('outbound'), 3);
  t.throws(() => slots.setLimits({ inbound: -1 }), RangeError);
  t.throws(() => slots.setLimits({ inbound: 1.5 }), RangeError);
  t.same(slots.counts(), { outbound: 0, inbound: 0, manual: 0, feeler: 0, 'addr-fetch': 0 });
});

t.test('1,000 concurrent connect attempts never exceed 8 outbound and 16 inbound', async (t) => {
  const limits = { outbound: 8, inbound: 16 };
  const slots = new ConnectionSlots(limits);
  const server = net.createServer((s) => s.on('error', () => {}).resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const deadPort = await closedPort();
  const dial = tcpDialer();

  let samples = 0;
  let maxOut = 0;
  let maxIn = 0;
  let violations = 0;
  const sample = (): void => {
    samples++;
    const out = slots.count('outbound');
    const inb = slots.count('inbound');
    maxOut = Math.max(maxOut, out);
    maxIn = Math.max(maxIn, inb);
    if (out > limits.outbound || inb > limits.inbound) violations++;
  };
  const sampler = setInterval(sample, 1);

  let connected = 0;
  let failed = 0;
  let refused = 0;
  const attempt = async (i: number): Promise<void> => {
    const kind: SlotKind = i % 3 === 0 ? 'outbound' : 'inbound';
    // A few rounds of waiting for a slot, as a pool retrying would.
    for (let round = 0; round < 2000; round++) {
      const slot = slots.reserve(kind);
      sample();
      if (!slot) {
        refused++;
        await new Promise((r) => setTimeout(r, 1 + (i % 7)));
        continue;
      }
      try {
        // Every fifth attempt dials a closed port: the failure path must release too.
        const socket = await dial('127.0.0.1', i % 5 === 0 ? deadPort : port, { timeoutMs: 5000 });
        sample();
        connected++;
        await new Promise((r) => setTimeout(r, i % 4));
        socket.destroy();
      } catch {
        failed++;
      } finally {
        slot.release();
        sample();
      }
      return;
    }
  };
  await Promise.all(Array.from({ length: 1000 }, (_, i) => attempt(i)));
  clearInterval(sampler);
  await new Promise<void>((resolve) => server.close(() => resolve()));

  t.equal(violations, 0, `no sample above the limits (${samples} samples)`);
  t.ok(maxOut <= 8 && maxIn <= 16, `max outbound ${maxOut}, max inbound ${maxIn}`);
  t.equal(maxOut, 8, 'outbound reached its limit');
  t.equal(maxIn, 16, 'inbound reached its limit');
  t.ok(refused > 0, 'attempts were refused while full');
  t.equal(connected + failed, 1000, `every attempt got a slot eventually (${connected} connected, ${failed} failed)`);
  t.ok(failed >= 200, 'the failing dials ran and released');
  t.same(slots.counts(), { outbound: 0, inbound: 0, manual: 0, feeler: 0, 'addr-fetch': 0 }, 'all released');
});

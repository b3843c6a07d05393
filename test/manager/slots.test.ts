import t from 'tap';
import net from 'node:net';
import { ConnectionSlots, type SlotKind } from '../../lib/manager/slots.js';
import { tcpDialer } from '../../lib/transport/index.js';
import { closedPort } from '../helpers/ports.js';
import { kernelSocketsUnavailable, kernelTcpSockets, openSocketsTo } from '../helpers/os-sockets.js';

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

t.test('1,000 concurrent connect attempts never hold more than 8 outbound and 16 inbound sockets (kernel view)', { skip: kernelSocketsUnavailable }, async (t) => {
  const limits = { outbound: 8, inbound: 16 };
  const slots = new ConnectionSlots(limits);
  // One server per kind, so the kernel's socket table tells the kinds apart by remote port.
  const servers = [0, 1].map(() => net.createServer((s) => s.on('error', () => {}).resume()));
  t.teardown(() => servers.forEach((s) => s.close()));
  for (const server of servers) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const [outPort, inPort] = servers.map((s) => (s.address() as net.AddressInfo).port) as [number, number];
  const deadPort = await closedPort();
  const dial = tcpDialer();
  const outboundRemotes = new Set([`127.0.0.1:${outPort}`, `127.0.0.1:${deadPort}`]);
  const inboundRemotes = new Set([`127.0.0.1:${inPort}`]);

  // What the OS sees: our sockets still open towards each kind's server, read from the kernel's table.
  let samples = 0;
  let maxOut = 0;
  let maxIn = 0;
  const sample = (): void => {
    samples++;
    const table = kernelTcpSockets();
    maxOut = Math.max(maxOut, openSocketsTo(outboundRemotes, table));
    maxIn = Math.max(maxIn, openSocketsTo(inboundRemotes, table));
  };
  const sampler = setInterval(sample, 2);
  t.teardown(() => clearInterval(sampler));

  let connected = 0;
  let failed = 0;
  let refused = 0;
  const attempt = async (i: number): Promise<void> => {
    const kind: SlotKind = i % 3 === 0 ? 'outbound' : 'inbound';
    // A few rounds of waiting for a slot, as a pool retrying would.
    for (let round = 0; round < 2000; round++) {
      const slot = slots.reserve(kind);
      if (!slot) {
        refused++;
        await new Promise((r) => setTimeout(r, 1 + (i % 7)));
        continue;
      }
      try {
        // Every fifth attempt dials a closed port: the failure path must release too.
        const target = kind === 'outbound' ? (i % 5 === 0 ? deadPort : outPort) : inPort;
        const socket = await dial('127.0.0.1', target, { timeoutMs: 5000 });
        connected++;
        // Hold the socket a few ms, sampling while it is open, so the count can reach the limit.
        await new Promise((r) => setTimeout(r, 2 + (i % 4)));
        if (i % 10 === 0) sample();
        socket.destroy();
      } catch {
        failed++;
      } finally {
        slot.release();
      }
      return;
    }
  };
  await Promise.all(Array.from({ length: 1000 }, (_, i) => attempt(i)));
  clearInterval(sampler);
  sample();

  t.ok(maxOut <= limits.outbound, `at most ${limits.outbound} outbound sockets open at once in the kernel's table (max ${maxOut}, ${samples} samples)`);
  t.ok(maxIn <= limits.inbound, `at most ${limits.inbound} inbound-kind sockets open at once (max ${maxIn})`);
  t.ok(maxOut >= limits.outbound - 2, `the outbound count came near its limit, so the sampling could see a violation (max ${maxOut})`);
  t.ok(maxIn >= limits.inbound - 4, `the inbound count came near its limit (max ${maxIn})`);
  t.ok(refused > 0, 'attempts were refused while full');
  t.equal(connected + failed, 1000, `every attempt got a slot eventually (${connected} connected, ${failed} failed)`);
  t.ok(failed >= 60, 'the failing dials ran and released');
  t.equal(openSocketsTo(new Set([...outboundRemotes, ...inboundRemotes])), 0, 'no socket left open');
  t.same(slots.counts(), { outbound: 0, inbound: 0, manual: 0, feeler: 0, 'addr-fetch': 0 }, 'all released');
});

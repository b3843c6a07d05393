// README: manual peers are "redialed with capped backoff" (1 s doubling up to 60 s by default).
// Measured from outside: the times of the dial failures against a closed loopback port.
import t from 'tap';
import { Manager, type DialFailedEvent } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { closedPort } from '../helpers/ports.js';

const network = defineNetwork({ name: 'manager-backoff', magic: 'c1c2c3c5', defaultPort: 18997 });

t.test('a manual peer that refuses is redialed with doubling delays, capped at maxMs', async (t) => {
  const port = await closedPort();
  const minMs = 100;
  const maxMs = 300;
  const manager = new Manager({ network, discover: false, feelerIntervalMs: 0, outbound: 0, peers: [`127.0.0.1:${port}`], manualBackoff: { minMs, maxMs }, peerOptions: { userAgentPolicy: ACCEPT_ANY_UA } });
  t.teardown(() => manager.stop());
  const at: number[] = [];
  manager.on('dial:failed', (e: DialFailedEvent) => {
    if (e.port === port) at.push(performance.now());
  });
  await manager.start();
  const deadline = performance.now() + 15_000;
  while (at.length < 8 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await manager.stop();
  t.ok(at.length >= 8, `${at.length} attempts`);
  const gaps = at.slice(1).map((x, i) => x - at[i]!);
  t.comment(`gaps between attempts (ms): ${gaps.map((g) => Math.round(g)).join(', ')}`);
  // p-retry waits min * 2^n scaled by a random factor in [1, 2], then caps at max. A little
  // slack below for timer granularity; above, room for a starved machine.
  t.ok(gaps[0]! >= minMs - 5, `first delay ${Math.round(gaps[0]!)} >= ${minMs}`);
  t.ok(gaps[1]! >= 2 * minMs - 5, `second delay ${Math.round(gaps[1]!)} >= ${2 * minMs} (it doubled)`);
  const late = gaps.slice(3);
  for (const g of late) t.ok(g >= maxMs - 5, `late delay ${Math.round(g)} >= the cap ${maxMs} (still backing off)`);
  // Uncapped, the 4th delay on would be at least 8 * min = 800 ms and growing.
  const median = [...late].sort((a, b) => a - b)[Math.floor(late.length / 2)]!;
  t.ok(median < 8 * minMs, `median late delay ${Math.round(median)} < ${8 * minMs}: capped at ${maxMs}`);
});

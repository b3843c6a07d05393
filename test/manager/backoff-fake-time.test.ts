// The manual-peer backoff under fake time, on a real Manager dialing a closed loopback port: with
// setTimeout faked (node:test's mock.timers), a redial comes exactly when the schedule says and
// not a millisecond before. minMs 100, maxMs 300: the 1st wait is 100-200 ms, the 2nd 200-300 ms
// (jitter), every later one exactly the 300 ms cap.
import t from 'tap';
import { mock } from 'node:test';
import { Manager } from '../../lib/manager/index.js';
import { defineNetwork } from '../../lib/networks.js';
import { tcpDialer } from '../../lib/transport/dialer.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { closedPort } from '../helpers/ports.js';

const network = defineNetwork({ name: 'manager-backoff-fake', magic: 'c1c2c3c6', defaultPort: 18996 });
const realSetTimeout = globalThis.setTimeout;
const realWait = (ms: number): Promise<void> => new Promise((r) => realSetTimeout(r, ms));

t.test('redials of a refusing manual peer come exactly on the backoff schedule', async (t) => {
  const port = await closedPort();
  let dials = 0;
  let failures = 0;
  const tcp = tcpDialer();
  const manager = new Manager({
    network, discover: false, feelerIntervalMs: 0, outbound: 0, peers: [`127.0.0.1:${port}`],
    manualBackoff: { minMs: 100, maxMs: 300 }, peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
    dialer: (host, p, opts) => {
      dials++;
      return tcp(host, p, opts);
    },
  });
  manager.on('dial:failed', (e) => {
    if (e.port === port) failures++;
  });
  t.teardown(async () => {
    mock.timers.reset();
    await manager.stop();
  });
  mock.timers.enable({ apis: ['setTimeout'] });

  /** Real time for the refused connect and the Manager's reaction; fake time stands still meanwhile. */
  async function failed(n: number): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (failures < n && performance.now() < deadline) await realWait(5);
    await realWait(20); // the failure's catch schedules the (fake) wait
    t.equal(failures, n, `dial ${n} refused`);
  }
  /** Advances fake time by `ms` and lets any redial start. */
  async function advance(ms: number): Promise<number> {
    mock.timers.tick(ms);
    await realWait(20);
    return dials;
  }

  await manager.start();
  await failed(1);
  t.equal(dials, 1);
  t.equal(await advance(99), 1, 'no redial before minMs');
  t.equal(await advance(101), 2, 'redialed by 2 x minMs');
  await failed(2);
  t.equal(await advance(199), 2, 'second wait at least 2 x minMs');
  t.equal(await advance(101), 3, 'redialed by the cap');
  for (let n = 3; n <= 6; n++) {
    await failed(n);
    t.equal(await advance(299), n, `wait ${n}: nothing at 299 ms`);
    t.equal(await advance(1), n + 1, `wait ${n}: redial at exactly the 300 ms cap`);
  }
});

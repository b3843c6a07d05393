// The README's Manager numbers as values, and "Memory per peer comes from peerOptions, checked when
// the Manager is built".
import t from 'tap';
import { Manager, DEFAULT_OUTBOUND_TARGET, DEFAULT_FEELER_INTERVAL_MS, DEFAULT_SEED_FALLBACK_MS, DEFAULT_ADDR_BURST, DEFAULT_ADDR_RATE_PER_SECOND } from '../../lib/manager/index.js';
import { FrameBudget } from '../../lib/peer/frame-budget.js';
import { defineNetwork } from '../../lib/networks.js';

const network = defineNetwork({ name: 'manager-readme', magic: 'c1c2c3d4', defaultPort: 18997 });
const base = { network, discover: false, feelerIntervalMs: 0 } as const;

t.test('README: "Keep me connected to 8 good peers": the default outbound target is 8', async (t) => {
  t.equal(DEFAULT_OUTBOUND_TARGET, 8);
  const m = new Manager(base);
  t.equal(m.stats().limits.outbound, 8, 'a Manager built without outbound holds 8');
  t.equal(m.stats().limits.inbound, 0, 'and accepts no inbound without listen');
  m.setTargets({ outbound: 12 });
  t.equal(m.stats().limits.outbound, 12, 'setTargets takes effect at once, even before start');
  await m.stop();
});

t.test('README: a feeler every 2 min, seeds asked again after 11 s, addr bucket 0.1/s with burst 1000', async (t) => {
  t.equal(DEFAULT_FEELER_INTERVAL_MS, 2 * 60_000);
  t.equal(DEFAULT_SEED_FALLBACK_MS, 11_000);
  t.equal(DEFAULT_ADDR_RATE_PER_SECOND, 0.1);
  t.equal(DEFAULT_ADDR_BURST, 1000);
});

t.test('README: memory per peer comes from peerOptions, checked when the Manager is built', async (t) => {
  const bad: [string, object][] = [
    ['sendHighWaterMark above maxUnflushedBytes', { maxUnflushedBytes: 1024, sendHighWaterMark: 2048 }],
    ['a zero sendHighWaterMark', { sendHighWaterMark: 0 }],
    ['a negative maxUnflushedBytes', { maxUnflushedBytes: -1 }],
    ['a fractional preHandshakeMaxPayload', { preHandshakeMaxPayload: 1.5 }],
    ['a user agent a BSV node bans', { userAgent: '/Bitcoin Cash:1/' }],
  ];
  for (const [what, peerOptions] of bad) t.throws(() => new Manager({ ...base, peerOptions }), RangeError, what);
  const m = new Manager({ ...base, peerOptions: { sendHighWaterMark: 4096, maxUnflushedBytes: 8192, preHandshakeMaxPayload: 0, frameBudget: new FrameBudget(1 << 20) } });
  t.pass('sound limits and an own FrameBudget are accepted');
  await m.stop();
});

// README "Frame budget": only a whole frame that straddles socket chunks draws on the budget; frames
// inside one chunk are views and cost nothing.
import t from 'tap';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';
import { scriptedHandshake } from '../helpers/scripted-peer.js';
import { PeerConnection } from '../../lib/peer/connection.js';
import { FrameBudget } from '../../lib/peer/frame-budget.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';
import { encodeMessageFrame } from '../../lib/framing/index.js';
import { regtest } from '../../lib/networks.js';
import type { CloseReason } from '../../lib/peer/reasons.js';

// An inv of 150 entries: 5,403 payload bytes, far above the 2,000-byte budget below.
const invFrame = encodeMessageFrame(regtest.magic, {
  command: 'inv',
  inventory: Array.from({ length: 150 }, (_, i) => ({ type: 1, hash: Buffer.alloc(32, i) })),
});

async function ready(budget: FrameBudget): Promise<{ conn: PeerConnection; theirs: Duplex }> {
  const [ours, theirs] = duplexPair();
  theirs.on('data', () => {});
  const conn = new PeerConnection(ours, { network: regtest, direction: 'inbound', userAgentPolicy: ACCEPT_ANY_UA, frameBudget: budget });
  await scriptedHandshake(theirs, conn);
  return { conn, theirs };
}

const tick = () => new Promise((r) => setImmediate(r));

t.test('a frame larger than the whole budget, inside one chunk, is delivered and costs nothing', async (t) => {
  const budget = new FrameBudget(2000);
  const { conn, theirs } = await ready(budget);
  t.teardown(() => void conn.close());
  let evicted = 0;
  budget.on('evict', () => evicted++);
  const got: number[] = [];
  conn.on('inv', (m) => got.push(m.inventory.length));
  theirs.write(invFrame);
  for (let i = 0; i < 200 && got.length === 0; i++) await tick(); // bounded wait
  t.same(got, [150], 'the inv arrived');
  t.equal(evicted, 0, 'no eviction');
  t.equal(budget.usedBytes, 0);
  t.equal(conn.state, 'ready');
});

t.test('the same frame split across two chunks needs the budget, and is refused by it', async (t) => {
  const budget = new FrameBudget(2000);
  const { conn, theirs } = await ready(budget);
  t.teardown(() => void conn.close());
  const closed = new Promise<CloseReason>((resolve) => conn.once('close', resolve));
  theirs.write(invFrame.subarray(0, 1000));
  await tick();
  theirs.write(invFrame.subarray(1000));
  const reason = await closed;
  t.equal(reason.code, 'memory-budget');
  t.equal(budget.usedBytes, 0, 'nothing left reserved');
});

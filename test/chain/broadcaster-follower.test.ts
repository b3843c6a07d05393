// Broadcaster + BlockFollower in one app: with `blocks: follower` the broadcaster sees its tx mined in the block
// the follower fetches and asks for no block itself, so each block crosses the wire once. Counted on the far
// side: the getdata frames for blocks the scripted peers received. Without the option (the control case) the
// broadcaster fetches the announced block too, and the count shows the second download.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BlockFollower } from '../../lib/chain/block-follower.js';
import { Broadcaster } from '../../lib/chain/broadcaster.js';
import type { BroadcastResult } from '../../lib/chain/broadcast.js';
import { MSG_BLOCK } from '../../lib/messages/inventory.js';
import { FakeClock, TestChain, makeLine, makeTx, scriptedNet, sleep, waitFor } from './follower-harness.js';

for (const wired of [true, false]) {
  t.test(wired ? 'with blocks: follower, a broadcast tx is seen mined in the block the follower fetches, and no block is fetched twice' : 'control: without it, the broadcaster fetches the announced block a second time', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'bsv-wire-broadcast-follower-'));
    const clock = new FakeClock();
    const ours = makeTx(777, 40);
    const line = makeLine(1, () => [makeTx(1), ours, makeTx(2, 300)]);
    const chain = new TestChain(line.slice(0, 1)); // the follower knows block 0 only, at first
    const net = scriptedNet({ clock, modes: ['serve', 'serve', 'serve'], blocks: line, startHeight: 0 });
    const delivered: number[] = [];
    const follower = new BlockFollower({
      manager: net.manager, tree: chain, headers: chain.headers, dir, fromHeight: 1, clock, tickIntervalMs: 10,
      onBlock: async (b) => {
        for await (const tx of b.transactions()) void tx;
        delivered.push(b.height);
      },
    });
    const broadcaster = new Broadcaster({ manager: net.manager, clock, tickIntervalMs: 10, ...(wired ? { blocks: follower } : {}) });
    const problems: unknown[] = [];
    follower.on('listenerError', (e) => problems.push(e));
    broadcaster.on('listenerError', (e) => problems.push(e));
    t.teardown(async () => {
      broadcaster.stop();
      await follower.stop();
      await net.manager.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await net.manager.start();
    await net.ready(3);
    follower.start();
    broadcaster.start();

    let settled: BroadcastResult | undefined;
    void broadcaster.broadcastTx(ours, { until: 'settled' }).then((r) => (settled = r));
    // Block 1 is found: every peer announces it, and the header chain grows (as a HeaderFollower's tip event).
    const hash = line[1]!.entry.hash;
    for (const peer of net.peers.values()) peer.send({ command: 'inv', inventory: [{ type: MSG_BLOCK, hash }] });
    chain.extend(line);

    await waitFor('the block delivered to the app', () => delivered.length === 1);
    await waitFor('the broadcast settled', () => settled !== undefined);
    t.match(settled, { status: 'mined' }, 'the broadcast is settled as mined');
    t.ok(settled!.minedIn?.equals(hash), 'in block 1');
    await sleep(100); // room for a late getdata to show up
    const getdatas = [...net.peers.values()].reduce((n, p) => n + p.blockGetdatas, 0);
    const asked = [...net.peers.values()].flatMap((p) => p.blocksAsked).filter((h) => h.equals(hash)).length;
    if (wired) {
      t.equal(getdatas, 1, 'one getdata for a block reached the peers: the follower\'s');
      t.equal(asked, 1, 'block 1 was asked for once');
    } else {
      t.equal(getdatas, 2, 'the follower\'s getdata and the broadcaster\'s own');
      t.equal(asked, 2, 'block 1 was asked for twice');
    }
    t.same(problems, [], 'no listener error');
  });
}

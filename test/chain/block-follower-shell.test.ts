// BlockFollower, the shell itself: a real Manager over in-memory duplex pairs with scripted peers
// (test/chain/follower-harness.ts), a fake clock for every time the follower, the Manager and the peers read,
// the real spool, cursor file and BlockSync core. What is checked is what the outside sees: the getdata frames
// each peer got, the bytes a peer could hand over, the blocks the handler got, the cursor file on disk, the
// spool directory, the listeners left on the Manager and the timers left running.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BlockFollower, type BlockFollowerOptions } from '../../lib/chain/block-follower.js';
import { CursorFile } from '../../lib/chain/block-cursor.js';
import { sha256d } from '../../lib/hash.js';
import { MSG_BLOCK } from '../../lib/messages/inventory.js';
import type { Message } from '../../lib/messages/index.js';
import { FakeClock, TestChain, deferred, makeBlock, makeLine, makeTx, scriptedNet, sleep, waitFor, type ServeMode, type TestBlock } from './follower-harness.js';

const hex = (b: Buffer): string => b.toString('hex');

interface Delivery {
  readonly height: number;
  readonly hash: Buffer;
  readonly txids: Buffer[];
  readonly raws: Buffer[];
}

/** Everything one test needs: chain, scripted net, follower, with teardown registered before anything starts. */
async function setup(
  t: Test,
  o: {
    modes: ServeMode[];
    line: TestBlock[];
    /** The chain the follower sees at first (default: the whole line). */
    visible?: number;
    /** The height the peers claim in version (default: the line's). */
    startHeight?: number;
    onBlock?: BlockFollowerOptions['onBlock'];
    follower?: Partial<BlockFollowerOptions>;
  },
) {
  const dir = mkdtempSync(join(tmpdir(), 'bsv-wire-follower-shell-'));
  const clock = new FakeClock();
  const chain = new TestChain(o.line.slice(0, (o.visible ?? o.line.length - 1) + 1));
  const net = scriptedNet({ clock, modes: o.modes, blocks: o.line, startHeight: o.startHeight ?? o.line.length - 1 });
  const delivered: Delivery[] = [];
  const problems: unknown[] = [];
  const follower = new BlockFollower({
    manager: net.manager,
    tree: chain,
    headers: chain.headers,
    dir,
    fromHeight: 1,
    clock,
    tickIntervalMs: 10,
    onBlock:
      o.onBlock ??
      (async (b) => {
        const d: Delivery = { height: b.height, hash: b.hash, txids: [], raws: [] };
        for await (const tx of b.transactions()) {
          d.txids.push(tx.txid);
          d.raws.push(tx.raw!);
        }
        delivered.push(d);
      }),
    ...o.follower,
  });
  follower.on('listenerError', (err) => problems.push(err));
  t.teardown(async () => {
    await follower.stop();
    await net.manager.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, clock, chain, net, follower, delivered, problems };
}

/** Holds every FileHandle.write (the spool's writes) until release(), as a disk that stopped would. */
async function stuckDisk(t: Test): Promise<{ waiting: () => number; release: () => void }> {
  const probeFile = join(tmpdir(), `bsv-wire-probe-${process.pid}`);
  const probe = await fsp.open(probeFile, 'w');
  const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  rmSync(probeFile, { force: true });
  const realWrite = proto.write;
  const gate = deferred();
  let waiting = 0;
  proto.write = async function (this: unknown, ...args: unknown[]) {
    waiting++;
    await gate.promise;
    return realWrite.apply(this, args);
  };
  t.teardown(() => {
    proto.write = realWrite;
    gate.resolve();
  });
  return { waiting: () => waiting, release: () => gate.resolve() };
}

t.test('blocks that arrive out of order are delivered in chain order, each exactly as sent', async (t) => {
  // Six blocks of three transactions each, two peers holding every getdata; then the blocks go out from the
  // top down: nothing may reach the handler before block 1.
  const line = makeLine(6, (h) => [makeTx(h * 10), makeTx(h * 10 + 1, 500 + h), makeTx(h * 10 + 2, 3000)]);
  const { dir, net, follower, delivered, problems } = await setup(t, { modes: ['hold', 'hold'], line, follower: { sync: { maxBlocksPerPeer: 3 } } });
  follower.start();
  await net.manager.start();
  const [a, b] = [() => net.peers.get(1)!, () => net.peers.get(2)!];
  await waitFor('all six blocks asked for', () => net.peers.size === 2 && a().blocksAsked.length + b().blocksAsked.length === 6);
  t.ok(a().blocksAsked.length > 0 && b().blocksAsked.length > 0, 'both peers were asked for blocks');

  const owner = (h: number) => (a().blocksAsked.some((x) => x.equals(line[h]!.entry.hash)) ? a() : b());
  for (let h = 6; h >= 2; h--) await owner(h).sendBlock(line[h]!.entry.hash);
  await waitFor('blocks 2..6 in the spool', () => readdirSync(join(dir, 'spool')).filter((f) => f.endsWith('.blk')).length === 5);
  await sleep(50);
  t.same(delivered.length, 0, 'nothing delivered while block 1 is missing');

  await owner(1).sendBlock(line[1]!.entry.hash);
  await waitFor('six deliveries', () => delivered.length === 6);
  t.same(delivered.map((d) => d.height), [1, 2, 3, 4, 5, 6], 'in chain order');
  for (const d of delivered) {
    const want = line[d.height]!;
    t.ok(d.hash.equals(want.entry.hash), `block ${d.height}: its hash`);
    t.same(d.txids.map(hex), want.txids.map(hex), `block ${d.height}: every txid, in order`);
    t.ok(d.raws.every((raw, i) => raw.equals(want.txs[i]!) && sha256d(raw).equals(want.txids[i]!)), `block ${d.height}: every raw tx`);
  }
  await waitFor('cursor at 6', () => follower.cursor.height === 6);
  t.same(problems, [], 'no listener error');
});

for (const failure of ['rejects', 'throws'] as const) {
  t.test(`the handler's promise is the acknowledgement; a handler that ${failure} moves nothing and is reported`, async (t) => {
    const line = makeLine(3, (h) => [makeTx(h), makeTx(h + 100, 200)]);
    const first = deferred();
    const calls: number[] = [];
    const { dir, net, follower, problems } = await setup(t, {
      modes: ['serve'],
      line,
      onBlock: (b) => {
        calls.push(b.height);
        if (b.height === 1) return first.promise;
        if (failure === 'throws') throw new Error('the app failed');
        return Promise.reject(new Error('the app failed'));
      },
    });
    const errors: unknown[] = [];
    follower.on('error', (err) => errors.push(err));
    const escaped: unknown[] = [];
    const onEscape = (err: unknown): void => void escaped.push(err);
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
    t.teardown(() => {
      process.off('unhandledRejection', onEscape);
      process.off('uncaughtException', onEscape);
    });
    const cursorFile = new CursorFile(join(dir, 'cursor.json'));
    const acknowledged: number[] = [];
    follower.on('acknowledged', (c) => acknowledged.push(c.height));

    follower.start();
    await net.manager.start();
    await waitFor('block 1 in the handler', () => calls.length === 1);
    await waitFor('all three blocks fetched', () => net.peers.get(1)!.blocksAsked.length === 3);
    await sleep(50);
    t.same(calls, [1], 'block 2 waits while block 1 is not acknowledged, though it is here');
    t.equal(follower.cursor.height, 0, 'the cursor has not moved');
    t.equal(cursorFile.load(), undefined, 'no cursor saved on disk');

    first.resolve();
    await waitFor('block 2 in the handler', () => calls.length === 2);
    await waitFor('the error reported', () => errors.length === 1);
    t.match(cursorFile.load(), { height: 1, hash: line[1]!.entry.hash }, 'on disk: block 1 acknowledged once its handler resolved');
    t.same(acknowledged, [1], 'one acknowledgement');
    t.match(errors[0], { message: 'the app failed' }, 'the failure comes as the error event');
    await sleep(50);
    t.same(calls, [1, 2], 'the follower stopped: block 3 is not delivered');
    t.equal(follower.cursor.height, 1, 'block 2 is not acknowledged');
    t.match(cursorFile.load(), { height: 1 }, 'nor on disk');
    t.same(escaped, [], 'nothing thrown out of an event handler or left unhandled');
    t.same(problems, [], 'no listener error');
  });
}

t.test('past the spool budget getdata pauses until the app acknowledges', async (t) => {
  // Blocks of about 100 kB; a budget of 350 kB holds three of them (spooled or in flight), the app sits on block 1.
  const line = makeLine(8, (h) => [makeTx(h, 100_000)]);
  const handlers = new Map<number, ReturnType<typeof deferred<void>>>();
  const { dir, net, follower } = await setup(t, {
    modes: ['serve'],
    line,
    follower: { spoolBudget: 350_000, sync: { initialBlockEstimate: 100_000 } },
    onBlock: (b) => {
      const d = deferred();
      handlers.set(b.height, d);
      return d.promise;
    },
  });
  let mostOutstanding = 0;
  const acked = (): number => follower.cursor.height;
  follower.start();
  await net.manager.start();
  const peer = (): ReturnType<typeof net.peers.get> => net.peers.get(1);
  const watch = setInterval(() => {
    const asked = peer()?.blocksAsked.length ?? 0;
    mostOutstanding = Math.max(mostOutstanding, asked - acked());
  }, 2);
  t.teardown(() => clearInterval(watch));

  await waitFor('block 1 in the handler', () => handlers.has(1));
  await sleep(100); // ten ticks of the follower
  t.equal(peer()!.blocksAsked.length, 3, 'three blocks asked for, then getdata paused');
  const spool = join(dir, 'spool');
  const spooledBytes = readdirSync(spool).reduce((n, f) => n + statSync(join(spool, f)).size, 0);
  t.ok(spooledBytes <= 350_000, `the spool holds ${spooledBytes} bytes, within the budget`);

  handlers.get(1)!.resolve();
  await waitFor('block 4 asked for once block 1 is acknowledged', () => peer()!.blocksAsked.length === 4);
  await sleep(50);
  t.equal(peer()!.blocksAsked.length, 4, 'one acknowledgement frees room for one block');

  // Acknowledge as they come: all eight get through, never more than three outstanding.
  for (let h = 2; h <= 8; h++) {
    await waitFor(`block ${h} in the handler`, () => handlers.has(h));
    handlers.get(h)!.resolve();
  }
  await waitFor('cursor at 8', () => follower.cursor.height === 8);
  t.same(peer()!.blocksAsked.map(hex), line.slice(1).map((b) => hex(b.entry.hash)), 'each block asked for once, in order');
  t.ok(mostOutstanding <= 3, `at most 3 blocks asked for and not acknowledged (${mostOutstanding})`);
});

t.test('a silent peer: its blocks go to the other peer when the fake clock passes the stall window, not before', async (t) => {
  const line = makeLine(4, (h) => [makeTx(h, 1000)]);
  const { net, follower, clock, delivered } = await setup(t, { modes: ['silent', 'serve'], line, follower: { sync: { maxBlocksPerPeer: 2 } } });
  const rerequests: { hash: string; reason: string }[] = [];
  follower.on('rerequest', (r) => rerequests.push({ hash: hex(r.hash), reason: r.reason }));
  let stored = 0;
  follower.on('blockStored', () => stored++);
  await net.manager.start();
  await net.ready(2);
  follower.start();
  const silent = net.peers.get(1)!;
  const serving = net.peers.get(2)!;
  await waitFor('two blocks asked of each peer', () => silent.blocksAsked.length === 2 && serving.blocksAsked.length === 2);
  await waitFor('the serving peer\'s two blocks stored', () => stored === 2);
  const stalled = silent.blocksAsked.map(hex);

  clock.advance(8_900);
  await sleep(150); // fifteen ticks at 8.9 s
  t.equal(serving.blocksAsked.length, 2, 'at 8.9 s the silent peer\'s blocks are still its own');
  t.same(rerequests, [], 'no re-request yet');

  clock.advance(200);
  await waitFor('the stalled blocks asked of the serving peer', () => serving.blocksAsked.length === 4);
  t.same(serving.blocksAsked.slice(2).map(hex).sort(), [...stalled].sort(), 'exactly the silent peer\'s blocks');
  t.same(rerequests.map((r) => r.reason), ['block-stall', 'block-stall']);
  await waitFor('all four delivered, in order', () => delivered.length === 4);
  t.same(delivered.map((d) => d.height), [1, 2, 3, 4]);
  t.equal(silent.stream.destroyed, true, 'the silent peer was dropped');
});

t.test('stop() leaves no timer, no listener, no spool file, and nothing is asked afterwards', async (t) => {
  const line = makeLine(3, (h) => [makeTx(h, 600_000)]);
  const { dir, net, follower, clock, chain } = await setup(t, { modes: ['hold'], line });
  await net.manager.start();
  await net.ready(1);
  const peer = net.peers.get(1)!;
  const listeners = (): Record<string, number> => Object.fromEntries(net.manager.eventNames().map((e) => [String(e), net.manager.listenerCount(e)]));
  const before = listeners();

  // Watch the intervals the follower starts and clears (Node keeps no list of unref'd timers to ask).
  const live = new Set<unknown>();
  const realSet = globalThis.setInterval;
  const realClear = globalThis.clearInterval;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const timer = realSet(...args);
    live.add(timer);
    return timer;
  }) as typeof setInterval;
  globalThis.clearInterval = ((timer: Parameters<typeof clearInterval>[0]) => {
    live.delete(timer);
    realClear(timer);
  }) as typeof clearInterval;
  t.teardown(() => {
    globalThis.setInterval = realSet;
    globalThis.clearInterval = realClear;
  });
  follower.start();
  const started = [...live];
  t.equal(started.length, 1, 'the follower runs one interval');
  t.ok(Object.values(listeners()).reduce((a, b) => a + b, 0) > Object.values(before).reduce((a, b) => a + b, 0), 'it listens on the Manager');
  t.ok(chain.headers.listenerCount('tip') + chain.headers.listenerCount('reorg') === 2, 'and on the header follower');

  // Half of block 1 arrives, so a spool file is being written when stop() comes.
  await waitFor('blocks asked for', () => peer.blocksAsked.length === 3);
  await peer.sendBlock(line[1]!.entry.hash, { stopAfter: 300_000 });
  await waitFor('a spool file open', () => readdirSync(join(dir, 'spool')).length === 1);
  t.match(readdirSync(join(dir, 'spool')), [/\.part$/], 'block 1 half written');
  await follower.stop();
  t.same(started.filter((timer) => live.has(timer)), [], 'its interval is cleared');
  t.same(listeners(), before, 'every Manager listener it added is gone');
  t.equal(chain.headers.listenerCount('tip') + chain.headers.listenerCount('reorg'), 0, 'and the header follower\'s');
  t.same(readdirSync(join(dir, 'spool')), [], 'the partial spool file is removed');

  // Time passes, the chain grows, the peer hangs up: nothing reaches the follower any more.
  const asked = peer.blocksAsked.length;
  clock.advance(60_000);
  chain.extend(makeLine(4, (h) => [makeTx(h, 600_000)]));
  await sleep(100);
  t.equal(peer.blocksAsked.length, asked, 'no getdata after stop()');
});

t.test('a slow disk pauses only the reading of the peer whose block it is writing, with the waiting bytes bounded', async (t) => {
  const disk = await stuckDisk(t);
  const line = makeLine(1, (h) => Array.from({ length: 200 }, (_, i) => makeTx(h * 1000 + i, 100_000)));
  const { net, follower, delivered } = await setup(t, { modes: ['serve'], line });
  follower.start();
  await net.manager.start();
  const peer = (): ReturnType<typeof net.peers.get> => net.peers.get(1);
  await waitFor('the block being sent', () => (peer()?.accepted ?? 0) > 0);
  // Let it run until the peer can hand over nothing more.
  let last = -1;
  while (peer()!.accepted !== last) {
    last = peer()!.accepted;
    await sleep(200);
  }
  const frame = line[1]!.payload.length + 24;
  t.ok(disk.waiting() > 0, 'spool writes are waiting on the disk');
  t.ok(last < 7 * 1024 * 1024, `with the disk stuck the peer could hand over ${(last / 2 ** 20).toFixed(1)} MiB of the ${(frame / 2 ** 20).toFixed(1)} MiB block, then its reading paused`);
  t.equal(delivered.length, 0, 'nothing delivered yet');

  disk.release();
  await waitFor('the block delivered', () => delivered.length === 1, 30_000);
  t.equal(peer()!.accepted, frame, 'the whole block was read once the disk moved');
  t.same(delivered[0]!.txids.map(hex), line[1]!.txids.map(hex), 'every transaction, in order');
  t.ok(delivered[0]!.raws.every((raw, i) => raw.equals(line[1]!.txs[i]!)), 'byte for byte');
});

t.test('a block a reorg drops while its spool writes are still pending leaves no file, and the new branch comes in order', async (t) => {
  const disk = await stuckDisk(t);
  const line = makeLine(1, (h) => [makeTx(h, 5000)]);
  const b1 = makeBlock(line[0]!.entry, [makeTx(501, 700)], 5001);
  const b2 = makeBlock(b1.entry, [makeTx(502, 700)], 5002);
  // The peer is on the a-branch (it claims height 1), then moves to b and says so with an inv of b2.
  const { dir, chain, net, follower, delivered, problems } = await setup(t, { modes: ['serve'], line: [...line, b1, b2] as TestBlock[], visible: 1, startHeight: 1 });
  let stored = 0;
  follower.on('blockStored', () => stored++);
  follower.start();
  await net.manager.start();
  await waitFor('block a1 arrived, its writes held', () => stored === 1 && disk.waiting() > 0);

  chain.setBest([line[0]!, b1, b2]);
  chain.headers.emit('reorg');
  for (const peer of net.peers.values()) peer.send({ command: 'inv', inventory: [{ type: MSG_BLOCK, hash: b2.entry.hash }] } as Message);
  await waitFor('b1 and b2 arrived', () => stored === 3);
  disk.release();
  await waitFor('cursor at 2', () => follower.cursor.height === 2);
  t.same(delivered.map((d) => [d.height, hex(d.hash)]), [[1, hex(b1.entry.hash)], [2, hex(b2.entry.hash)]], 'b1, b2 delivered; a1 never');
  await sleep(50);
  t.same(readdirSync(join(dir, 'spool')), [], 'no spool file left, a1\'s included');
  t.same(problems, [], 'no listener error');
});

t.test('fromHash: delivery starts at that block of the best chain; a hash the tree lacks is refused at construction', async (t) => {
  const line = makeLine(5, (h) => [makeTx(h * 10)]);
  const { net, follower, delivered } = await setup(t, { modes: ['serve'], line, follower: { fromHeight: undefined, fromHash: line[3]!.entry.hash } });
  t.equal(follower.cursor.height, 2, 'the cursor starts just below the block');
  follower.start();
  await net.manager.start();
  await waitFor('blocks 3..5 delivered', () => delivered.length === 3);
  t.same(delivered.map((d) => d.height), [3, 4, 5], 'from the hash, in order, nothing before it');
  const stranger = makeBlock(line[5]!.entry, [makeTx(999)], 9999);
  t.throws(
    () => new BlockFollower({ manager: net.manager, tree: new TestChain(line), headers: new TestChain(line).headers, dir: join(tmpdir(), `bsv-wire-fromhash-${process.pid}`), fromHash: stranger.entry.hash, onBlock: () => {} }),
    RangeError,
    'an unknown hash is a RangeError',
  );
  rmSync(join(tmpdir(), `bsv-wire-fromhash-${process.pid}`), { recursive: true, force: true });
});

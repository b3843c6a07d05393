// BlockFollower, unit level: one peer reorgs under the follower and then sends the new branch's blocks
// in the reverse of their heights, the last two in one synchronous burst (as when one socket read holds
// several block messages). Every block must still be delivered, in chain order, after the disconnects.
// The manager and header follower here are plain event emitters carrying the events the real ones emit;
// the spool, cursor file and BlockSync core are the real ones.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EventEmitter } from 'eventemitter3';
import { BlockFollower } from '../../lib/chain/block-follower.js';
import type { HeaderEntry } from '../../lib/chain/types.js';
import type { Manager } from '../../lib/manager/index.js';
import { blockHash, type BlockHeader } from '../../lib/messages/block-header.js';
import type { Message } from '../../lib/messages/index.js';
import { toDisplayHex } from '../../lib/hash.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { TestChain } from './follower-harness.js';

interface TestBlock {
  readonly entry: HeaderEntry;
  readonly header: BlockHeader;
  readonly tx: Buffer;
}

/** Makes a block on top of `parent` (undefined: a genesis) with one made-up transaction. */
function makeBlock(parent: HeaderEntry | undefined, time: number): TestBlock {
  const tx = Buffer.alloc(60, time & 0xff);
  tx.writeUInt32LE(time, 0);
  const header: BlockHeader = { version: 1, prevBlock: parent?.hash ?? Buffer.alloc(32), merkleRoot: Buffer.alloc(32, 7), timestamp: time, bits: 0x207fffff, nonce: time };
  const height = parent ? parent.height + 1 : 0;
  const entry: HeaderEntry = { hash: blockHash(header), prevHash: header.prevBlock, height, version: 1, time, bits: header.bits, chainWork: BigInt(height + 1) };
  return { entry, header, tx };
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

async function waitFor(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

t.test('a single peer reorgs; the new branch arrives tip first, two blocks in one burst: all delivered in order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bsv-wire-follower-reorg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // Heights 0..2 shared, then old branch a3, a4; the new branch b3, b4, b5 replaces it.
  const shared: TestBlock[] = [makeBlock(undefined, 1000)];
  for (let i = 1; i <= 2; i++) shared.push(makeBlock(shared[i - 1]!.entry, 1000 + i));
  const a3 = makeBlock(shared[2]!.entry, 2003);
  const a4 = makeBlock(a3.entry, 2004);
  const b3 = makeBlock(shared[2]!.entry, 3003);
  const b4 = makeBlock(b3.entry, 3004);
  const b5 = makeBlock(b4.entry, 3005);
  const byHash = new Map([...shared, a3, a4, b3, b4, b5].map((b) => [b.entry.hash.toString('hex'), b]));

  const chain = new TestChain();
  chain.setEntries(shared.map((b) => b.entry));
  const headers = new EventEmitter<{ tip: () => void; reorg: () => void }>();
  const manager = new EventEmitter();
  const asked: Buffer[] = [];
  let received = 0;
  const peer = {
    id: 'peer-1',
    state: 'ready',
    remote: { version: { services: 1n, startHeight: 2 } },
    stats: () => ({ bytesReceived: received }),
    send: (msg: Message) => {
      if (msg.command === 'getdata') for (const item of msg.inventory) asked.push(item.hash);
    },
    close: async () => {},
  };
  Object.assign(manager, { peers: [peer] });

  /** The peer's answer to a getdata, all events emitted synchronously. */
  const send = (b: TestBlock): void => {
    const bytes = 80 + 1 + b.tx.length;
    received += bytes + 24;
    const start = { hash: b.entry.hash, header: b.header, txCount: 1 };
    manager.emit('blockHeader', start, peer);
    manager.emit('blockTx', { index: 0, raw: b.tx, txid: Buffer.alloc(32, b.tx[0]), blockHash: b.entry.hash }, peer);
    manager.emit('blockEnd', { ...start, bytes, checksumOk: true, merkleRootOk: true }, peer);
  };
  const answer = (hash: Buffer): void => {
    const i = asked.findIndex((h) => h.equals(hash));
    t.ok(i >= 0, `block ${byHash.get(hash.toString('hex'))!.entry.height} was asked for before it is sent`);
    if (i >= 0) asked.splice(i, 1);
    send(byHash.get(hash.toString('hex'))!);
  };

  const seen: string[] = [];
  const name = (hash: Buffer): string => {
    const b = byHash.get(hash.toString('hex'))!;
    return b === a3 ? 'a3' : b === a4 ? 'a4' : b === b3 ? 'b3' : b === b4 ? 'b4' : b === b5 ? 'b5' : `s${b.entry.height}`;
  };
  const logger = recordingLogger();
  const follower = new BlockFollower({
    manager: manager as unknown as Manager,
    logger,
    tree: chain,
    headers,
    dir,
    fromHeight: 3,
    tickIntervalMs: 60_000,
    onBlock: async (b) => {
      for await (const tx of b.transactions()) void tx;
      seen.push(`block ${b.height} ${name(b.hash)}`);
    },
    onBlockDisconnected: (d) => {
      seen.push(`disconnected ${d.height} ${name(d.hash)}`);
    },
  });
  const errors: unknown[] = [];
  follower.on('error', (err) => errors.push(err));
  follower.on('listenerError', (err) => errors.push(err));
  t.teardown(() => follower.stop());
  follower.start();
  await tick(); // let the start settle, so the old branch below is delivered the ordinary way

  // The old branch, delivered and acknowledged.
  chain.setEntries([...shared.map((b) => b.entry), a3.entry, a4.entry]);
  headers.emit('tip');
  manager.emit('headers', { command: 'headers', headers: [a4.header] }, peer); // the peer's announcement brought them
  await waitFor('getdata for a3 and a4', () => asked.length === 2);
  await tick();
  answer(a3.entry.hash);
  await tick();
  answer(a4.entry.hash);
  await waitFor('a4 acknowledged', () => follower.cursor.height === 4);

  // The reorg: the header chain switches to b3..b5; the peer answers the getdata tip first, b5 on its own,
  // then b4 and b3 in one burst.
  chain.setEntries([...shared.map((b) => b.entry), b3.entry, b4.entry, b5.entry]);
  headers.emit('reorg');
  manager.emit('headers', { command: 'headers', headers: [b3.header, b4.header, b5.header] }, peer);
  await waitFor('both disconnects', () => follower.cursor.height === 2);
  await waitFor('getdata for b3, b4 and b5', () => asked.length === 3);
  await tick();
  answer(b5.entry.hash);
  answer(b4.entry.hash);
  answer(b3.entry.hash);
  // The follower must get there on its own: nothing else happens on the chain or the wire from here.
  await waitFor('b5 acknowledged', () => follower.cursor.height === 5, 3_000).catch((err: Error) => t.fail(err.message));

  t.same(
    seen,
    ['block 3 a3', 'block 4 a4', 'disconnected 4 a4', 'disconnected 3 a3', 'block 3 b3', 'block 4 b4', 'block 5 b5'],
    'old branch, its blocks disconnected tip first, then the whole new branch, each once',
  );
  t.match(follower.cursor, { height: 5, hash: b5.entry.hash }, 'the cursor is at the new tip');
  t.same(errors, [], 'no error or listener error');
  // The log tells the same story: started below height 3, two disconnects tip first, each cursor move.
  t.match(logger.find('block follower started')[0]?.fields, { cursor: 2 });
  t.same(
    logger.find('block disconnected').map((r) => r.fields),
    [{ height: 4, hash: toDisplayHex(a4.entry.hash) }, { height: 3, hash: toDisplayHex(a3.entry.hash) }],
  );
  t.same(logger.find('cursor saved').map((r) => r.fields.height), [3, 4, 3, 2, 3, 4, 5]);
  t.ok(logger.find('cursor saved').every((r) => r.level === 'debug'), 'cursor saves at debug');
});

// `bsv-wire block HASH` prints the txid of a transaction over hugeTxThreshold too (it arrives in pieces,
// not as one blockTx): a loopback peer serves a block holding a 20 MB transaction, generated as it is sent.
import t from 'tap';
import { toDisplayHex } from '../../lib/hash.js';
import { hugeTxBlock, rechunk, sha256dOf } from '../block/fixtures/huge-tx-source.js';
import { serveBlock } from './fixtures/block-server.js';
import { startCli, tempDir } from './fixtures/run-cli.js';

t.test('the txid of a huge transaction is printed in its place', async (t) => {
  const block = hugeTxBlock(20_000_000);
  const checksum = sha256dOf(block.segments()).subarray(0, 4);
  const port = await serveBlock(t, { hash: block.hash, payloadLength: block.payloadLength, checksum, pieces: () => rechunk(block.segments(), 1 << 16) });
  const run = startCli(['block', toDisplayHex(block.hash), '--network', 'regtest', '--peer', `127.0.0.1:${port}`, '--datadir', tempDir(t)], {
    killAfterMs: 120_000,
  });
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  t.ok(block.txSize > 16 * 1024 * 1024, `the tx (${block.txSize} bytes) is over the default threshold`);
  const lines = result.stdout.trim().split('\n');
  t.same(lines.slice(0, 2), [toDisplayHex(block.coinbaseTxid), toDisplayHex(block.txid)], 'both txids, in block order');
  t.match(lines[2], new RegExp(`^block ${toDisplayHex(block.hash)}: 2 transactions, .*\\(${block.payloadLength} bytes\\), merkle root ok`));
  t.equal(lines.length, 3);
});

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// A 50 MB block streamed through the decoder in a child process, generated chunk by chunk:
// the child's RSS must grow by far less than the block, proving nothing holds it whole.
t.test('decoding a 50 MB block keeps RSS growth under 64 MB', (t) => {
  const child = fileURLToPath(new URL('./fixtures/memory-child.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', child, '50000000'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const figures = JSON.parse(out.trim().split('\n').pop()!) as {
    baselineRss: number;
    peakRss: number;
    maxSampledRss: number;
    payloadLength: number;
    largestTx: number;
    txs: number;
    txCount: number;
    merkleRootOk: boolean;
  };
  t.ok(figures.payloadLength >= 50_000_000, 'the block is at least 50 MB');
  t.ok(figures.largestTx > 65536, 'it holds transactions larger than a chunk');
  t.equal(figures.txs, figures.txCount, 'every transaction was emitted');
  t.equal(figures.merkleRootOk, true, 'and they hash to the header merkle root');
  const growth = Math.max(figures.peakRss, figures.maxSampledRss) - figures.baselineRss;
  t.comment(`RSS growth ${(growth / 1e6).toFixed(1)} MB for a ${(figures.payloadLength / 1e6).toFixed(1)} MB block`);
  t.ok(growth < 64 * 1024 * 1024, `RSS growth ${(growth / 1e6).toFixed(1)} MB < 64 MiB`);
  t.end();
});

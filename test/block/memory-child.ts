/**
 * Child process for the memory test: streams a synthetic block of `argv[2]` bytes through
 * BlockStreamDecoder in 64 KiB chunks, generated chunk by chunk (never held whole), and prints
 * one JSON line with the RSS figures. Run with `node --import tsx`.
 */
import { BlockStreamDecoder } from '../../lib/block/stream-decoder.js';
import { planSyntheticBlock, syntheticBlockChunks } from '../../bench/synthetic-block.js';

const targetBytes = Number(process.argv[2] ?? 50_000_000);
const spec = { targetBytes, seed: 21 };
const baselineRss = process.memoryUsage.rss();
const info = planSyntheticBlock(spec);
let txs = 0;
let maxSampledRss = 0;
const decoder = new BlockStreamDecoder({
  payloadLength: info.payloadLength,
  verifyMerkleRoot: true,
  onTransaction: () => {
    txs++;
  },
});
let chunks = 0;
for (const chunk of syntheticBlockChunks(spec, info, 65536)) {
  decoder.push(chunk);
  if (++chunks % 32 === 0) maxSampledRss = Math.max(maxSampledRss, process.memoryUsage.rss());
}
const summary = decoder.end();
const peakRss = process.resourceUsage().maxRSS * 1024;
process.stdout.write(
  JSON.stringify({
    baselineRss,
    peakRss,
    maxSampledRss,
    payloadLength: info.payloadLength,
    largestTx: info.largestTx,
    txs,
    txCount: summary.txCount,
    merkleRootOk: summary.merkleRootOk,
  }) + '\n',
);

/**
 * One measuring process of the block sync benchmark (bench/block-sync.ts). Usage:
 *   node --import tsx bench/block-sync-child.ts limit <chain.json>
 *     the single-process limit for the same bytes: every block's payload file read in 64 KiB chunks, the frame
 *     checksum (sha256d of the payload) and sha256d of every transaction, tx boundaries given (bench/contenders.ts).
 *   node --import tsx bench/block-sync-child.ts sync <chain.json> <sleepMs> <stopHeight|-> <silentPort,...|-> <port>...
 *     Manager (these loopback ports as manual peers) + HeaderFollower + BlockFollower (spool in a temporary
 *     directory) from height 1; the handler reads every transaction of each block back from the spool, then
 *     sleeps `sleepMs`. Timed from manager.start() until the cursor reaches the tip (or stopHeight). For the
 *     blocks first asked of a silent port: when they were asked again of another peer and when they were delivered.
 * Prints one JSON line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { genesisHeader } from '../lib/chain/genesis.js';
import { HeaderTree } from '../lib/chain/header-tree.js';
import { HeaderFollower } from '../lib/chain/header-follower.js';
import { BlockFollower } from '../lib/chain/block-follower.js';
import { Manager } from '../lib/manager/index.js';
import { regtest } from '../lib/networks.js';
import { ACCEPT_ANY_UA } from '../lib/peer/user-agent.js';
import { toDisplayHex } from '../lib/hash.js';
import { contenders } from './contenders.js';
import type { BenchChain } from './block-sync-chain.js';

const [mode, chainPath, ...rest] = process.argv.slice(2);
const chain = JSON.parse(readFileSync(chainPath!, 'utf8')) as BenchChain;

if (mode === 'limit') {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let bytes = 0;
  for (const block of chain.blocks) {
    const outcome = await contenders.limit!.run(block);
    if (outcome.txCount !== block.txCount || outcome.lastTxid !== block.lastTxid || outcome.checksumOk === false) throw new Error(`limit: wrong result for ${block.name}`);
    bytes += block.payloadLength;
  }
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify({ bytes, wallMs, cpuMs: (c.user + c.system) / 1000 }));
} else if (mode === 'sync') {
  const [sleepText, stopText, silentText, ...portTexts] = rest;
  const sleepMs = Number(sleepText);
  const stopHeight = stopText === '-' ? chain.blocks.length : Number(stopText);
  const silentPorts = new Set(silentText === '-' ? [] : silentText!.split(',').map(Number));
  const ports = [...silentPorts, ...portTexts.map(Number)];
  const expected = new Map(chain.blocks.map((b) => [b.hash, b]));
  const dir = mkdtempSync(join(tmpdir(), 'bsv-wire-block-sync-bench-'));
  const baselineRss = process.memoryUsage().rss;
  let manager: Manager | undefined;
  let headers: HeaderFollower | undefined;
  let blocks: BlockFollower | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const tree = HeaderTree.fromGenesis(genesisHeader(regtest)!);
    manager = new Manager({
      network: regtest,
      outbound: 0,
      discover: false,
      feelerIntervalMs: 0,
      peers: ports.map((p) => `127.0.0.1:${p}`),
      peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
    });
    headers = new HeaderFollower({ manager, tree });
    const problems: string[] = [];
    const drops: string[] = [];
    let bytes = 0;
    let delivered = 0;
    let maxSampledRss = 0;
    const askedOfSilent = new Map<string, number>();
    const reasked = new Map<string, { at: number; reason: string }>();
    const deliveredAt = new Map<string, number>();
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    blocks = new BlockFollower({
      manager,
      tree,
      headers,
      dir,
      fromHeight: 1,
      sync: { stopHeight },
      onBlock: async (block) => {
        const hex = toDisplayHex(block.hash);
        deliveredAt.set(hex, performance.now());
        const want = expected.get(hex);
        let txs = 0;
        for await (const tx of block.transactions()) {
          txs++;
          if (tx.raw === undefined) for await (const _ of tx.pieces()) void _;
        }
        if (!want || want.height !== block.height || txs !== want.txCount || block.bytes !== want.payloadLength || block.merkleRootOk === false) {
          problems.push(`block ${block.height}: ${txs} txs, ${block.bytes} bytes, merkle ${String(block.merkleRootOk)}`);
        }
        bytes += block.bytes;
        delivered++;
        if (sleepMs > 0) await sleep(sleepMs);
        if (block.height === stopHeight) done();
      },
    });
    blocks.on('drop', (d) => drops.push(d.reason));
    blocks.on('error', (e) => {
      problems.push(`error: ${String(e)}`);
      done();
    });
    blocks.on('rerequest', (e) => {
      const hex = toDisplayHex(e.hash);
      if (!reasked.has(hex)) reasked.set(hex, { at: performance.now(), reason: e.reason });
    });
    manager.on('peer:ready', (peer) => {
      if (!silentPorts.has(peer.remotePort)) return;
      const send = peer.send.bind(peer);
      peer.send = (m) => {
        if (m.command === 'getdata') for (const item of m.inventory) if (item.type === 2) askedOfSilent.set(toDisplayHex(item.hash), performance.now());
        return send(m);
      };
    });
    sampler = setInterval(() => (maxSampledRss = Math.max(maxSampledRss, process.memoryUsage().rss)), 100);
    headers.start();
    blocks.start();
    const timeout = setTimeout(() => {
      problems.push(`timed out at cursor ${blocks!.cursor.height}`);
      done();
    }, 600_000);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await manager.start();
    await finished;
    clearTimeout(timeout);
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const stalls = [...askedOfSilent].map(([hash, at]) => ({
      hash,
      reaskedMs: reasked.has(hash) ? reasked.get(hash)!.at - at : undefined,
      reason: reasked.get(hash)?.reason,
      deliveredMs: deliveredAt.has(hash) ? deliveredAt.get(hash)! - at : undefined,
    }));
    console.log(
      JSON.stringify({
        height: blocks.cursor.height,
        bytes,
        delivered,
        wallMs,
        cpuMs: (c.user + c.system) / 1000,
        baselineRss,
        peakRss: process.resourceUsage().maxRSS * 1024,
        maxSampledRss,
        drops,
        problems,
        stalls,
      }),
    );
  } finally {
    clearInterval(sampler);
    await blocks?.stop();
    headers?.stop();
    await manager?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  throw new Error('usage: block-sync-child.ts limit <chain.json> | sync <chain.json> <sleepMs> <stopHeight|-> <silentPorts|-> <port>...');
}

// bsv-wire sync / follow: blocks of the best chain in order through a BlockFollower (cursor and spool in
// DATADIR/blocks, headers in the data directory's HeaderStore), for an indexer to read or pipe.
//   sync --from HEIGHT|--resume [--to HEIGHT]: every block once, in order, with progress; exits 0 at --to.
//   follow: new blocks, blockDisconnected, reorgs and mempool txs as they happen, until Ctrl-C/--duration.
import { mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fromDisplayHex, toDisplayHex } from '../hash.js';
import { HeaderStore, HeaderStoreLockedError } from '../chain/header-store.js';
import { HeaderFollower } from '../chain/header-follower.js';
import { BlockFollower, type DeliveredBlock } from '../chain/block-follower.js';
import { MempoolWatcher } from '../chain/mempool-watcher.js';
import type { Manager } from '../manager/index.js';
import { CAPTURE_OPTIONS, CAPTURE_USAGE, CliError, NETWORK_OPTIONS, PEER_OPTIONS, StopSignal, formatDuration, networkFrom, parseCommandArgs, parseDurationMs } from './common.js';
import { createManager, sessionOptionsFrom, watchForNoPeers, type SessionOptions } from './session.js';
import { peerLabel } from './connect-events.js';
import { reorgEvent } from './headers.js';
import { createManagerMetrics, type BsvWireMetrics, type MetricsServer } from '../metrics/index.js';
import { METRICS_OPTIONS, METRICS_USAGE, metricsAddressFrom, startMetricsEndpoint } from './metrics-endpoint.js';
import { cliLogger } from './log.js';

export const SYNC_USAGE = `usage: bsv-wire sync --from HEIGHT|HASH|--resume [--to HEIGHT] [--json] [options]
  Downloads the blocks of the best chain, in order, each once, from all peers. The data directory holds
  the header store and, in blocks/, the cursor (the last block printed) and the download spool.
  --from HEIGHT|HASH start at this height, or at this block (explorer hex; its header must be in the store)
                     (either forgets a saved cursor)
  --resume           continue after the saved cursor
  --to HEIGHT        exit 0 once this block is done (without it: keep following the tip until Ctrl-C)
  --json             one line per block: {"event":"block","height","hash","size","txCount"}
  --timeout SECONDS  give up after this long
  plus --network, --peer, --proxy, --outbound, --datadir, --dns-server, --seed, --port
${METRICS_USAGE}  On a terminal it draws a progress bar (blocks/s, MB/s, peers, ETA); piped, a progress line every 5 s.
${CAPTURE_USAGE}`;

export const FOLLOW_USAGE = `usage: bsv-wire follow [--json] [--duration SECONDS] [options]
  Prints what happens on the chain as JSON lines an indexer can pipe: "block" (in chain order, each once),
  "blockDisconnected" (an acknowledged block left the best chain, tip first), "reorg" (the header chain
  switched branch) and "tx" (a mempool transaction, once per txid). Blocks continue after the saved cursor
  of DATADIR/blocks (shared with sync); without one, from the next block after the header tip.
  --duration SECONDS stop after this long (default: until Ctrl-C)
  plus --network, --peer, --proxy, --outbound, --datadir, --dns-server, --seed, --port
${METRICS_USAGE}${CAPTURE_USAGE}`;

/** What sync and follow share: where to connect, capture and metrics. */
const SESSION_OPTIONS = {
  ...NETWORK_OPTIONS,
  ...PEER_OPTIONS,
  ...CAPTURE_OPTIONS,
  ...METRICS_OPTIONS,
  outbound: { type: 'string' },
} as const;

const SYNC_OPTIONS = {
  ...SESSION_OPTIONS,
  from: { type: 'string' },
  resume: { type: 'boolean', default: false },
  to: { type: 'string' },
  timeout: { type: 'string' },
} as const;

const FOLLOW_OPTIONS = { ...SESSION_OPTIONS, duration: { type: 'string' } } as const;

const TTY_REDRAW_MS = 200;
const PLAIN_PROGRESS_MS = 5_000;
/** How long follow waits for the header chain to catch up before choosing where new blocks start. */
const HEADERS_WAIT_MS = 30_000;

function parseHeight(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,9}$/.test(text)) throw new CliError(`${what}: expected a height, got ${JSON.stringify(text)}`, 2);
  return Number(text);
}

function blockEvent(b: DeliveredBlock): Record<string, unknown> {
  return { event: 'block', height: b.height, hash: toDisplayHex(b.hash), size: b.bytes, txCount: b.txCount };
}

function progressBar(ratio: number, width = 24): string {
  const r = Math.max(0, Math.min(1, ratio));
  const filled = Math.round(r * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(r * 100).toFixed(1).padStart(5)}%`;
}

async function openStore(session: SessionOptions): Promise<HeaderStore> {
  await mkdir(session.dataDir, { recursive: true });
  try {
    return await HeaderStore.open(session.dataDir, session.network);
  } catch (err) {
    if (err instanceof HeaderStoreLockedError) throw new CliError(`${err.message} (another bsv-wire on this data directory?)`);
    throw err;
  }
}

const readyPeers = (manager: Manager): number => manager.peers.filter((p) => p.state === 'ready').length;

/** Writes a JSON line; waits for stdout to drain so a slow reader slows the handler (and so the download). */
function emitJson(event: Record<string, unknown>): Promise<void> | undefined {
  if (process.stdout.write(`${JSON.stringify(event)}\n`)) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

export async function runSync(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, SYNC_OPTIONS);
  const fromHash = values.from !== undefined && /^[0-9a-fA-F]{64}$/.test(values.from) ? fromDisplayHex(values.from) : undefined;
  const from = fromHash ? undefined : parseHeight(values.from, '--from');
  const resume = values.resume === true;
  if ((from === undefined && fromHash === undefined) === !resume) throw new CliError('give one of --from HEIGHT|HASH or --resume', 2);
  const to = parseHeight(values.to, '--to');
  if (to !== undefined && from !== undefined && to < from) throw new CliError(`--to ${to} is below --from ${from}`, 2);
  const timeoutMs = parseDurationMs(values.timeout);
  const json = values.json === true;
  const tty = !json && process.stdout.isTTY === true;
  const session = sessionOptionsFrom(networkFrom(values), values, { outbound: 4 });
  const metricsAddress = metricsAddressFrom(values.metrics);
  const blocksDir = join(session.dataDir, 'blocks');
  const cursorFile = join(blocksDir, 'cursor.json');
  if (resume && !existsSync(cursorFile)) throw new CliError(`no saved cursor in ${blocksDir}: start with --from HEIGHT`, 2);
  if (from !== undefined || fromHash !== undefined) await rm(cursorFile, { force: true });

  const store = await openStore(session);
  const manager = createManager(session);
  const headers = new HeaderFollower({ manager, store, logger: cliLogger() });
  const metrics = metricsAddress ? createManagerMetrics(manager).watchHeaderFollower(headers) : undefined;
  let metricsServer: MetricsServer | undefined;
  const stop = new StopSignal(timeoutMs);
  let fatal: unknown;
  const fail = (err: unknown): void => {
    fatal ??= err;
    stop.stop('error');
  };
  let barShown = false;
  const say = (line: string): void => {
    process.stdout.write(`${barShown ? '\r\x1b[K' : ''}${line}\n`);
    barShown = false;
  };
  const started = Date.now();
  let blocks = 0;
  let bytes = 0;
  let reachedTo = false;
  let lastDrawn = 0;
  let lastPlain = started;
  let follower: BlockFollower | undefined;

  const progress = (height: number, force: boolean): void => {
    if (json) return;
    const now = Date.now();
    if (tty ? !force && now - lastDrawn < TTY_REDRAW_MS : !force && now - lastPlain < PLAIN_PROGRESS_MS) return;
    lastDrawn = lastPlain = now;
    const seconds = Math.max(0.001, (now - started) / 1000);
    const perSecond = blocks / seconds;
    const goal = to ?? store.tree.best.height;
    const left = Math.max(0, goal - height);
    const eta = perSecond > 0 ? formatDuration((left / perSecond) * 1000) : '-';
    const text = `height ${height}/${goal}  ${perSecond.toFixed(1)} blocks/s  ${(bytes / seconds / 1e6).toFixed(2)} MB/s  ${readyPeers(manager)} peers  ETA ${eta}`;
    if (tty) {
      process.stdout.write(`\r\x1b[K${progressBar(goal > 0 ? height / goal : 1)} ${text}`);
      barShown = true;
    } else say(text);
  };

  const stopWatching = watchForNoPeers(manager, session, fail);
  try {
    if (fromHash) {
      const entry = store.tree.get(fromHash);
      if (!entry || !store.tree.atHeight(entry.height)?.hash.equals(fromHash)) {
        throw new CliError(`--from ${values.from}: not a block of the best chain in the header store (run bsv-wire headers first)`, 2);
      }
      if (to !== undefined && to < entry.height) throw new CliError(`--to ${to} is below --from's height ${entry.height}`, 2);
    }
    follower = new BlockFollower({
      manager,
      logger: cliLogger(),
      tree: store.tree,
      headers,
      dir: blocksDir,
      ...(fromHash ? { fromHash } : { fromHeight: from ?? 0 }),
      onBlock: async (b) => {
        // Past --to: refuse it, so the cursor stays at --to (the follower stops on a rejected handler).
        if (to !== undefined && b.height > to) throw new PastTarget();
        blocks++;
        bytes += b.bytes;
        if (json) await emitJson(blockEvent(b));
        progress(b.height, false);
        if (to !== undefined && b.height === to) {
          reachedTo = true;
          void follower?.stop(); // no further block is handed over; this one's acknowledgement is still saved
          stop.stop('done');
        }
      },
      onBlockDisconnected: async (d) => {
        if (json) await emitJson({ event: 'blockDisconnected', height: d.height, hash: toDisplayHex(d.hash) });
        else say(`block ${d.height} ${toDisplayHex(d.hash)} disconnected (reorg)`);
      },
    });
    follower.on('error', (err) => {
      if (!(err instanceof PastTarget)) fail(err);
    });
    follower.on('drop', (d) => {
      if (!json) say(`dropped ${peerLabel(d.peer)}: ${d.reason}`);
    });
    const start = follower.cursor.height + 1;
    if (to !== undefined && start > to) throw new CliError(`the cursor is at ${follower.cursor.height}, past --to ${to}`, 2);
    if (!json) say(`${resume ? 'resuming' : 'syncing'} blocks from height ${start}${to !== undefined ? ` to ${to}` : ''} (cursor in ${blocksDir})`);
    metrics?.watchBlockFollower(follower);
    if (metricsAddress && metrics) metricsServer = await startMetricsEndpoint(metricsAddress, metrics);
    headers.start();
    follower.start();
    await manager.start();
    const cause = await stop.wait();
    await follower.stop(); // lets the handler that stopped us finish, so its acknowledgement is in the cursor
    if (fatal) throw fatal;
    if (to !== undefined && !reachedTo) {
      throw new CliError(`${cause === 'duration' ? `not done after --timeout ${values.timeout} s` : 'interrupted'} at height ${follower.cursor.height} (the cursor keeps it; --resume continues)`);
    }
    const seconds = (Date.now() - started) / 1000;
    const c = follower.cursor;
    if (json) await emitJson({ event: 'done', height: c.height, hash: c.hash ? toDisplayHex(c.hash) : undefined, blocks, bytes, seconds });
    else say(`synced ${blocks} blocks (${(bytes / 1e6).toFixed(2)} MB) to height ${c.height} in ${formatDuration(seconds * 1000)}`);
    return 0;
  } finally {
    stopWatching();
    stop.dispose();
    await follower?.stop();
    headers.stop();
    if (barShown) process.stdout.write('\n');
    await manager.stop();
    await session.capture?.close();
    await store.close();
    await closeMetrics(metrics, metricsServer);
  }
}

async function closeMetrics(metrics: BsvWireMetrics | undefined, server: MetricsServer | undefined): Promise<void> {
  metrics?.close();
  await server?.close();
}

class PastTarget extends Error {
  constructor() {
    super('past --to');
  }
}

export async function runFollow(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, FOLLOW_OPTIONS);
  const durationMs = parseDurationMs(values.duration);
  const session = sessionOptionsFrom(networkFrom(values), values, { outbound: 4 });
  const metricsAddress = metricsAddressFrom(values.metrics);
  const blocksDir = join(session.dataDir, 'blocks');
  const hasCursor = existsSync(join(blocksDir, 'cursor.json'));
  // Lines are JSON either way: follow is a stream for a program (--json is accepted for symmetry with sync).
  const store = await openStore(session);
  const manager = createManager(session);
  const headers = new HeaderFollower({ manager, store, logger: cliLogger() });
  const mempool = new MempoolWatcher({ manager, logger: cliLogger() });
  const metrics = metricsAddress ? createManagerMetrics(manager).watchHeaderFollower(headers).watchMempoolWatcher(mempool) : undefined;
  let metricsServer: MetricsServer | undefined;
  const stop = new StopSignal(durationMs);
  let fatal: unknown;
  const fail = (err: unknown): void => {
    fatal ??= err;
    stop.stop('error');
  };
  let follower: BlockFollower | undefined;
  const stopWatching = watchForNoPeers(manager, session, fail);
  try {
    headers.on('reorg', (r) => void emitJson(reorgEvent(r)));
    mempool.on('tx', (e) => void emitJson({ event: 'tx', txid: toDisplayHex(e.txid), size: e.raw?.length, firstAnnouncer: e.firstAnnouncer, announcers: e.announcers }));
    if (metricsAddress && metrics) metricsServer = await startMetricsEndpoint(metricsAddress, metrics);
    headers.start();
    mempool.start();
    await manager.start();
    if (!hasCursor) await headersCaughtUp(headers, store, manager, stop.signal);
    if (stop.cause) {
      if (fatal) throw fatal;
      return 0;
    }
    follower = new BlockFollower({
      manager,
      logger: cliLogger(),
      tree: store.tree,
      headers,
      dir: blocksDir,
      fromHeight: store.tree.best.height + 1,
      onBlock: (b) => emitJson(blockEvent(b)),
      onBlockDisconnected: (d) => emitJson({ event: 'blockDisconnected', height: d.height, hash: toDisplayHex(d.hash) }),
    });
    follower.on('error', fail);
    metrics?.watchBlockFollower(follower);
    void emitJson({ event: 'following', cursor: follower.cursor.height, headerTip: store.tree.best.height });
    follower.start();
    await stop.wait();
    if (fatal) throw fatal;
    return 0;
  } finally {
    stopWatching();
    stop.dispose();
    await follower?.stop();
    mempool.stop();
    headers.stop();
    await manager.stop();
    await session.capture?.close();
    await store.close();
    await closeMetrics(metrics, metricsServer);
  }
}

/** Resolves when the header follower reports synced, or the best header reached a ready peer's height, or on stop. */
function headersCaughtUp(headers: HeaderFollower, store: HeaderStore, manager: Manager, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const deadline = Date.now() + HEADERS_WAIT_MS;
    const done = (): void => {
      clearInterval(timer);
      headers.off('synced', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setInterval(() => {
      const peers = manager.peers.filter((p) => p.state === 'ready');
      const peerTip = Math.max(-1, ...peers.map((p) => p.remote.version?.startHeight ?? 0));
      if ((peers.length > 0 && store.tree.best.height >= peerTip) || Date.now() > deadline) done();
    }, 100);
    headers.once('synced', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

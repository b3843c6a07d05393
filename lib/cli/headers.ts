// bsv-wire headers [--to HEIGHT|tip] [--follow] [--out FILE]: headers-first sync into the data directory's
// HeaderStore through a HeaderFollower over the Manager's peers, every header checked by the consensus rules.
import { mkdir, open as openFile } from 'node:fs/promises';
import type { ManagedPeer } from '../manager/index.js';
import { toDisplayHex } from '../hash.js';
import { HeaderStore, HeaderStoreLockedError } from '../chain/header-store.js';
import { HeaderFollower } from '../chain/header-follower.js';
import type { HeaderEntry, Reorg } from '../chain/types.js';
import { CliError, NETWORK_OPTIONS, PEER_OPTIONS, StopSignal, networkFrom, parseCommandArgs, parseDurationMs, formatDuration } from './common.js';
import { createManager, sessionOptionsFrom, watchForNoPeers, type SessionOptions } from './session.js';
import { peerLabel } from './connect-events.js';
import { cliLogger } from './log.js';

export const HEADERS_USAGE = `usage: bsv-wire headers --to HEIGHT|tip [--follow] [--out FILE] [options]
       bsv-wire headers --follow [options]
  Syncs block headers into the header store of the data directory (headers.dat, headers.idx) from the
  peers of the network, each header checked by the consensus rules (linkage, proof of work, difficulty,
  timestamps, versions, checkpoints). A second run resumes where the store stopped.
  --to HEIGHT|tip    stop at this height, or at the peers' tip (with --follow: default tip)
  --follow           once there, keep following new blocks and reorgs until Ctrl-C
  --out FILE         also write the best chain's raw 80-byte headers (genesis excluded, height 1 first)
  --timeout SECONDS  give up when not done after this long (with --follow: stop after this long)
  plus --network, --peer, --proxy, --outbound, --datadir, --dns-server, --seed, --port, --json
`;

const OPTIONS = {
  ...NETWORK_OPTIONS,
  ...PEER_OPTIONS,
  outbound: { type: 'string' },
  to: { type: 'string' },
  out: { type: 'string' },
  timeout: { type: 'string' },
  follow: { type: 'boolean', default: false },
} as const;

/** How long the best header may sit at every peer's announced height before "--to HEIGHT" above it fails
 * (bcash answers a getheaders it has nothing for with silence, not an empty headers message). */
const AT_PEER_TIP_WAIT_MS = 3_000;
const CHECK_EVERY_MS = 250;
const TTY_REDRAW_MS = 100;
const PLAIN_PROGRESS_MS = 5_000;
const EXPORT_BATCH = 4096;

/** A header as shown in JSON: height and display-order hash. */
function point(e: HeaderEntry): { height: number; hash: string } {
  return { height: e.height, hash: toDisplayHex(e.hash) };
}

export function reorgEvent(r: Reorg): Record<string, unknown> {
  return { event: 'reorg', fork: point(r.fork), disconnected: r.disconnected.map(point), connected: r.connected.map(point) };
}

export function tipEvent(e: HeaderEntry): Record<string, unknown> {
  return { event: 'tip', ...point(e), blockTime: new Date(e.time * 1000).toISOString(), chainWork: e.chainWork.toString(16).padStart(64, '0') };
}

function progressBar(done: number, total: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(1).padStart(5)}%`;
}

async function openStore(session: SessionOptions): Promise<HeaderStore> {
  await mkdir(session.dataDir, { recursive: true });
  try {
    return await HeaderStore.open(session.dataDir, session.network);
  } catch (err) {
    if (err instanceof HeaderStoreLockedError) throw new CliError(`${err.message} (bsv-wire headers --follow?)`);
    throw err;
  }
}

/** Writes the best chain's headers 1..height to `file` (replacing it). */
async function exportHeaders(store: HeaderStore, height: number, file: string): Promise<void> {
  const handle = await openFile(file, 'w');
  try {
    for (let from = 1; from <= height; from += EXPORT_BATCH) {
      const chunk: Buffer[] = [];
      for (let h = from; h < Math.min(height + 1, from + EXPORT_BATCH); h++) chunk.push(store.tree.headerBytesOf(store.tree.atHeight(h)!.hash)!);
      await handle.write(Buffer.concat(chunk));
    }
  } finally {
    await handle.close();
  }
}

export async function runHeaders(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, OPTIONS);
  // --to is required (a bare `headers` is a usage error, as before); --follow alone means "to the tip, then follow".
  if (values.to === undefined && values.follow !== true) throw new CliError('--to HEIGHT|tip is required', 2);
  const to = values.to ?? 'tip';
  const targetHeight = to === 'tip' ? undefined : /^[0-9]{1,9}$/.test(to) ? Number(to) : NaN;
  if (Number.isNaN(targetHeight)) throw new CliError(`--to: expected a height or "tip", got ${JSON.stringify(to)}`, 2);
  const follow = values.follow === true;
  const timeoutMs = parseDurationMs(values.timeout);
  const session: SessionOptions = sessionOptionsFrom(networkFrom(values), values, { outbound: 2 });
  const json = values.json === true;
  const tty = !json && process.stdout.isTTY === true;
  let barShown = false;
  const say = (line: string, event: Record<string, unknown>): void => {
    const clear = barShown ? '\r\x1b[K' : '';
    barShown = false;
    process.stdout.write(json ? `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n` : `${clear}${line}\n`);
  };

  const store = await openStore(session);
  const manager = createManager(session);
  const follower = new HeaderFollower({ manager, store, logger: cliLogger() });
  const stop = new StopSignal(timeoutMs);
  let fatal: unknown;
  const fail = (err: unknown): void => {
    fatal ??= err;
    stop.stop('error');
  };
  const stopWatching = watchForNoPeers(manager, session, fail);
  let checker: NodeJS.Timeout | undefined;
  try {
    if (store.heal) {
      const h = store.heal;
      say(`healed the header store: ${h.message}; kept ${h.keptRecords} records, dropped ${h.droppedRecords}`, { event: 'heal', reason: h.reason, message: h.message, kept: h.keptRecords, dropped: h.droppedRecords });
    }
    const resumedAt = store.tree.best;
    if (resumedAt.height > 0) say(`resuming from the header store in ${session.dataDir} at height ${resumedAt.height}`, { event: 'resume', ...point(resumedAt) });

    const started = Date.now();
    let synced = 0;
    let syncedEvent = false;
    let done = false;
    let atPeerTipSince: number | undefined;
    let lastDrawn = 0;
    let lastPlain = started;

    const peerHeight = (): { height: number; peer: ManagedPeer | undefined } => {
      let best: ManagedPeer | undefined;
      for (const p of manager.peers) {
        if (p.state !== 'ready') continue;
        if (!best || (p.remote.version?.startHeight ?? 0) > (best.remote.version?.startHeight ?? 0)) best = p;
      }
      return { height: best ? Math.max(0, best.remote.version?.startHeight ?? 0) : -1, peer: best };
    };
    const rate = (): number => {
      const seconds = (Date.now() - started) / 1000;
      return seconds > 0 ? Math.round(synced / seconds) : synced;
    };
    const goal = (): number => targetHeight ?? Math.max(peerHeight().height, store.tree.best.height);
    const showProgress = (force: boolean): void => {
      const now = Date.now();
      const height = store.tree.best.height;
      const r = rate();
      const eta = r > 0 && goal() > height ? formatDuration(((goal() - height) / r) * 1000) : '-';
      if (json) {
        if (force || now - lastDrawn >= 1000) {
          lastDrawn = now;
          say('', { event: 'progress', height, target: goal(), headersPerSecond: r, etaSeconds: r > 0 ? Math.max(0, Math.round((goal() - height) / r)) : undefined });
        }
      } else if (tty) {
        if (force || now - lastDrawn >= TTY_REDRAW_MS) {
          lastDrawn = now;
          process.stdout.write(`\r\x1b[K${progressBar(height, goal())} height ${height}/${goal()}  ${r} headers/s  ETA ${eta}`);
          barShown = true;
        }
      } else if (force || now - lastPlain >= PLAIN_PROGRESS_MS) {
        lastPlain = now;
        say(`height ${height}/${goal()}  ${r} headers/s  ETA ${eta}`, {});
      }
    };

    const finish = (): void => {
      done = true;
      const best = store.tree.best;
      const end = targetHeight === undefined ? best : store.tree.atHeight(Math.min(targetHeight, best.height))!;
      const seconds = (Date.now() - started) / 1000;
      say(
        `synced ${synced} headers to height ${end.height} (${toDisplayHex(end.hash)}) in ${formatDuration(seconds * 1000)}, ${rate()} headers/s, consensus rules checked; store at height ${best.height} in ${session.dataDir}`,
        { event: 'done', ...point(end), synced, seconds, headersPerSecond: rate(), stored: best.height, dataDir: session.dataDir, file: values.out },
      );
      if (!follow) stop.stop('duration');
      else say(`following new headers (Ctrl-C to stop)`, { event: 'following' });
    };

    // Whether the initial sync is over, or cannot reach --to.
    function check(): void {
      if (done || stop.signal.aborted) return;
      const best = store.tree.best;
      const peers = peerHeight();
      if (targetHeight !== undefined && best.height >= targetHeight) return finish();
      const atPeerTip = peers.peer !== undefined && best.height >= peers.height;
      if (atPeerTip) atPeerTipSince ??= Date.now();
      else atPeerTipSince = undefined;
      if (targetHeight === undefined) {
        if (syncedEvent || atPeerTip) finish();
        return;
      }
      if (syncedEvent || (atPeerTipSince !== undefined && Date.now() - atPeerTipSince >= AT_PEER_TIP_WAIT_MS)) {
        const who = peers.peer ? `peer ${peerLabel(peers.peer)}` : 'no peer';
        fail(new CliError(`${who} has no headers past height ${best.height} (asked for --to ${targetHeight})`));
      }
    }

    follower.on('header', () => {
      synced++;
    });
    follower.on('tip', (entry) => {
      if (!done) {
        showProgress(false);
        check();
      } else if (follow) say(`tip ${entry.height} ${toDisplayHex(entry.hash)}`, tipEvent(entry));
    });
    follower.on('reorg', (r) => say(`reorg at fork ${r.fork.height} ${toDisplayHex(r.fork.hash)}: ${r.disconnected.length} headers disconnected, ${r.connected.length} connected`, reorgEvent(r)));
    follower.on('synced', () => {
      syncedEvent = true;
      check();
    });
    follower.on('drop', (e) => say(`dropped ${peerLabel(e.peer)}: ${e.reason}`, { event: 'drop', peer: peerLabel(e.peer), reason: e.reason, ban: e.ban }));
    follower.on('listenerError', (err) => say(`warning: ${String(err)}`, { event: 'warning', message: String(err) }));
    manager.on('peer:ready', (peer) => {
      const v = peer.remote.version;
      say(`syncing with ${peerLabel(peer)} (${v?.userAgent}, height ${v?.startHeight}) from height ${store.tree.best.height}`, {
        event: 'peer',
        peer: peerLabel(peer),
        userAgent: v?.userAgent,
        height: v?.startHeight,
        from: store.tree.best.height,
      });
    });

    checker = setInterval(() => check(), CHECK_EVERY_MS);
    follower.start();
    await manager.start();
    const cause = await stop.wait();
    if (!done) {
      if (fatal) throw fatal;
      if (cause === 'duration') throw new CliError(`not done after --timeout ${values.timeout} s (at height ${store.tree.best.height})`);
      throw new CliError(`interrupted at height ${store.tree.best.height} (the store keeps it; run again to resume)`);
    }
    if (fatal) throw fatal;
    if (values.out) {
      const end = targetHeight === undefined ? store.tree.best.height : Math.min(targetHeight, store.tree.best.height);
      await exportHeaders(store, end, values.out);
    }
    return 0;
  } finally {
    clearInterval(checker);
    stopWatching();
    stop.dispose();
    follower.stop();
    if (barShown) process.stdout.write('\n');
    await manager.stop();
    await store.close();
  }
}

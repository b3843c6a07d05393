// bsv-wire connect: run a Manager and show what the network says, as a live view on a terminal,
// JSON lines with --json, or plain log lines when piped.
import type { Manager } from '../manager/index.js';
import { formatTarget } from '../transport/index.js';
import { CAPTURE_OPTIONS, CAPTURE_USAGE, CliError, errorLine, NETWORK_OPTIONS, PEER_OPTIONS, StopSignal, networkFrom, parseCommandArgs, parseDurationMs, type StopCause } from './common.js';
import { ConnectTracker, describeEvent, peerLabel, type ConnectEvent } from './connect-events.js';
import { LiveScreen, renderLiveView, type LiveState } from './live-view.js';
import { createManager, sessionOptionsFrom, watchForNoPeers, type SessionOptions } from './session.js';
import { HeaderStore, HeaderStoreLockedError } from '../chain/header-store.js';
import { HeaderFollower } from '../chain/header-follower.js';
import { mkdir } from 'node:fs/promises';
import { createManagerMetrics, type MetricsServer } from '../metrics/index.js';
import { METRICS_OPTIONS, METRICS_USAGE, metricsAddressFrom, startMetricsEndpoint } from './metrics-endpoint.js';
import { cliLogger } from './log.js';

export const CONNECT_USAGE = `usage: bsv-wire connect [options]
  --network mainnet|testnet|stn|regtest   (default mainnet)
  --peer HOST:PORT        connect to this peer only (repeatable; no discovery)
  --proxy socks5://[user:pass@]host:port   everything through the proxy, no local DNS
  --outbound N            outbound connections to hold (default 8)
  --inbound N             inbound connections to accept with --listen (default 8)
  --listen HOST:PORT      accept inbound connections (port 0: any free port, shown in the "listening" event)
  --datadir DIR           where the peer store lives (default ~/.bsv-wire/<network>)
  --dns-server HOST:PORT  resolver for the DNS seeds (repeatable; default the system's)
  --seed NAME             DNS seed name to use instead of the network's (repeatable)
  --port N                the network's P2P port (for seed answers and bare --peer hosts)
  --json                  one JSON event per line
  --duration SECONDS      stop after this long
  --log-level LEVEL       JSON log lines on stderr: trace|debug|info|warn|error|fatal|silent (default silent)
${METRICS_USAGE}${CAPTURE_USAGE}`;

const OPTIONS = {
  ...NETWORK_OPTIONS,
  ...PEER_OPTIONS,
  ...CAPTURE_OPTIONS,
  outbound: { type: 'string' },
  inbound: { type: 'string' },
  listen: { type: 'string' },
  duration: { type: 'string' },
  ...METRICS_OPTIONS,
} as const;

const REFRESH_MS = 1000;
const MAX_EVENTS = 50;

/** How events reach the user. */
interface Reporter {
  event(e: ConnectEvent): void;
  close(): void;
}

function timestamp(): string {
  return new Date().toISOString();
}

function jsonReporter(): Reporter {
  return {
    event: (e) => process.stdout.write(`${JSON.stringify({ time: timestamp(), ...e })}\n`),
    close: () => {},
  };
}

function plainReporter(): Reporter {
  return {
    event: (e) => process.stdout.write(`${timestamp()} ${describeEvent(e)}\n`),
    close: () => {},
  };
}

function liveReporter(manager: Manager, tracker: ConnectTracker, startedAt: number): Reporter {
  const screen = new LiveScreen(process.stdout);
  const events: string[] = [];
  let closed = false;
  const draw = (): void => {
    if (!closed) screen.draw(renderLiveView(liveState(manager, tracker, startedAt, events), screen.size));
  };
  const timer = setInterval(draw, REFRESH_MS);
  const onResize = (): void => draw();
  process.stdout.on('resize', onResize);
  let queued = false;
  return {
    event(e) {
      if (closed || e.event === 'start' || e.event === 'stop') return;
      events.push(`${new Date().toISOString().slice(11, 19)} ${describeEvent(e)}`);
      if (events.length > MAX_EVENTS) events.shift();
      // Redraw soon, at most once per tick, so bursts of events cost one frame.
      if (!queued) {
        queued = true;
        setTimeout(() => {
          queued = false;
          draw();
        }, 50).unref();
      }
    },
    close() {
      closed = true;
      clearInterval(timer);
      process.stdout.off('resize', onResize);
      screen.close();
    },
  };
}

function liveState(manager: Manager, tracker: ConnectTracker, startedAt: number, events: readonly string[]): LiveState {
  const stats = manager.stats();
  const now = Date.now();
  const ready = manager.peers.filter((p) => p.state === 'ready');
  const totals = tracker.totals();
  return {
    network: manager.network.name,
    uptimeMs: now - startedAt,
    listening: stats.listening ? `${stats.listening.host}:${stats.listening.port}` : undefined,
    outbound: ready.filter((p) => p.direction === 'outbound').length,
    inbound: ready.filter((p) => p.direction === 'inbound').length,
    bytesIn: totals.bytesIn,
    bytesOut: totals.bytesOut,
    bestHeight: tracker.bestHeight,
    blocks: tracker.blocksAnnounced,
    txs: tracker.txsAnnounced,
    known: stats.store.total,
    banned: stats.store.bans,
    peers: manager.peers.map((p) => {
      const s = p.stats();
      return {
        address: peerLabel(p),
        direction: s.direction,
        type: p.type,
        state: s.state,
        userAgent: s.userAgent,
        version: s.version,
        services: s.services,
        height: tracker.heightOf(p) ?? s.startHeight,
        rttMs: s.rtt.lastMs,
        bytesIn: s.bytesReceived,
        bytesOut: s.bytesSent,
        connectedMs: now - s.connectedAt,
      };
    }),
    events,
  };
}

export async function runConnect(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, OPTIONS);
  const session: SessionOptions = sessionOptionsFrom(networkFrom(values), values, { outbound: 8 });
  const durationMs = parseDurationMs(values.duration);
  const metricsAddress = metricsAddressFrom(values.metrics);
  const manager = createManager(session);
  const startedAt = Date.now();
  const stop = new StopSignal(durationMs);
  let fatal: CliError | undefined;
  // Block heights come from the header chain: the data directory's header store, or (while another
  // process writes it) a read-only copy followed in memory.
  await mkdir(session.dataDir, { recursive: true });
  let store: HeaderStore;
  let follower: HeaderFollower;
  try {
    store = await HeaderStore.open(session.dataDir, session.network);
    follower = new HeaderFollower({ manager, store, logger: cliLogger() });
  } catch (err) {
    if (!(err instanceof HeaderStoreLockedError)) throw err;
    store = await HeaderStore.open(session.dataDir, session.network, { readOnly: true });
    follower = new HeaderFollower({ manager, tree: store.tree, logger: cliLogger() });
  }
  const metrics = metricsAddress ? createManagerMetrics(manager).watchHeaderFollower(follower) : undefined;
  const tracker = new ConnectTracker(manager, (e) => reporter.event(e), { tree: store.tree, follower });
  const live = !values.json && process.stdout.isTTY === true;
  const reporter: Reporter = values.json ? jsonReporter() : live ? liveReporter(manager, tracker, startedAt) : plainReporter();
  // Listener errors must not take the process down; they show up as warnings.
  manager.on('listenerError', (err) => reporter.event({ event: 'warning', code: 'listener-error', message: String(err) }));
  follower.on('listenerError', (err) => reporter.event({ event: 'warning', code: 'listener-error', message: String(err) }));
  const stopWatching = watchForNoPeers(manager, session, (err) => {
    fatal = err;
    stop.stop('error');
  });
  // For the --duration verdict: did any peer ever complete a handshake, and why did dials fail?
  let handshakes = 0;
  let dialFailures = 0;
  let lastDialFailure: string | undefined;
  manager.on('peer:ready', () => handshakes++);
  manager.on('dial:failed', (f) => {
    dialFailures++;
    const target = formatTarget(f.host, f.port);
    // One line whatever the error says.
    const message = (f.error instanceof Error ? f.error.message : String(f.error)).replace(/\s*\n\s*/g, ' ');
    lastDialFailure = message.includes(target) ? message : `${target}: ${message}`;
  });

  reporter.event({ event: 'start', network: session.network.name, dataDir: session.dataDir, peers: session.peers, outbound: session.outbound, inbound: session.inbound });
  let cause: StopCause;
  let metricsServer: MetricsServer | undefined;
  try {
    if (metricsAddress && metrics) metricsServer = await startMetricsEndpoint(metricsAddress, metrics);
    follower.start();
    await manager.start();
    const listening = manager.listenAddress;
    if (listening) reporter.event({ event: 'listening', address: listening.family === 'IPv6' ? `[${listening.host}]:${listening.port}` : `${listening.host}:${listening.port}` });
    cause = await stop.wait();
  } catch (err) {
    cause = 'error';
    fatal = err instanceof CliError ? err : new CliError(errorLine(err));
  } finally {
    stopWatching();
    stop.dispose();
  }
  // The terminal is given back first: a second Ctrl-C during shutdown then kills a clean screen.
  if (live) {
    reporter.close();
    process.stdout.write('stopping: closing peers, saving the peer store\n');
  }
  // Graceful: peers closed, listener closed, store flushed.
  follower.stop();
  await manager.stop();
  await session.capture?.close();
  await store.close();
  metrics?.close();
  await metricsServer?.close();
  const stopped: ConnectEvent = { event: 'stop', cause, uptimeMs: Date.now() - startedAt, ...tracker.totals(), blocks: tracker.blocksAnnounced, txs: tracker.txsAnnounced };
  if (live) process.stdout.write(`${describeEvent(stopped)}\n`);
  else {
    reporter.event(stopped);
    reporter.close();
  }
  if (fatal) throw fatal;
  if (cause === 'duration' && handshakes === 0) {
    const seconds = Math.round((durationMs ?? 0) / 100) / 10;
    const dials = lastDialFailure === undefined ? '' : ` (${dialFailures} failed dial${dialFailures === 1 ? '' : 's'}, last: ${lastDialFailure})`;
    throw new CliError(`no peer completed a handshake in ${seconds} s${dials}`);
  }
  return 0;
}

// Prometheus metrics for a Manager and the chain follower, on a registry of their own (never prom-client's
// global one, so two Managers in one process never collide). Most values are read at scrape time from what
// the objects already keep (peer stats, slot counts, follower state), so the wire path does no extra work;
// only rare events (close, ban, pong, reorg, ...) are counted as they happen.
import { Counter, Gauge, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import type { Manager, ManagedPeer, ManagerStats } from '../manager/index.js';
import type { CloseReason } from '../peer/reasons.js';
import type { PeerStatsSnapshot, CommandCounters } from '../peer/stats.js';
import type { BlockEnd } from '../peer/block-receiver.js';
import { blockVerdict } from '../peer/block-receiver.js';
import type { HeaderFollower } from '../chain/header-follower.js';
import { HEADERS_STALL_REASON } from '../chain/header-sync.js';
import type { BlockFollower } from '../chain/block-follower.js';
import type { MempoolWatcher } from '../chain/mempool-watcher.js';
import type { Broadcaster } from '../chain/broadcaster.js';
import type { Reorg } from '../chain/types.js';
import type { BroadcastResult } from '../chain/broadcast.js';
import type { BlockCursor } from '../chain/block-cursor.js';

/** Every metric name starts with this. */
export const METRICS_PREFIX = 'bsvwire_';

/** RTT buckets (seconds): loopback to a slow peer across the world behind Tor. */
export const RTT_BUCKETS_SECONDS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Reorg depth buckets (blocks disconnected). */
export const REORG_DEPTH_BUCKETS: readonly number[] = [1, 2, 3, 4, 6, 10, 20, 50, 100];

export interface BsvWireMetricsOptions {
  /** Register on this registry instead of a new one (it must not be shared with another BsvWireMetrics). */
  readonly registry?: Registry;
}

/** Anything with eventemitter3's on/off. */
interface Emitter<E extends string> {
  on(event: E, fn: never): unknown;
  off(event: E, fn: never): unknown;
}

type Direction = 'sent' | 'received';

/**
 * The metrics of one Manager and the chain follower objects around it. Create it (or call
 * createManagerMetrics) before manager.start(): events before then are not counted.
 */
export class BsvWireMetrics {
  readonly registry: Registry;
  private manager: Manager | undefined;
  private headers: HeaderFollower | undefined;
  private readonly offs: (() => void)[] = [];
  /** Per command and direction: what peers that have closed sent and received (so counters never go down). */
  private readonly closedPerCommand: Record<Direction, Map<string, { messages: number; bytes: number }>> = { sent: new Map(), received: new Map() };
  private closedSocketBytes: Record<Direction, number> = { sent: 0, received: 0 };
  /** Peers that completed the handshake: a close of any other peer is a handshake failure. */
  private readonly readyPeers = new WeakSet<ManagedPeer>();
  /** RTT samples already observed per peer. */
  private readonly rttSamples = new WeakMap<ManagedPeer, number>();
  /** The Manager's stats (every live peer's snapshot), taken once per scrape: all collects of a scrape run in one synchronous pass. */
  private statsCache: ManagerStats | undefined;

  constructor(options: BsvWireMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
  }

  /** The registry's text, Prometheus 0.0.4 or (openMetrics) OpenMetrics 1.0.0. */
  async text(openMetrics = false): Promise<{ readonly contentType: string; readonly body: string }> {
    if (!openMetrics) return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    // prom-client renames counters in place when it writes OpenMetrics (it strips `_total`); a registry of
    // thin views over our metrics takes that renaming, so the Prometheus text keeps its names.
    const view = new Registry<OpenMetricsContentType>();
    view.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    for (const metric of this.registry.getMetricsAsArray()) {
      const m = metric as unknown as { name: string; help: string; type: string; get(): Promise<{ name: string }> };
      const thin = { name: m.name, help: m.help, type: m.type, get: async () => ({ ...(await m.get()), name: thin.name }), reset: () => {} };
      view.registerMetric(thin as never);
    }
    return { contentType: view.contentType, body: await view.metrics() };
  }

  /** Take a Manager's peers and events (one Manager per BsvWireMetrics). */
  watchManager(manager: Manager): this {
    if (this.manager) throw new Error('BsvWireMetrics already watches a Manager');
    this.manager = manager;
    const reg = [this.registry];
    const stats = (): ManagerStats => this.scrapeStats();

    new Gauge({
      name: 'bsvwire_peers',
      help: 'Connections held, by direction, slot type and state',
      labelNames: ['direction', 'type', 'state'],
      registers: reg,
      collect() {
        this.reset();
        for (const p of stats().peers) this.inc({ direction: p.direction, type: p.type, state: p.state });
      },
    });
    new Gauge({
      name: 'bsvwire_peer_slots',
      help: 'Connection slots held per kind (a closing outbound peer holds its slot until its socket is gone)',
      labelNames: ['kind'],
      registers: reg,
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(stats().slots)) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'bsvwire_peer_slot_limit',
      help: 'Connection slot limit per kind',
      labelNames: ['kind'],
      registers: reg,
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(stats().limits)) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'bsvwire_addresses',
      help: 'Addresses in the peer store, by table (new, tried)',
      labelNames: ['table'],
      registers: reg,
      collect() {
        this.reset();
        const counts = stats().store;
        this.set({ table: 'new' }, counts.new);
        this.set({ table: 'tried' }, counts.tried);
      },
    });
    new Gauge({
      name: 'bsvwire_bans_active',
      help: 'Bans held in the peer store (addresses and subnets)',
      registers: reg,
      collect() {
        this.set(stats().store.bans);
      },
    });

    const perCommand = (direction: Direction, what: 'bytes' | 'messages'): void => {
      const self = this;
      new Counter({
        name: `bsvwire_peer_${what}_${direction}_total`,
        help:
          what === 'bytes'
            ? `Bytes ${direction} per command (whole frames, header included; received commands without a codec count as *other*)`
            : `Messages ${direction} per command (received commands without a codec count as *other*)`,
        labelNames: ['command'],
        registers: reg,
        collect() {
          this.reset();
          for (const [command, c] of self.commandTotals(direction)) this.inc({ command }, c[what]);
        },
      });
    };
    perCommand('received', 'bytes');
    perCommand('sent', 'bytes');
    perCommand('received', 'messages');
    perCommand('sent', 'messages');
    const socketBytes = (direction: Direction): void => {
      const self = this;
      new Counter({
        name: `bsvwire_peer_socket_bytes_${direction}_total`,
        help: `Bytes ${direction} on peer sockets, as the socket counts them (partial frames included)`,
        registers: reg,
        collect() {
          this.reset();
          let total = self.closedSocketBytes[direction];
          for (const s of stats().peers) total += direction === 'sent' ? s.bytesSent : s.bytesReceived;
          this.inc(total);
        },
      });
    };
    socketBytes('received');
    socketBytes('sent');

    const closes = new Counter({ name: 'bsvwire_peer_closes_total', help: 'Connections closed, by reason code and direction', labelNames: ['reason', 'direction'], registers: reg });
    const handshakeFailures = new Counter({
      name: 'bsvwire_peer_handshake_failures_total',
      help: 'Connections closed before they became ready (a failed handshake, or over-capacity at its end), by reason code and direction',
      labelNames: ['reason', 'direction'],
      registers: reg,
    });
    const handshakes = new Counter({ name: 'bsvwire_peer_handshakes_total', help: 'Handshakes completed, by direction', labelNames: ['direction'], registers: reg });
    const bans = new Counter({ name: 'bsvwire_peer_bans_total', help: 'Peers banned for what they sent on the wire (misbehaviour score or hostile framing)', labelNames: ['direction'], registers: reg });
    const misbehavior = new Counter({ name: 'bsvwire_peer_misbehavior_total', help: 'Misbehaviour scored against peers, by kind', labelNames: ['kind'], registers: reg });
    const evictions = new Counter({ name: 'bsvwire_peer_evictions_total', help: 'Inbound peers evicted to make room', registers: reg });
    const dialFailures = new Counter({ name: 'bsvwire_dial_failures_total', help: 'Outbound-kind dials or their handshakes that failed, by slot type', labelNames: ['type'], registers: reg });
    const rtt = new Histogram({ name: 'bsvwire_peer_rtt_seconds', help: 'Ping round-trip times', buckets: [...RTT_BUCKETS_SECONDS], registers: reg });
    const blocks = new Counter({ name: 'bsvwire_blocks_received_total', help: 'Block messages streamed in, by verdict (valid, bad-checksum, bad-merkle-root, merkle-root-unchecked)', labelNames: ['verdict'], registers: reg });
    const blockBytes = new Counter({ name: 'bsvwire_block_bytes_received_total', help: 'Bytes of block messages streamed in (the block stream rate is its rate())', registers: reg });

    // Peers already past their handshake when watching starts: their close is not a handshake failure.
    for (const peer of manager.peers) if (peer.state === 'ready') this.readyPeers.add(peer);
    this.listen(manager, 'ready', (_version: unknown, peer: ManagedPeer) => {
      this.readyPeers.add(peer);
      handshakes.inc({ direction: peer.direction });
    });
    this.listen(manager, 'peer:close', (peer: ManagedPeer, reason: CloseReason) => {
      this.retire(peer.stats());
      closes.inc({ reason: reason.code, direction: peer.direction });
      if (!this.readyPeers.has(peer)) handshakeFailures.inc({ reason: reason.code, direction: peer.direction });
    });
    this.listen(manager, 'peer:ban', (peer: ManagedPeer) => bans.inc({ direction: peer.direction }));
    this.listen(manager, 'misbehavior', (event: { kind: string }) => misbehavior.inc({ kind: event.kind }));
    this.listen(manager, 'peer:evict', () => evictions.inc());
    this.listen(manager, 'dial:failed', (event: { type: string }) => dialFailures.inc({ type: event.type }));
    this.listen(manager, 'pong', (_m: unknown, peer: ManagedPeer) => {
      // The 'pong' message event comes after the core took the sample; a pong with a stale nonce adds none.
      const r = peer.rtt;
      if (r.samples > (this.rttSamples.get(peer) ?? 0) && r.lastMs !== undefined) rtt.observe(r.lastMs / 1000);
      this.rttSamples.set(peer, r.samples);
    });
    this.listen(manager, 'blockEnd', (end: BlockEnd) => {
      blocks.inc({ verdict: blockVerdict(end) });
      blockBytes.inc(end.bytes);
    });
    return this;
  }

  /** Tip height, lag behind the peers, reorgs and drops of a HeaderFollower. */
  watchHeaderFollower(follower: HeaderFollower): this {
    this.headers = follower;
    const reg = [this.registry];
    new Gauge({
      name: 'bsvwire_headers_tip_height',
      help: 'Height of the best header chain',
      registers: reg,
      collect() {
        this.set(follower.best.height);
      },
    });
    new Gauge({
      name: 'bsvwire_headers_lag',
      help: 'Blocks between the highest height a peer claimed or showed and our best header (0 when caught up)',
      registers: reg,
      collect() {
        const peers = follower.sync.bestPeerHeight;
        this.set(peers < 0 ? 0 : Math.max(0, peers - follower.best.height));
      },
    });
    const reorgs = new Counter({ name: 'bsvwire_headers_reorgs_total', help: 'Times the best header chain switched branch', registers: reg });
    const depth = new Histogram({ name: 'bsvwire_headers_reorg_depth', help: 'Blocks disconnected by each reorg', buckets: [...REORG_DEPTH_BUCKETS], registers: reg });
    const stalls = new Counter({ name: 'bsvwire_headers_stalls_total', help: 'Peers dropped for not answering getheaders in time', registers: reg });
    const drops = new Counter({ name: 'bsvwire_headers_drops_total', help: 'Peers the header follower dropped (stalls included), by whether they were banned', labelNames: ['ban'], registers: reg });
    this.listen(follower, 'reorg', (r: Reorg) => {
      reorgs.inc();
      depth.observe(r.disconnected.length);
    });
    this.listen(follower, 'drop', (d: { reason: string; ban: boolean }) => {
      drops.inc({ ban: String(d.ban) });
      if (d.reason.startsWith(HEADERS_STALL_REASON)) stalls.inc();
    });
    return this;
  }

  /**
   * Cursor, lag behind the header tip, stalls and re-requests of a BlockFollower. The header tip comes
   * from `headerTip`, or else from the HeaderFollower watched here.
   */
  watchBlockFollower(follower: BlockFollower, options: { readonly headerTip?: () => number } = {}): this {
    const reg = [this.registry];
    const tip = options.headerTip ?? (() => this.headers?.best.height);
    new Gauge({
      name: 'bsvwire_blocks_cursor_height',
      help: 'Height of the last block the app acknowledged',
      registers: reg,
      collect() {
        this.set(follower.cursor.height);
      },
    });
    new Gauge({
      name: 'bsvwire_blocks_lag',
      help: 'Blocks between the best header and the last acknowledged block',
      registers: reg,
      collect() {
        const t = tip();
        this.set(t === undefined ? 0 : Math.max(0, t - follower.cursor.height));
      },
    });
    new Gauge({
      name: 'bsvwire_blocks_spool_bytes',
      help: 'Bytes of complete blocks waiting in the spool plus the estimate in flight',
      registers: reg,
      collect() {
        this.set(follower.sync.spoolUsed);
      },
    });
    const delivered = new Counter({ name: 'bsvwire_blocks_delivered_total', help: 'Blocks handed to the app and acknowledged', registers: reg });
    const rerequests = new Counter({ name: 'bsvwire_blocks_rerequests_total', help: 'Blocks asked of another peer, by reason', labelNames: ['reason'], registers: reg });
    const stalls = new Counter({ name: 'bsvwire_blocks_stalls_total', help: 'Peers dropped for sending a block below the bandwidth floor', registers: reg });
    const drops = new Counter({ name: 'bsvwire_blocks_drops_total', help: 'Peers the block follower dropped, by reason', labelNames: ['reason'], registers: reg });
    let last = follower.cursor.height;
    this.listen(follower, 'acknowledged', (c: BlockCursor) => {
      // A rewind after a reorg saves the cursor too, one height lower.
      if (c.height > last) delivered.inc(c.height - last);
      last = c.height;
    });
    this.listen(follower, 'rerequest', (r: { reason: string }) => rerequests.inc({ reason: r.reason }));
    this.listen(follower, 'drop', (d: { reason: string }) => {
      drops.inc({ reason: d.reason });
      if (d.reason === 'block-stall') stalls.inc();
    });
    return this;
  }

  /** Transactions seen, fetched and duplicates avoided by a MempoolWatcher (read from its counters at scrape time). */
  watchMempoolWatcher(watcher: MempoolWatcher): this {
    const reg = [this.registry];
    const counter = (name: string, help: string, read: (s: ReturnType<MempoolWatcher['stats']>) => number): void => {
      new Counter({
        name,
        help,
        registers: reg,
        collect() {
          this.reset();
          this.inc(read(watcher.stats()));
        },
      });
    };
    counter('bsvwire_mempool_txs_seen_total', 'Txids announced for the first time', (s) => s.announcedNew);
    counter('bsvwire_mempool_txs_fetched_total', 'Transactions received (once per txid)', (s) => s.delivered);
    counter('bsvwire_mempool_duplicates_avoided_total', 'Announcements of a txid already seen or being fetched: no second fetch', (s) => s.duplicateAnnouncements);
    counter('bsvwire_mempool_tx_requests_total', 'Txids asked for by getdata (re-asks included)', (s) => s.requested);
    counter('bsvwire_mempool_reasks_total', 'Txids asked of another announcer after a silence or notfound', (s) => s.reasked);
    counter('bsvwire_mempool_txs_lost_total', 'Txids no announcer delivered', (s) => s.lost);
    counter('bsvwire_mempool_overflow_total', 'Announcements dropped at the in-flight limit', (s) => s.overflow);
    new Gauge({
      name: 'bsvwire_mempool_txs_in_flight',
      help: 'Txids announced and not yet received',
      registers: reg,
      collect() {
        this.set(watcher.stats().inFlight);
      },
    });
    return this;
  }

  /** Broadcast outcomes of a Broadcaster. */
  watchBroadcaster(broadcaster: Broadcaster): this {
    const reg = [this.registry];
    const outcomes = new Counter({
      name: 'bsvwire_broadcast_outcomes_total',
      help: 'Broadcasts by outcome: propagated (echoed by peers never sent it), then settled as mined, rejected or timeout',
      labelNames: ['outcome'],
      registers: reg,
    });
    new Gauge({
      name: 'bsvwire_broadcasts_active',
      help: 'Broadcasts not yet settled',
      registers: reg,
      collect() {
        this.set(broadcaster.core.active);
      },
    });
    this.listen(broadcaster, 'propagated', () => outcomes.inc({ outcome: 'propagated' }));
    this.listen(broadcaster, 'settled', (r: BroadcastResult) => outcomes.inc({ outcome: r.status }));
    return this;
  }

  /** Stop listening (the registry keeps answering with what live objects hold). */
  close(): void {
    for (const off of this.offs.splice(0)) off();
  }

  private listen<E extends string>(emitter: Emitter<E>, event: E, fn: (...args: never[]) => void): void {
    // A metrics listener must never disturb the emitter: whatever it throws stays here.
    const guarded = (...args: never[]): void => {
      try {
        fn(...args);
      } catch {
        // A failed count is not worth a connection.
      }
    };
    emitter.on(event, guarded as never);
    this.offs.push(() => emitter.off(event, guarded as never));
  }

  /** A closed peer's counters move into the totals; its live snapshot is no longer summed. */
  private retire(s: PeerStatsSnapshot): void {
    this.closedSocketBytes.sent += s.bytesSent;
    this.closedSocketBytes.received += s.bytesReceived;
    addInto(this.closedPerCommand.sent, s.sentPerCommand);
    addInto(this.closedPerCommand.received, s.receivedPerCommand);
  }

  /** Closed peers' totals plus every live peer's snapshot, per command. */
  private commandTotals(direction: Direction): Map<string, { messages: number; bytes: number }> {
    const totals = new Map<string, { messages: number; bytes: number }>();
    addInto(totals, Object.fromEntries(this.closedPerCommand[direction]));
    for (const s of this.scrapeStats().peers) addInto(totals, direction === 'sent' ? s.sentPerCommand : s.receivedPerCommand);
    return totals;
  }

  private scrapeStats(): ManagerStats {
    if (!this.statsCache) {
      this.statsCache = this.manager!.stats();
      // Dropped before any event can run: a peer closing later is then counted once, in the closed totals.
      queueMicrotask(() => (this.statsCache = undefined));
    }
    return this.statsCache;
  }
}

function addInto(into: Map<string, { messages: number; bytes: number }>, from: Readonly<Record<string, CommandCounters>>): void {
  for (const [command, c] of Object.entries(from)) {
    const t = into.get(command);
    if (t) {
      t.messages += c.messages;
      t.bytes += c.bytes;
    } else into.set(command, { messages: c.messages, bytes: c.bytes });
  }
}

/** Metrics of a Manager on a registry of their own; add followers with the watch methods. */
export function createManagerMetrics(manager: Manager, options: BsvWireMetricsOptions = {}): BsvWireMetrics {
  return new BsvWireMetrics(options).watchManager(manager);
}

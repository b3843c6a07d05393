import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { AbortError } from 'p-retry';
import { manualReconnectDelay, manualRedialDelay, resolveManualBackoff, type ManualBackoff } from './backoff.js';
import type { Network } from '../networks.js';
import type { Message, MessageOf } from '../messages/index.js';
import { formatIp, parseIp } from '../peerstore/ip.js';
import { addressKey, canonicalIp, PeerStore, splitHostPort, type BanEntry } from '../peerstore/index.js';
import { discoverSeeds, seedAddressFetchTargets } from '../discovery/index.js';
import { listen, socksDialer, tcpDialer, type Dialer, type Listener, type ListenerAddress } from '../transport/index.js';
import { resolveBufferOptions, type PeerEvents } from '../peer/connection.js';
import { systemClock, type Clock } from '../peer/clock.js';
import { PeerError, type CloseReason } from '../peer/reasons.js';
import { DEFAULT_TIMEOUTS } from '../peer/protocol.js';
import { assertSendableUserAgent } from '../peer/user-agent.js';
import { LogHook, logHook } from '../logger.js';
import { ConnectionSlots, type SlotCounts, type SlotHandle, type SlotKind } from './slots.js';
import { decideEviction } from './eviction.js';
import { AddrRateLimiter } from './addr-rate.js';
import { ManagedPeer } from './managed-peer.js';
import {
  DEFAULT_FEELER_INTERVAL_MS,
  DEFAULT_INBOUND_LIMIT,
  DEFAULT_OUTBOUND_TARGET,
  DEFAULT_SEED_FALLBACK_MS,
  type ManagerEvents,
  type ManagerOptions,
  type ManagerStats,
  type ManagerTargets,
} from './options.js';

const MAX_ADDR_PER_MESSAGE = 1000;
/**
 * Inbound sockets held beyond the inbound limit: peers turned away politely (over-capacity after the
 * handshake, no slot) and evicted or closed peers whose socket is still flushing. The Manager never
 * holds more than inbound limit + this many accepted sockets; a socket past that is closed at accept.
 */
export const INBOUND_REJECTING_ALLOWANCE = 16;

interface PeerRecord {
  slot: SlotHandle | undefined;
  limiter: AddrRateLimiter;
  answeredGetaddr: boolean;
  /** Entries in the addr messages received (counted before rate limiting). */
  addressesReceived: number;
  /** Store identity for outbound kinds ({host, port} as dialed). */
  readonly target: { readonly host: string; readonly port: number } | undefined;
}

/**
 * Keeps a node connected: discovers peers, holds outbound targets (one per netgroup) and the
 * inbound limit, evicts when full, redials manual peers, feels out new addresses, gossips
 * addresses under a rate limit, persists bans, and re-emits every peer event with the peer.
 */
export class Manager extends EventEmitter<ManagerEvents> {
  readonly network: Network;
  private readonly options: ManagerOptions;
  private readonly clock: Clock;
  private readonly manualBackoff: ManualBackoff;
  private readonly slots: ConnectionSlots;
  private readonly dialer: Dialer;
  private readonly proxyMode: boolean;
  private readonly records = new Map<ManagedPeer, PeerRecord>();
  /** Outbound-kind dials in flight: store key -> netgroup. */
  private readonly dialing = new Map<string, string>();
  private readonly recentlyRotated = new Map<string, number>();
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly evictionKey = randomBytes(32);
  private storeValue: PeerStore | undefined;
  private ownsStore = false;
  private listener: Listener | undefined;
  private abort = new AbortController();
  private running = false;
  private stopping: Promise<void> | undefined;
  private rejecting = 0;
  /** Outbound-kind slots of closed peers whose socket is still open (released on the socket's 'close'). */
  private readonly closingSlots = new Set<SlotHandle>();
  private maintainQueued = false;
  private discovering: Promise<void> | undefined;
  private readonly log: LogHook;

  constructor(options: ManagerOptions) {
    super();
    this.options = options;
    this.log = logHook(options.logger);
    this.network = options.network;
    this.clock = options.clock ?? systemClock;
    const outbound = options.outbound ?? DEFAULT_OUTBOUND_TARGET;
    this.slots = new ConnectionSlots({
      outbound,
      inbound: options.listen ? (options.inbound ?? DEFAULT_INBOUND_LIMIT) : 0,
      manual: Math.max(options.slotLimits?.manual ?? 8, options.peers?.length ?? 0),
      feeler: options.slotLimits?.feeler ?? 1,
      'addr-fetch': options.slotLimits?.['addr-fetch'] ?? 2,
    });
    this.proxyMode = options.proxy !== undefined;
    this.dialer = options.dialer ?? (options.proxy ? socksDialer(options.proxy) : tcpDialer());
    for (const p of options.peers ?? []) parseTarget(p, this.network.defaultPort);
    this.manualBackoff = resolveManualBackoff(options.manualBackoff);
    // Checked here rather than in every connection's constructor, where it would fail late.
    if (options.peerOptions?.userAgent !== undefined) assertSendableUserAgent(options.peerOptions.userAgent);
    resolveBufferOptions(options.peerOptions ?? {});
  }

  /** The PeerStore (available once start() has loaded it). */
  get store(): PeerStore {
    if (!this.storeValue) throw new Error('Manager not started');
    return this.storeValue;
  }

  /** Where inbound connections are accepted, once listening. */
  get listenAddress(): ListenerAddress | undefined {
    return this.listener?.address;
  }

  /** Connected peers (handshaking ones included). */
  get peers(): ManagedPeer[] {
    return [...this.records.keys()];
  }

  /** Load the store, listen, discover, and start filling slots. Resolves once listening. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.stopping) await this.stopping;
    this.abort = new AbortController();
    // One stop signal fans out to every dial, DNS query and backoff in flight: many listeners by design.
    setMaxListeners(0, this.abort.signal);
    this.stopping = undefined;
    if (!this.storeValue) {
      if (this.options.store) this.storeValue = this.options.store;
      else {
        this.storeValue = await PeerStore.open({ dataDir: this.options.dataDir, netgroup: this.options.netgroup, now: () => this.clock.now() });
        this.ownsStore = true;
      }
      this.storeValue.on('warning', (w) => {
        this.log.error('peer store warning', () => ({ code: w.code, detail: w.message, err: w.error }));
        this.safeEmit('warning', { code: `store-${w.code}`, message: w.message, error: w.error });
      });
    }
    if (this.ownsStore) this.storeValue.start();
    this.running = true;
    if (this.options.listen) {
      try {
        this.listener = await listen({ host: this.options.listen.host, port: this.options.listen.port }, (socket) => this.onInbound(socket));
      } catch (err) {
        this.running = false;
        if (this.ownsStore) await this.storeValue.stop().catch(() => {});
        throw err;
      }
    }
    this.log.info('manager started', () => ({
      network: this.network.name,
      outbound: this.slots.limit('outbound'),
      inbound: this.slots.limit('inbound'),
      manual: this.options.peers?.length ?? 0,
      listen: this.listener ? `${this.listener.address.host}:${this.listener.address.port}` : undefined,
      knownAddresses: this.store.size,
    }));
    for (const target of this.options.peers ?? []) this.addManualPeer(target);

    const discover = this.options.discover ?? this.slots.limit('outbound') > 0;
    if (discover && this.store.size === 0) this.startDiscovery();
    const fallbackMs = this.options.seedFallbackMs ?? DEFAULT_SEED_FALLBACK_MS;
    if (discover && fallbackMs > 0) {
      this.every(fallbackMs, () => {
        if (this.outboundCount() < 2 && !this.discovering) this.startDiscovery();
      }, true);
    }
    this.every(this.options.maintainIntervalMs ?? 1000, () => this.maintain());
    const feelerMs = this.options.feelerIntervalMs ?? DEFAULT_FEELER_INTERVAL_MS;
    if (feelerMs > 0) this.every(feelerMs, () => this.feel());
    const rotateMs = this.options.rotateIntervalMs ?? 0;
    if (rotateMs > 0) this.every(rotateMs, () => this.rotate(rotateMs));
    this.maintain();
  }

  /** Close every peer, stop listening, flush the store. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (!this.running) return Promise.resolve();
    this.running = false;
    this.stopping = (async () => {
      this.abort.abort(new AbortError('manager stopped'));
      for (const timer of this.timers.splice(0)) clearTimeout(timer);
      const listener = this.listener;
      this.listener = undefined;
      await listener?.close();
      await Promise.all(this.peers.map((p) => p.close('local', 'manager stopped')));
      await Promise.allSettled([...this.tasks]);
      // Peers that connected while the tasks wound down.
      await Promise.all(this.peers.map((p) => p.close('local', 'manager stopped')));
      if (this.ownsStore) await this.store.stop();
      else await this.store.flush();
      this.log.info('manager stopped', () => ({ network: this.network.name }));
    })();
    return this.stopping;
  }

  /** Change targets and limits while running; excess connections are closed, free slots filled. */
  setTargets(targets: ManagerTargets): void {
    this.slots.setLimits(targets);
    this.trimExcess();
    this.scheduleMaintain();
  }

  /** Keep a peer connected, redialing with capped exponential backoff until stop(). */
  addManualPeer(target: string): void {
    const parsed = parseTarget(target, this.network.defaultPort);
    if (!this.running) throw new Error('Manager not started');
    this.track(this.keepManual(parsed));
  }

  /** Ban an IP or subnet, persist it, and close connected peers inside it. */
  ban(target: string, options: { readonly reason?: string; readonly durationMs?: number } = {}): BanEntry {
    const entry = this.store.ban(target, options);
    this.log.warn('ban', () => ({ address: target, reason: entry.reason, subnet: entry.subnet, until: new Date(entry.expiresAt).toISOString() }));
    for (const peer of this.peers) {
      if (!this.store.isBanned(peer.remoteAddress)) continue;
      // Told like a ban the peer earned on the wire (the chain followers ban through here).
      this.safeEmit('peer:ban', peer, entry);
      void peer.close('banned', entry.reason);
    }
    return entry;
  }

  /** Slots held per kind (cheap; stats() also snapshots every peer). */
  slotCounts(): SlotCounts {
    return this.slots.counts();
  }

  /** Per-peer snapshots (like getpeerinfo), slot counts and store counts. */
  stats(): ManagerStats {
    return {
      peers: this.peers.map((p) => p.stats()),
      slots: this.slots.counts(),
      limits: this.slots.currentLimits(),
      store: this.storeValue?.counts() ?? { new: 0, tried: 0, total: 0, bans: 0 },
      listening: this.listenAddress,
    };
  }

  /** Ask the DNS seeds (or address-fetch through the proxy) now; resolves when done. */
  discoverNow(): Promise<void> {
    this.startDiscovery();
    return this.discovering ?? Promise.resolve();
  }

  // ---- outbound ----

  private maintain(): void {
    if (!this.running || !this.storeValue) return;
    for (const [key, until] of this.recentlyRotated) if (until <= this.clock.now()) this.recentlyRotated.delete(key);
    while (this.slots.available('outbound') > 0) {
      const pick = this.store.select({
        excludeNetgroups: this.outboundNetgroups(),
        excludeAddresses: [...this.busyKeys(), ...this.recentlyRotated.keys()],
        retryDelayMs: this.options.retryDelayMs,
      });
      if (!pick) break;
      const slot = this.slots.reserve('outbound')!;
      this.track(this.dial(pick.host, pick.port, 'outbound', slot, pick.netgroup).catch(() => undefined));
    }
  }

  private scheduleMaintain(): void {
    if (this.maintainQueued || !this.running) return;
    this.maintainQueued = true;
    setImmediate(() => {
      this.maintainQueued = false;
      this.maintain();
    });
  }

  /** Open an outbound-kind connection in a reserved slot; resolves once the handshake is done. */
  private async dial(host: string, port: number, type: SlotKind, slot: SlotHandle, netgroup: string): Promise<ManagedPeer> {
    const key = storeKey(host, port);
    this.dialing.set(key, netgroup);
    this.store.markAttempt({ host, port });
    let peer: ManagedPeer | undefined;
    try {
      if (parseIp(host) && this.store.isBanned(host)) throw new Error(`${host} is banned`);
      const stream = await this.dialer(host, port, { timeoutMs: this.options.connectTimeoutMs ?? 10_000, signal: this.abort.signal });
      if (!this.running) {
        stream.destroy();
        throw new AbortError('manager stopped');
      }
      try {
        peer = this.adopt(stream, 'outbound', type, slot, { address: host, port }, netgroup, { host, port });
      } catch (err) {
        stream.destroy();
        throw err;
      }
      const handshakeMs = this.options.peerOptions?.timeouts?.handshakeMs ?? DEFAULT_TIMEOUTS.handshakeMs;
      await peer.ready(handshakeMs + 5000);
      return peer;
    } catch (err) {
      // An adopted peer gives its slot back when its socket has closed (see adopt); only a dial that
      // never produced a peer releases here.
      if (!peer) slot.release();
      if (peer && !peer.closeReason) await peer.close('local', 'handshake did not complete');
      if (this.running) {
        const transient = this.noteFailure(host, port, err);
        this.log.info('dial failed', () => ({
          address: host,
          port,
          type,
          transient,
          reason: err instanceof PeerError ? err.reason.code : undefined,
          err: err instanceof Error ? err.message : String(err),
        }));
        this.safeEmit('dial:failed', { host, port, type, error: err, transient });
      }
      throw err;
    } finally {
      this.dialing.delete(key);
      this.scheduleMaintain();
    }
  }

  /** A dial or handshake failed: count it, or forget the address when it can never work. */
  private noteFailure(host: string, port: number, err: unknown): boolean {
    const reason = err instanceof PeerError ? err.reason : undefined;
    if (reason && !reason.transient && reason.code !== 'local' && reason.code !== 'banned') {
      this.store.remove({ host, port });
      return false;
    }
    this.store.markFailed({ host, port });
    return true;
  }

  private async keepManual(target: { host: string; port: number }): Promise<void> {
    const backoff = this.manualBackoff;
    const signal = this.abort.signal;
    let quickCloses = 0;
    while (this.running) {
      const peer = await this.dialManual(target, backoff, signal);
      if (!peer) return;
      const openedAt = this.clock.now();
      await new Promise<void>((resolve) => {
        if (peer.closeReason) resolve();
        else peer.once('close', () => resolve());
      });
      // A peer that keeps dropping us right away is redialed ever more slowly.
      quickCloses = this.clock.now() - openedAt < 10_000 ? quickCloses + 1 : 0;
      const delayMs = manualReconnectDelay(quickCloses, backoff);
      if (this.running) this.log.info('reconnect scheduled', () => ({ address: target.host, port: target.port, quickCloses, delayMs }));
      await sleep(delayMs, signal);
    }
  }

  /** Dials a manual peer until it connects, waiting manualRedialDelay() after each failure; undefined once stopped. */
  private async dialManual(target: { host: string; port: number }, backoff: ManualBackoff, signal: AbortSignal): Promise<ManagedPeer | undefined> {
    for (let failures = 0; ; failures++) {
      if (!this.running) return undefined;
      const slot = this.slots.reserve('manual');
      if (slot) {
        try {
          return await this.dial(target.host, target.port, 'manual', slot, this.store.netgroupOf(target.host));
        } catch {
          // dial() reported it (dial:failed); wait and try again.
        }
      }
      if (!this.running) return undefined;
      const delayMs = manualRedialDelay(failures, backoff);
      this.log.info('redial scheduled', () => ({ address: target.host, port: target.port, failures: failures + 1, delayMs }));
      await sleep(delayMs, signal);
    }
  }

  /** One feeler: connect to a "new" address to see whether it works, then hang up. */
  private feel(): void {
    if (!this.running || this.slots.available('outbound') > 0) return;
    const pick = this.store.select({ table: 'new', excludeNetgroups: this.outboundNetgroups(), excludeAddresses: this.busyKeys(), retryDelayMs: this.options.retryDelayMs });
    if (!pick) return;
    const slot = this.slots.reserve('feeler');
    if (!slot) return;
    this.track(this.dial(pick.host, pick.port, 'feeler', slot, pick.netgroup).catch(() => undefined));
  }

  /** Privacy rotation: drop one outbound peer; maintain() dials a replacement elsewhere. */
  private rotate(intervalMs: number): void {
    const outbound = this.peers.filter((p) => p.type === 'outbound' && p.state === 'ready');
    if (outbound.length === 0) return;
    const victim = outbound[Math.floor(Math.random() * outbound.length)];
    this.recentlyRotated.set(storeKey(victim.remoteAddress, victim.remotePort), this.clock.now() + intervalMs);
    void victim.close('local', 'privacy rotation');
  }

  // ---- discovery ----

  private startDiscovery(): void {
    if (this.discovering || !this.running) return;
    const run = (this.proxyMode ? this.addressFetchAll() : this.dnsDiscovery()).finally(() => {
      this.discovering = undefined;
      this.scheduleMaintain();
    });
    this.discovering = run;
    this.track(run);
  }

  private async dnsDiscovery(): Promise<void> {
    try {
      const result = await discoverSeeds(this.network, {
        servers: this.options.dnsServers,
        timeoutMs: this.options.dnsTimeoutMs,
        retries: this.options.dnsRetries,
        signal: this.abort.signal,
      });
      if (!this.running) return;
      let added = 0;
      const now = this.clock.now();
      for (const { seed } of result.resolutions) {
        const fromSeed = result.peers.filter((p) => p.source === seed);
        added += this.store.add(fromSeed.map((p) => ({ host: p.address, port: p.port, lastSeen: now })), seed).added;
      }
      const empty = result.resolutions.filter((r) => r.resolution.addresses.length === 0).map((r) => ({ seed: r.seed, rcode: r.resolution.rcode }));
      this.log.info('discovery', () => ({
        method: 'dns',
        seeds: result.resolutions.map((r) => ({ seed: r.seed, count: r.resolution.addresses.length, rcode: r.resolution.rcode })),
        found: result.peers.length,
        added,
        failures: result.failures.map((f) => `${f.seed}: ${f.error.message}`),
      }));
      this.safeEmit('discovery', { method: 'dns', found: result.peers.length, added, failures: result.failures.map((f) => `${f.seed}: ${f.error.message}`), empty });
    } catch (err) {
      if (!this.running) return;
      this.log.warn('discovery failed', () => ({ method: 'dns', err: err instanceof Error ? err.message : String(err) }));
      this.safeEmit('discovery', { method: 'dns', found: 0, added: 0, failures: [String(err instanceof Error ? err.message : err)], empty: [] });
    }
  }

  /** Through a proxy: connect to each seed name (the proxy resolves it), getaddr, take addr, hang up. */
  private async addressFetchAll(): Promise<void> {
    for (const target of seedAddressFetchTargets(this.network)) {
      if (!this.running) return;
      const slot = this.slots.reserve('addr-fetch');
      if (!slot) return;
      const before = this.store.size;
      let failure: string | undefined;
      let found = 0;
      try {
        const peer = await this.dial(target.host, target.port, 'addr-fetch', slot, this.store.netgroupOf(target.host));
        found = await this.awaitAddrFetch(peer);
      } catch (err) {
        failure = `${target.host}: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (!this.running) return;
      this.log.info('discovery', () => ({ method: 'address-fetch', seed: target.host, found, added: this.store.size - before, failures: failure ? [failure] : [] }));
      this.safeEmit('discovery', { method: 'address-fetch', seed: target.host, found, added: this.store.size - before, failures: failure ? [failure] : [] });
    }
  }

  /** Resolves with the number of addresses received, once the address-fetch peer is closed. */
  private awaitAddrFetch(peer: ManagedPeer): Promise<number> {
    const record = this.records.get(peer);
    return new Promise((resolve) => {
      const timer = setTimeout(() => void peer.close('local', 'address fetch timed out'), this.options.addrFetchTimeoutMs ?? 30_000);
      const done = (): void => {
        clearTimeout(timer);
        resolve(record?.addressesReceived ?? 0);
      };
      if (peer.closeReason) done();
      else peer.once('close', done);
    });
  }

  // ---- inbound ----

  private onInbound(socket: net.Socket): void {
    socket.on('error', () => {});
    const host = canonicalIp(socket.remoteAddress ?? '') ?? socket.remoteAddress ?? 'unknown';
    if (!this.running || this.store.isBanned(host)) {
      socket.destroy();
      return;
    }
    // Hard bound on what the OS sees: closing peers still hold their socket, so count sockets, not slots.
    // (The listener counts its accepted sockets until each one's 'close', this one included.)
    if ((this.listener?.connections ?? 0) > this.slots.limit('inbound') + INBOUND_REJECTING_ALLOWANCE) {
      socket.destroy();
      return;
    }
    let slot = this.slots.reserve('inbound');
    if (!slot && this.evictOne()) slot = this.slots.reserve('inbound');
    if (!slot) {
      // Turned away politely after the handshake (over-capacity), unless too many already are.
      if (this.rejecting >= INBOUND_REJECTING_ALLOWANCE) {
        socket.destroy();
        return;
      }
      this.rejecting++;
      socket.once('close', () => this.rejecting--);
    }
    try {
      this.adopt(socket, 'inbound', 'inbound', slot, { address: host, port: socket.remotePort ?? 0 }, this.store.netgroupOf(host), undefined);
    } catch (err) {
      // A bad peer option (e.g. user agent) throws in the constructor: never leak the slot.
      slot?.release();
      socket.destroy();
      this.log.error('inbound connection failed', () => ({ address: host, err }));
      this.safeEmit('warning', { code: 'inbound-failed', message: String(err), error: err });
    }
  }

  /** Evict one inbound peer per the heuristics; false when all are protected. */
  private evictOne(): boolean {
    const candidates = this.peers.filter((p) => p.type === 'inbound' && this.records.get(p)?.slot && !p.closeReason);
    const decision = decideEviction(
      candidates.map((p) => ({ id: p.id, peer: p, netgroup: p.netgroup, connectedAt: p.connectedAt, minPingMs: p.rtt.minMs, lastBlockAt: p.lastBlockAt, lastTxAt: p.lastTxAt })),
      { netgroupKey: this.evictionKey, ...this.options.eviction },
    );
    if (!decision.victim) return false;
    const victim = decision.victim.peer;
    this.log.info('peer evicted', () => ({ peer: victim.id, address: victim.remoteAddress, port: victim.remotePort, netgroup: victim.netgroup, protectedPeers: decision.protectedBy.size }));
    this.safeEmit('peer:evict', { victim, protectedBy: decision.protectedBy });
    void victim.close('local', 'evicted: inbound slots full');
    // close() emits 'close' synchronously, which released the slot; make sure regardless.
    this.records.get(victim)?.slot?.release();
    return true;
  }

  /** After a limit was lowered: close the newest outbound peers, evict inbound ones. */
  private trimExcess(): void {
    // Peers already closing still hold their slot until their socket is gone: don't close more for them.
    const closingOutbound = [...this.closingSlots].filter((slot) => slot.kind === 'outbound').length;
    for (let n = this.slots.excess('outbound') - closingOutbound; n > 0; n--) {
      const newest = this.peers.filter((p) => p.type === 'outbound' && !p.closeReason).sort((a, b) => b.connectedAt - a.connectedAt)[0];
      if (!newest) break;
      void newest.close('local', 'outbound target lowered');
    }
    for (let n = this.slots.excess('inbound'); n > 0; n--) {
      if (this.evictOne()) continue;
      const newest = this.peers.filter((p) => p.type === 'inbound' && !p.closeReason && this.records.get(p)?.slot).sort((a, b) => b.connectedAt - a.connectedAt)[0];
      if (!newest) break;
      void newest.close('local', 'inbound limit lowered');
    }
  }

  // ---- peers ----

  private adopt(
    stream: Duplex,
    direction: 'inbound' | 'outbound',
    type: SlotKind,
    slot: SlotHandle | undefined,
    remote: { address: string; port: number },
    netgroup: string,
    target: { host: string; port: number } | undefined,
  ): ManagedPeer {
    const record: PeerRecord = {
      slot,
      limiter: new AddrRateLimiter(this.clock, this.options.addrRate),
      answeredGetaddr: false,
      addressesReceived: 0,
      target,
    };
    const admit = (): boolean => {
      if (!this.running) return false;
      if (record.slot) return true;
      // Over capacity at accept; a slot may have freed up during the handshake.
      record.slot = this.slots.reserve('inbound') ?? (this.evictOne() ? this.slots.reserve('inbound') : undefined);
      return record.slot !== undefined;
    };
    const peer = new ManagedPeer(
      stream,
      { logger: this.options.logger, ...this.options.peerOptions, network: this.network, direction, remote, clock: this.clock, admit, wireTap: this.options.wireTap?.({ ...remote, direction, type }) },
      { type, netgroup, connectedAt: this.clock.now(), forward: (p, event, args) => this.forward(p, event, args) },
    );
    // The Manager's own handling of the peer's events runs in forward(), which every ManagedPeer event
    // already passes through: no listener closures per peer (they were about 1 KB of each idle peer).
    this.records.set(peer, record);
    if (direction === 'outbound') {
      // An outbound slot is free only once the socket is really gone: released at the peer's close, a
      // replacement dial could start while the old socket still flushes, and the OS would see one more
      // connection than the target. (Inbound slots free at once, so an evicted peer's replacement gets
      // in; their lingering sockets are bounded by INBOUND_REJECTING_ALLOWANCE instead.)
      const freeSlot = (): void => {
        if (slot) this.closingSlots.delete(slot);
        slot?.release();
        this.scheduleMaintain();
      };
      stream.once('close', freeSlot);
      if (stream.destroyed) freeSlot();
    }
    return peer;
  }

  /** The Manager's bookkeeping for one peer event, before the event is forwarded to the app. */
  private onPeerEvent(peer: ManagedPeer, event: keyof PeerEvents, args: readonly unknown[]): void {
    const record = this.records.get(peer);
    if (!record) return;
    switch (event) {
      case 'ready':
        this.onReady(peer, record, args[0] as MessageOf<'version'>);
        break;
      case 'addr':
        this.onAddr(peer, record, args[0] as MessageOf<'addr'>);
        break;
      case 'getaddr':
        this.onGetaddr(peer, record);
        break;
      case 'tx':
        peer.lastTxAt = this.clock.now();
        break;
      case 'txEnd': // a huge tx, streamed
        if ((args[0] as Parameters<PeerEvents['txEnd']>[0]).checksumOk) peer.lastTxAt = this.clock.now();
        break;
      case 'blockHeader':
        peer.lastBlockAt = this.clock.now();
        break;
      case 'ban':
        this.onBan(peer, (args[0] as Parameters<PeerEvents['ban']>[0]).reason);
        break;
      case 'close': {
        const slot = record.slot;
        if (peer.direction === 'inbound') slot?.release();
        else if (slot && !slot.released) this.closingSlots.add(slot);
        this.records.delete(peer);
        this.safeEmit('peer:close', peer, args[0] as CloseReason);
        this.scheduleMaintain();
        break;
      }
      default:
        break;
    }
  }

  private onReady(peer: ManagedPeer, record: PeerRecord, version: MessageOf<'version'>): void {
    if (record.target) this.store.markGood(record.target, { services: version.services });
    switch (peer.type) {
      case 'feeler':
        void peer.close('local', 'feeler done');
        return;
      case 'addr-fetch':
        this.askForAddresses(peer, record);
        return;
      case 'outbound':
        this.askForAddresses(peer, record);
        break;
      default:
        break;
    }
    this.safeEmit('peer:ready', peer);
  }

  private askForAddresses(peer: ManagedPeer, record: PeerRecord): void {
    // The answer to our own getaddr is taken whole, as Core does.
    record.limiter.grant(MAX_ADDR_PER_MESSAGE);
    peer.send({ command: 'getaddr' } as Message);
  }

  private onAddr(peer: ManagedPeer, record: PeerRecord, m: MessageOf<'addr'>): void {
    // Over 1000 entries never gets here: the peer core scores it as misbehaviour and drops it.
    record.addressesReceived += m.addresses.length;
    const allowed = record.limiter.take(m.addresses.length);
    if (allowed > 0) {
      const now = this.clock.now();
      const addresses = m.addresses.slice(0, allowed).map((a) => ({
        host: formatIp(a.ip),
        port: a.port,
        services: a.services,
        lastSeen: Math.min(a.time * 1000, now),
      }));
      this.store.add(addresses, peer.remoteAddress);
    }
    if (peer.type === 'addr-fetch' && m.addresses.length > 1) void peer.close('local', 'address fetch done');
    else this.scheduleMaintain();
  }

  private onGetaddr(peer: ManagedPeer, record: PeerRecord): void {
    // Only inbound peers, and once each: answering outbound ones would let them fingerprint us.
    if (peer.direction !== 'inbound' || record.answeredGetaddr) return;
    record.answeredGetaddr = true;
    const sample = this.store.sample({ max: MAX_ADDR_PER_MESSAGE });
    const addresses = sample.flatMap((a) => {
      const ip = parseIp(a.host);
      return ip ? [{ time: Math.floor(a.lastSeen / 1000), services: a.services, ip, port: a.port }] : [];
    });
    peer.send({ command: 'addr', addresses } as Message);
  }

  private onBan(peer: ManagedPeer, reason: string): void {
    const host = canonicalIp(peer.remoteAddress);
    if (!host) return;
    const entry = this.store.ban(host, { reason });
    this.log.warn('address banned', () => ({ peer: peer.id, address: host, reason: entry.reason, score: peer.stats().misbehaviorScore, until: new Date(entry.expiresAt).toISOString() }));
    this.safeEmit('peer:ban', peer, entry);
    void this.store.flush().catch((err: unknown) => {
      this.log.error('peer store flush failed', () => ({ err }));
      this.safeEmit('warning', { code: 'flush-failed', message: String(err), error: err });
    });
  }

  private forward(peer: ManagedPeer, event: keyof PeerEvents, args: readonly unknown[]): void {
    this.onPeerEvent(peer, event, args);
    // Throws propagate into the peer's safeEmit, which reports them as its listenerError.
    (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args, peer);
  }

  // ---- helpers ----

  private outboundCount(): number {
    return this.peers.filter((p) => p.type === 'outbound' && p.state === 'ready').length;
  }

  /** Netgroups of outbound-kind connections and dials (manual and inbound peers do not count, as in Core). */
  private outboundNetgroups(): Set<string> {
    const groups = new Set(this.dialing.values());
    for (const p of this.peers) if (p.type !== 'inbound' && p.type !== 'manual') groups.add(p.netgroup);
    return groups;
  }

  private busyKeys(): string[] {
    const keys = [...this.dialing.keys()];
    for (const p of this.peers) keys.push(storeKey(p.remoteAddress, p.remotePort));
    return keys;
  }

  private every(ms: number, fn: () => void, once = false): void {
    const timer = once ? setTimeout(fn, ms) : setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private track(task: Promise<unknown>): void {
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task)).catch(() => {});
  }

  private safeEmit<E extends keyof ManagerEvents>(event: E, ...args: Parameters<ManagerEvents[E]>): void {
    try {
      (this.emit as (e: E, ...a: Parameters<ManagerEvents[E]>) => boolean)(event, ...args);
    } catch (err) {
      this.log.error('listener error', () => ({ event, err }));
      if (event === 'warning') return;
      this.safeEmit('warning', { code: 'listener-error', message: `a ${String(event)} listener threw`, error: err });
    }
  }
}

function parseTarget(text: string, defaultPort: number): { host: string; port: number } {
  const split = splitHostPort(text);
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const target = split ?? { host: bare, port: defaultPort };
  if (target.host.length === 0 || /[\s/]/.test(target.host) || (!split && bare.includes(':') && !parseIp(bare))) {
    throw new RangeError(`not a host or host:port: ${JSON.stringify(text)}`);
  }
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) throw new RangeError(`bad port in ${JSON.stringify(text)}`);
  return target;
}

/** The store's key for an IP target; names keep their spelling. */
function storeKey(host: string, port: number): string {
  return addressKey(canonicalIp(host) ?? host.toLowerCase(), port);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

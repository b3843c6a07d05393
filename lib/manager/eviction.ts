import { createHmac } from 'node:crypto';

/**
 * Which inbound peer to drop when inbound is full, after Bitcoin Core's SelectNodeToEvict.
 * An attacker can cheaply be young, far away and silent; it cannot cheaply be old, close,
 * useful and spread over many netgroups. So peers are protected in rounds, each round taking
 * the best few of what is left by one of those qualities, and the victim is chosen from the
 * rest: the youngest peer of the most crowded netgroup. Pure: no I/O, no clock.
 */

/** What eviction needs to know about one inbound peer. */
export interface EvictionCandidate {
  readonly id: string;
  readonly netgroup: string;
  /** When the connection was accepted (ms). */
  readonly connectedAt: number;
  /** Lowest ping seen; undefined before the first pong (ranks as the worst). */
  readonly minPingMs: number | undefined;
  /** Last time the peer sent us a block (ms); 0 = never. */
  readonly lastBlockAt: number;
  /** Last time the peer sent us a transaction (ms); 0 = never. */
  readonly lastTxAt: number;
  /** Never evict (e.g. whitelisted). */
  readonly protected?: boolean;
}

export interface EvictionOptions {
  /** Peers protected in distinct netgroups, one per group (Core: 4). */
  readonly protectByNetgroup: number;
  /** Peers with the lowest ping (Core: 8). */
  readonly protectByPing: number;
  /** Peers that most recently sent transactions (Core: 4). */
  readonly protectByTx: number;
  /** Peers that most recently sent blocks (Core: 4). */
  readonly protectByBlock: number;
  /** Fraction of the remaining peers protected by connection age, oldest first (Core: 1/2). */
  readonly protectLongestFraction: number;
  /**
   * Secret mixed into the netgroup ranking, so an attacker cannot know which netgroups will be
   * protected (Core's keyed netgroup). Fixed key = deterministic choice.
   */
  readonly netgroupKey: Buffer;
}

export const DEFAULT_EVICTION_OPTIONS: Omit<EvictionOptions, 'netgroupKey'> = Object.freeze({
  protectByNetgroup: 4,
  protectByPing: 8,
  protectByTx: 4,
  protectByBlock: 4,
  protectLongestFraction: 0.5,
});

/** Why each peer was kept, for logs and tests. */
export type ProtectionReason = 'flag' | 'netgroup' | 'ping' | 'tx' | 'block' | 'longest';

export interface EvictionDecision<C extends EvictionCandidate> {
  readonly victim: C | undefined;
  readonly protectedBy: ReadonlyMap<string, ProtectionReason>;
}

/** The peer to evict, or undefined when every peer is protected. */
export function selectEvictionVictim<C extends EvictionCandidate>(candidates: readonly C[], options: Partial<EvictionOptions> = {}): C | undefined {
  return decideEviction(candidates, options).victim;
}

/** selectEvictionVictim, plus which peers were protected and why. */
export function decideEviction<C extends EvictionCandidate>(candidates: readonly C[], options: Partial<EvictionOptions> = {}): EvictionDecision<C> {
  const o = { ...DEFAULT_EVICTION_OPTIONS, netgroupKey: Buffer.alloc(16), ...options };
  const protectedBy = new Map<string, ProtectionReason>();
  let rest = candidates.filter((c) => {
    if (c.protected) protectedBy.set(c.id, 'flag');
    return !c.protected;
  });
  const protect = (chosen: readonly C[], reason: ProtectionReason): void => {
    const ids = new Set(chosen.map((c) => c.id));
    for (const id of ids) protectedBy.set(id, reason);
    rest = rest.filter((c) => !ids.has(c.id));
  };

  // Distinct netgroups: rank groups by a keyed hash, keep the oldest peer of each of the top ones.
  const groups = groupBy(rest, (c) => c.netgroup);
  const rankedGroups = [...groups.keys()].sort((a, b) => compareBuffers(keyedHash(o.netgroupKey, b), keyedHash(o.netgroupKey, a)));
  protect(
    rankedGroups.slice(0, o.protectByNetgroup).map((g) => oldest(groups.get(g)!)),
    'netgroup',
  );

  // Lowest ping; peers without a measurement rank last and are never protected by this round.
  protect(
    rest
      .filter((c) => c.minPingMs !== undefined)
      .sort((a, b) => a.minPingMs! - b.minPingMs! || a.connectedAt - b.connectedAt)
      .slice(0, o.protectByPing),
    'ping',
  );
  // Recent useful peers; Core also protects ties at zero, we only protect peers that did send.
  protect(
    rest
      .filter((c) => c.lastTxAt > 0)
      .sort((a, b) => b.lastTxAt - a.lastTxAt || a.connectedAt - b.connectedAt)
      .slice(0, o.protectByTx),
    'tx',
  );
  protect(
    rest
      .filter((c) => c.lastBlockAt > 0)
      .sort((a, b) => b.lastBlockAt - a.lastBlockAt || a.connectedAt - b.connectedAt)
      .slice(0, o.protectByBlock),
    'block',
  );
  // Half of what is left, by age.
  const byAge = [...rest].sort((a, b) => a.connectedAt - b.connectedAt);
  protect(byAge.slice(0, Math.floor(rest.length * o.protectLongestFraction)), 'longest');

  if (rest.length === 0) return { victim: undefined, protectedBy };

  // The most crowded netgroup; on a tie, the one whose newest member is youngest. Evict its youngest.
  const remaining = groupBy(rest, (c) => c.netgroup);
  let worst: C[] | undefined;
  for (const members of remaining.values()) {
    if (!worst || members.length > worst.length || (members.length === worst.length && youngest(members).connectedAt > youngest(worst).connectedAt)) {
      worst = members;
    }
  }
  return { victim: youngest(worst!), protectedBy };
}

function groupBy<C>(items: readonly C[], key: (c: C) => string): Map<string, C[]> {
  const out = new Map<string, C[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

function oldest<C extends EvictionCandidate>(list: readonly C[]): C {
  return list.reduce((a, b) => (b.connectedAt < a.connectedAt ? b : a));
}

function youngest<C extends EvictionCandidate>(list: readonly C[]): C {
  return list.reduce((a, b) => (b.connectedAt >= a.connectedAt ? b : a));
}

function keyedHash(key: Buffer, netgroup: string): Buffer {
  return createHmac('sha256', key).update(netgroup).digest();
}

function compareBuffers(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

import { formatSubnet, parseIp, parseSubnet, subnetContains, type Subnet } from './ip.js';
import type { BanEntry } from './types.js';

export const DEFAULT_BAN_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_MAX_BANS = 10_000;

interface ActiveBan {
  readonly entry: BanEntry;
  readonly subnet: Subnet;
}

/** What to ban and why. `durationMs` (default 24 h) or an absolute `until` sets the expiry. */
export interface BanOptions {
  readonly reason?: string;
  readonly durationMs?: number;
  readonly until?: number;
}

/**
 * Bans by IP or CIDR subnet, with expiry. Expired bans drop out whenever they are looked at.
 * Bounded: past `maxBans`, the ban that expires soonest makes room.
 */
export class BanList {
  private readonly bans = new Map<string, ActiveBan>();

  constructor(
    private readonly defaultBanMs = DEFAULT_BAN_MS,
    private readonly maxBans = DEFAULT_MAX_BANS,
    private readonly onChange: () => void = () => {},
  ) {}

  /** Bans `target` ("1.2.3.4", "1.2.3.0/24", "2001:db8::/32"); replaces an existing ban on the same subnet. */
  ban(target: string, now: number, options: BanOptions = {}): BanEntry {
    const subnet = parseSubnet(target);
    if (!subnet) throw new TypeError(`not an IP address or CIDR subnet: ${JSON.stringify(target)}`);
    const durationMs = options.durationMs ?? this.defaultBanMs;
    if (!(durationMs > 0)) throw new RangeError(`ban duration must be positive, got ${durationMs}`);
    const entry: BanEntry = {
      subnet: formatSubnet(subnet),
      reason: options.reason ?? 'manually banned',
      createdAt: now,
      expiresAt: options.until ?? now + durationMs,
    };
    this.bans.delete(entry.subnet);
    this.bans.set(entry.subnet, { entry, subnet });
    this.prune(now);
    if (this.bans.size > this.maxBans) this.dropSoonestExpiring();
    this.onChange();
    return entry;
  }

  /** Lifts the ban on exactly this IP or subnet; true if there was one. */
  unban(target: string): boolean {
    const subnet = parseSubnet(target);
    if (!subnet) return false;
    const removed = this.bans.delete(formatSubnet(subnet));
    if (removed) this.onChange();
    return removed;
  }

  /** The ban covering `host` at `now`, if any. Hosts that are not IP literals are never banned. */
  find(host: string, now: number): BanEntry | undefined {
    if (this.bans.size === 0) return undefined;
    const ip = parseIp(host);
    if (!ip) return undefined;
    this.prune(now);
    for (const ban of this.bans.values()) if (subnetContains(ban.subnet, ip)) return ban.entry;
    return undefined;
  }

  list(now: number): BanEntry[] {
    this.prune(now);
    return [...this.bans.values()].map((b) => b.entry);
  }

  get size(): number {
    return this.bans.size;
  }

  /** Replaces the list with persisted entries; returns how many were invalid and dropped. */
  restore(entries: readonly BanEntry[], now: number): number {
    this.bans.clear();
    let dropped = 0;
    for (const entry of entries) {
      const subnet = parseSubnet(entry.subnet);
      if (!subnet || entry.expiresAt <= now) {
        if (!subnet) dropped++;
        continue;
      }
      this.bans.set(formatSubnet(subnet), { entry: { ...entry, subnet: formatSubnet(subnet) }, subnet });
    }
    while (this.bans.size > this.maxBans) this.dropSoonestExpiring();
    return dropped;
  }

  private prune(now: number): void {
    let changed = false;
    for (const [key, ban] of this.bans) {
      if (ban.entry.expiresAt <= now) {
        this.bans.delete(key);
        changed = true;
      }
    }
    if (changed) this.onChange();
  }

  private dropSoonestExpiring(): void {
    let soonest: string | undefined;
    let soonestAt = Infinity;
    for (const [key, ban] of this.bans) {
      if (ban.entry.expiresAt < soonestAt) {
        soonest = key;
        soonestAt = ban.entry.expiresAt;
      }
    }
    if (soonest !== undefined) this.bans.delete(soonest);
  }
}

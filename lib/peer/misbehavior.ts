/** Points from the BSV node's table (PROTOCOL.md §7.3); 100 = ban. */
export const BAN_THRESHOLD = 100;

export const MISBEHAVIOR_POINTS = {
  'oversized-addr': 20,
  'oversized-headers': 20,
  'non-continuous-headers': 20,
  'duplicate-version': 1,
  'missing-version': 1,
  'missing-verack': 1,
  'duplicate-sendheaders': 1,
  'malformed-message': 1,
  'bad-checksum-flood': 1,
  'unsolicited-filterload': 100,
  'invalid-inventory-type': 100,
} as const;

export type MisbehaviorKind = keyof typeof MISBEHAVIOR_POINTS;

/** A per-connection score; reaching the threshold means ban. */
export class MisbehaviorScore {
  private points = 0;
  readonly history: { kind: MisbehaviorKind; points: number }[] = [];

  constructor(readonly threshold = BAN_THRESHOLD) {}

  get score(): number {
    return this.points;
  }

  /** Add points; true once the threshold is reached. */
  add(kind: MisbehaviorKind): boolean {
    const points = MISBEHAVIOR_POINTS[kind];
    this.points += points;
    if (this.history.length < 64) this.history.push({ kind, points });
    return this.points >= this.threshold;
  }
}

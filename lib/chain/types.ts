// Shapes shared by the chain follower's parts (header store, header tree, consensus rules, header sync).

/** One header as the chain follower knows it: the fields the rules need, plus its place in the chain. */
export interface HeaderEntry {
  /** Wire order. */
  readonly hash: Buffer;
  /** Wire order. */
  readonly prevHash: Buffer;
  readonly height: number;
  readonly version: number;
  readonly time: number;
  readonly bits: number;
  /** Sum of the work of every header from genesis to this one, inclusive. */
  readonly chainWork: bigint;
}

/** A branch of the header tree seen from its tip: the ancestors the consensus rules look back at. */
export interface ChainView {
  readonly tip: HeaderEntry;
  /** The tip's ancestor at this height (the tip itself at tip.height); undefined outside 0..tip.height. */
  at(height: number): HeaderEntry | undefined;
}

/** A change of best chain, delivered as one event before anything of the new branch. */
export interface Reorg {
  /** The last header both branches share. */
  readonly fork: HeaderEntry;
  /** The old branch above the fork, tip first. */
  readonly disconnected: readonly HeaderEntry[];
  /** The new branch above the fork, fork + 1 first. */
  readonly connected: readonly HeaderEntry[];
}

/** Messages between the scale benchmark's driver and its two child processes (server, client). */
export const BENCH_MAGIC = 'e8f3e1e3';

export type ClientCommand =
  | { readonly kind: 'open'; readonly host: string; readonly port: number; readonly count: number; readonly concurrency: number }
  | { readonly kind: 'burst'; readonly host: string; readonly port: number; readonly count: number; readonly durationMs: number; readonly holdMs: number }
  | { readonly kind: 'close' };

export interface ClientReport {
  readonly kind: 'started' | 'opened' | 'burst' | 'closed';
  /** Handshakes completed (version and verack both received). */
  readonly ready: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly launchMs?: number;
  /** Sockets the client still has open. */
  readonly held: number;
}

export type ServerCommand =
  /** reduce: a memory-reducing (last-resort) full GC first, as V8 does under memory pressure, instead of a plain one. */
  | { readonly kind: 'measure'; readonly reduce?: boolean }
  | { readonly kind: 'heap-breakdown' }
  | { readonly kind: 'profile-start' }
  | { readonly kind: 'profile-stop' }
  | { readonly kind: 'stop' };

export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export type ServerReport =
  | { readonly kind: 'listening'; readonly port: number; readonly memory: MemorySample }
  | { readonly kind: 'measured'; readonly memory: MemorySample; readonly readyPeers: number; readonly peers: number; readonly peerStates: readonly string[] }
  /** Live heap after a GC, by constructor or type: [name, objects, bytes (self size)]. */
  | { readonly kind: 'heap-breakdown'; readonly rows: readonly (readonly [string, number, number])[] }
  /** Self time per function over the profiled window, most first: [function and place, share 0..1]. */
  | { readonly kind: 'profile'; readonly rows: readonly (readonly [string, number])[] };

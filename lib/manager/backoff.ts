/** The manual-peer redial schedule (Manager option `manualBackoff`), as pure functions of the count. */
export interface ManualBackoff {
  readonly minMs: number;
  readonly maxMs: number;
}

export const DEFAULT_MANUAL_BACKOFF: ManualBackoff = { minMs: 1000, maxMs: 60_000 };

/** Doublings after which a dial-failure delay stops growing even below maxMs (the 10th failure on). */
export const MANUAL_BACKOFF_DOUBLINGS = 9;

/** Fills in the defaults; minMs above maxMs is a RangeError (it used to leave the peer never dialed). */
export function resolveManualBackoff(backoff: Partial<ManualBackoff> | undefined): ManualBackoff {
  const minMs = backoff?.minMs ?? DEFAULT_MANUAL_BACKOFF.minMs;
  const maxMs = backoff?.maxMs ?? DEFAULT_MANUAL_BACKOFF.maxMs;
  if (!(minMs >= 0) || !(maxMs >= minMs)) throw new RangeError(`manualBackoff needs 0 <= minMs <= maxMs, got ${minMs} and ${maxMs}`);
  return { minMs, maxMs };
}

/**
 * The wait after `failures + 1` dials in a row failed (failures counts from 0):
 * min(maxMs, round(r * max(minMs, 1) * 2^min(failures, 9))), r = 1 + random() in [1, 2).
 * So 1-2 x minMs, then 2-4 x, 4-8 x ... up to maxMs; jittered so that many managers restarted
 * together do not redial in step. The same schedule p-retry's `forever` mode gave this code.
 */
export function manualRedialDelay(failures: number, backoff: ManualBackoff, random: () => number = Math.random): number {
  const doublings = Math.min(Math.max(0, failures), MANUAL_BACKOFF_DOUBLINGS);
  return Math.min(backoff.maxMs, Math.round((1 + random()) * Math.max(backoff.minMs, 1) * 2 ** doublings));
}

/** The wait before redialing a manual peer that closed within 10 s of connecting, `quickCloses` times in a row. */
export function manualReconnectDelay(quickCloses: number, backoff: ManualBackoff): number {
  return Math.min(backoff.maxMs, backoff.minMs * 2 ** quickCloses);
}

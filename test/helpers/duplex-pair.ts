import { Duplex, PassThrough } from 'node:stream';

/**
 * Two in-memory Duplex ends: what one writes, the other reads. Destroying one end aborts the
 * other; each end gets a no-op error listener so a test's own close never surfaces as an
 * uncaught AbortError (a PeerConnection adds its own listener on top).
 */
export function duplexPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const pair: [Duplex, Duplex] = [Duplex.from({ readable: bToA, writable: aToB }), Duplex.from({ readable: aToB, writable: bToA })];
  for (const end of pair) end.on('error', () => {});
  return pair;
}

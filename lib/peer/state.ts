/** PeerConnection lifecycle. `rejected` = politely turned away over capacity; `failed` = closed on an error. */
export type PeerState =
  | 'connecting'
  | 'awaiting-version'
  | 'awaiting-verack'
  | 'ready'
  | 'closing'
  | 'closed'
  | 'rejected'
  | 'failed';

const allowed: Readonly<Record<PeerState, readonly PeerState[]>> = {
  connecting: ['awaiting-version', 'closing', 'failed', 'closed'],
  'awaiting-version': ['awaiting-verack', 'ready', 'closing', 'failed', 'closed'],
  'awaiting-verack': ['ready', 'closing', 'failed', 'closed'],
  ready: ['closing', 'rejected', 'failed', 'closed'],
  closing: ['closed', 'failed', 'rejected'],
  closed: [],
  rejected: [],
  failed: [],
};

export function canTransition(from: PeerState, to: PeerState): boolean {
  return allowed[from].includes(to);
}

export function isFinal(state: PeerState): boolean {
  return allowed[state].length === 0;
}

// bsv-wire broadcast HEX|-: announce a transaction through a Broadcaster and report whether the network
// took it (echoed by peers we never sent it to), with per-peer timings; optionally wait until it is mined.
import { readFileSync } from 'node:fs';
import { toDisplayHex } from '../hash.js';
import { parseTransaction, rawTransaction } from '../messages/transaction.js';
import { Broadcaster } from '../chain/broadcaster.js';
import type { BroadcastResult } from '../chain/broadcast.js';
import { CliError, NETWORK_OPTIONS, PEER_OPTIONS, StopSignal, networkFrom, parseCommandArgs, parseCount, parseDurationMs } from './common.js';
import { createManager, firstReadyPeer, sessionOptionsFrom } from './session.js';
import { peerLabel } from './connect-events.js';
import { cliLogger } from './log.js';

export const BROADCAST_USAGE = `usage: bsv-wire broadcast HEX|- [options]
  Announces the transaction (hex argument, or hex on stdin with -) to some peers, serves their getdata,
  and reports it propagated once peers it was never sent to announce it back; rebroadcasts every 60 s.
  Exit 0 when propagated (or mined with --until mined), 1 when rejected or timed out.
  --until propagated|mined   what to wait for (default propagated)
  --min-echoes N             echoes needed (default 2)
  --peers N                  ready peers to wait for before announcing (default 3, at most 10 s)
  --timeout SECONDS          give up after this long (default 600)
  plus --network, --peer, --proxy, --outbound, --datadir, --dns-server, --seed, --port, --json
`;

const OPTIONS = {
  ...NETWORK_OPTIONS,
  ...PEER_OPTIONS,
  outbound: { type: 'string' },
  timeout: { type: 'string' },
  until: { type: 'string' },
  'min-echoes': { type: 'string' },
  peers: { type: 'string' },
} as const;

const PEER_WAIT_MS = 60_000;
const MORE_PEERS_WAIT_MS = 10_000;

export async function runBroadcast(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
  if (positionals.length !== 1) throw new CliError('expected one transaction: hex, or - to read hex from stdin', 2);
  const text = (positionals[0] === '-' ? readFileSync(0, 'utf8') : positionals[0]!).trim();
  if (!/^([0-9a-fA-F]{2})+$/.test(text)) throw new CliError('the transaction is not hex', 2);
  const raw = Buffer.from(text, 'hex');
  try {
    parseTransaction(raw);
  } catch (err) {
    throw new CliError(`not a transaction: ${(err as Error).message}`, 2);
  }
  const tx = rawTransaction(raw);
  const until = values.until ?? 'propagated';
  if (until !== 'propagated' && until !== 'mined') throw new CliError('--until must be propagated or mined', 2);
  const minEchoes = parseCount(values['min-echoes'], '--min-echoes', 2);
  const wantPeers = parseCount(values.peers, '--peers', 3);
  const timeoutMs = parseDurationMs(values.timeout) ?? 600_000;
  const json = values.json === true;

  const session = sessionOptionsFrom(networkFrom(values), values, { outbound: 8 });
  const manager = createManager(session);
  const broadcaster = new Broadcaster({ manager, minEchoes: Math.max(1, minEchoes), timeoutMs, logger: cliLogger() });
  const stop = new StopSignal(timeoutMs);
  try {
    broadcaster.start();
    await manager.start();
    await firstReadyPeer(manager, session, stop.signal, PEER_WAIT_MS);
    const more = Date.now() + MORE_PEERS_WAIT_MS;
    while (manager.peers.filter((p) => p.state === 'ready').length < wantPeers && Date.now() < more && !stop.cause) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const labels = new Map(manager.peers.map((p) => [p.id, peerLabel(p)]));
    manager.on('peer:ready', (p) => labels.set(p.id, peerLabel(p)));
    // Waiting for the block can take long: say when it propagated.
    if (until === 'mined') {
      broadcaster.on('propagated', (r) => {
        const line = json ? JSON.stringify({ event: 'propagated', txid: toDisplayHex(r.txid), propagatedMs: (r.propagatedAt ?? r.startedAt) - r.startedAt, echoes: r.echoes }) : `tx ${toDisplayHex(r.txid)}: propagated after ${(r.propagatedAt ?? r.startedAt) - r.startedAt} ms (${r.echoes} echoes), waiting for a block`;
        process.stdout.write(`${line}\n`);
      });
    }
    const aborted = new Promise<never>((_, reject) => stop.signal.addEventListener('abort', () => reject(stop.cause === 'duration' ? new CliError(`no result within ${Math.round(timeoutMs / 1000)} s`) : stop.signal.reason), { once: true }));
    const result: BroadcastResult = await Promise.race([broadcaster.broadcastTx(tx, { until: until === 'mined' ? 'settled' : 'propagated' }), aborted]);
    const ms = (t: number | undefined): number | null => (t === undefined ? null : t - result.startedAt);
    const summary = {
      event: 'broadcast',
      txid: toDisplayHex(result.txid),
      status: result.status,
      propagatedMs: ms(result.propagatedAt),
      settledMs: ms(result.settledAt),
      minedIn: result.minedIn ? toDisplayHex(result.minedIn) : null,
      rejection: result.rejection ? { peer: labels.get(result.rejection.peer) ?? result.rejection.peer, reason: result.rejection.reason } : null,
      echoes: result.echoes,
      rebroadcasts: result.rebroadcasts,
      peers: result.peers.map((p) => ({
        peer: labels.get(p.peer) ?? p.peer,
        role: p.role,
        announcedMs: ms(p.announcedAt),
        requestedMs: ms(p.requestedAt),
        echoedMs: ms(p.echoedAt),
        ...(p.rejectReason ? { rejected: p.rejectReason } : {}),
      })),
    };
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(`tx ${summary.txid}: ${result.status}` + (summary.propagatedMs !== null ? ` after ${summary.propagatedMs} ms (${result.echoes} echoes)` : '') + (summary.minedIn ? ` in block ${summary.minedIn}` : '') + (summary.rejection ? `: ${summary.rejection.reason} (${summary.rejection.peer})` : '') + '\n');
      for (const p of summary.peers) {
        process.stdout.write(`  ${p.peer} ${p.role}` + (p.requestedMs !== null ? `, took it at ${p.requestedMs} ms` : '') + (p.echoedMs !== null ? `, announced it at ${p.echoedMs} ms` : '') + (p.rejected ? `, rejected: ${p.rejected}` : '') + '\n');
      }
    }
    const ok = result.status === (until === 'mined' ? 'mined' : 'propagated') || result.status === 'mined';
    return ok ? 0 : 1;
  } finally {
    stop.dispose();
    broadcaster.stop();
    await manager.stop();
  }
}

// bsv-wire replay: a capture's received bytes back through the framer, the codecs and the peer state
// machine, printing the events `connect --json` printed live for that peer. With --check (or
// --expect-close/--expect-ban) it is a regression test: exit 1 when the replay ends otherwise.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';
import { replayCapture, type SessionReplay } from '../capture/replay.js';
import { recordFileName } from '../capture/format.js';
import { getNetwork, type Network } from '../networks.js';
import { canonicalIp, formatSubnet, parseSubnet } from '../peerstore/index.js';
import type { PeerConnection } from '../peer/connection.js';
import type { Clock } from '../peer/clock.js';
import { CliError, parseCommandArgs, userAgentPolicyFor } from './common.js';
import { describeEvent, handshakeEvent, peerLabel, type ConnectEvent } from './connect-events.js';
import { HeaderTree } from '../chain/header-tree.js';
import { genesisHeader } from '../chain/genesis.js';
import { MAX_BLOCKS_TO_ANNOUNCE } from '../chain/header-sync.js';
import { blockHash } from '../messages/block-header.js';
import { MSG_BLOCK } from '../messages/inventory.js';
import { toDisplayHex } from '../hash.js';

export const REPLAY_USAGE = `usage: bsv-wire replay DIR [--realtime] [--json] [--check] [--expect-close CODE] [--expect-ban]
  Replays a capture made with --capture (or by Bitcoin Core's -capturemessages): each peer folder's
  received frames go through the framer, the codecs and the peer state machine again, on the capture's
  clock, and the handshake, block, ban and close events are printed as connect printed them live (block
  heights come from the replayed headers, as a fresh data directory had them; unplaced blocks have none).
  DIR                   the capture directory (every peer folder in it) or one peer folder
  --realtime            wait between frames as long as they were apart live (default: as fast as possible)
  --json                one JSON event per line, as connect --json
  --network NAME        the network when the capture has no notes (a Core capture; default mainnet)
  --check               exit 1 unless each session closes, and bans, as the capture's notes say it did live
  --expect-close CODE   exit 1 unless the last session closes with CODE (e.g. protocol-violation)
  --expect-ban          exit 1 unless the last session asked for a ban
  A summary per session goes to stderr.
`;

const OPTIONS = {
  realtime: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  network: { type: 'string' },
  check: { type: 'boolean', default: false },
  'expect-close': { type: 'string' },
  'expect-ban': { type: 'boolean', default: false },
} as const;

/** The peer folders under `dir` (or `dir` itself when it is one). */
function peerFolders(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`${dir}: not a directory`, 2);
  const isPeerFolder = (d: string): boolean => readdirSync(d).some((n) => /^msgs_recv(\.\d+)?\.dat$/.test(n));
  if (isPeerFolder(dir)) return [dir];
  const folders = readdirSync(dir)
    .map((n) => join(dir, n))
    .filter((d) => statSync(d).isDirectory() && isPeerFolder(d))
    .sort();
  if (folders.length === 0) throw new CliError(`${dir}: no capture here (no ${recordFileName('recv')} in it or in a folder under it)`, 2);
  return folders;
}

function banSubnet(address: string): string {
  const ip = canonicalIp(address);
  const subnet = ip ? parseSubnet(ip) : undefined;
  return subnet ? formatSubnet(subnet) : address;
}

/**
 * Blocks the peers announced (inv, or headers messages short enough to be announcements), placed as connect
 * placed them live: by a header tree fed every header the replayed peers sent, from the network's genesis
 * (what a fresh data directory's header store had). One per replay run, across sessions, as live.
 */
class AnnouncedBlocks {
  private readonly trees = new Map<string, HeaderTree | undefined>();
  private readonly seen = new Set<string>();
  /** Announced blocks the tree could not place yet, with who announced them. */
  private readonly pending = new Map<string, string>();

  attach(conn: PeerConnection, clock: Clock, emit: (e: ConnectEvent, timeMs: number) => void): void {
    const tree = this.treeFor(conn.network);
    const announce = (hash: Buffer): void => {
      const key = hash.toString('hex');
      if (this.seen.has(key)) return;
      if (this.seen.size > 10_000) this.seen.clear();
      this.seen.add(key);
      const placed = tree?.get(hash);
      if (placed) emit({ event: 'block', peer: peerLabel(conn), hash: toDisplayHex(hash), height: placed.height }, clock.now());
      else if (this.pending.size < 10_000) this.pending.set(key, peerLabel(conn));
    };
    conn.on('inv', (m) => {
      for (const item of m.inventory) if (item.type === MSG_BLOCK) announce(item.hash);
    });
    conn.on('headers', (m) => {
      // As live: the announcement is seen first, then the header chain places the new headers in height order.
      if (m.headers.length <= MAX_BLOCKS_TO_ANNOUNCE) for (const header of m.headers) announce(blockHash(header));
      for (const header of m.headers) {
        const hash = blockHash(header);
        if (!tree || !tree.has(header.prevBlock)) continue;
        const entry = tree.insert(header, hash);
        const label = this.pending.get(hash.toString('hex'));
        if (label === undefined) continue;
        this.pending.delete(hash.toString('hex'));
        emit({ event: 'block', peer: label, hash: toDisplayHex(hash), height: entry.height }, clock.now());
      }
    });
  }

  private treeFor(network: Network): HeaderTree | undefined {
    if (!this.trees.has(network.name)) {
      const genesis = genesisHeader(network);
      this.trees.set(network.name, genesis ? HeaderTree.fromGenesis(genesis) : undefined);
    }
    return this.trees.get(network.name);
  }
}

/** The per-peer events connect prints, from a replayed connection, timed by the capture's clock. */
function attach(conn: PeerConnection, type: string, clock: Clock, emit: (e: ConnectEvent, timeMs: number) => void): void {
  // As connect: feelers and address fetches are not reported.
  const reported = type !== 'feeler' && type !== 'addr-fetch';
  conn.on('ready', () => {
    if (reported) emit(handshakeEvent(conn, type), clock.now());
  });
  conn.on('ban', (b) => emit({ event: 'ban', peer: peerLabel(conn), subnet: banSubnet(conn.remoteAddress), reason: b.reason }, clock.now()));
  conn.on('close', (r) => {
    if (reported) emit({ event: 'close', peer: peerLabel(conn), direction: conn.direction, code: r.code, message: r.message }, clock.now());
  });
}

function summary(folder: string, r: SessionReplay): string {
  const live = r.session.close;
  const closed = r.close ? `${r.close.code}${r.ban ? `, ban ${JSON.stringify(r.ban)}` : ''}` : 'open';
  const wasLive = live ? `${live.code}${live.ban ? `, ban ${JSON.stringify(live.ban)}` : ''}` : 'not recorded';
  // The replayed connection sends only what the peer state machine itself sends; live, the app (the
  // Manager's getaddr, the header follower's getheaders ...) sent more. Its frames must appear in order.
  let at = 0;
  for (const c of r.capturedSent) if (at < r.sent.length && c === r.sent[at]) at++;
  const inOrder = at === r.sent.length;
  return [
    `replay ${basename(folder)} session ${r.session.index + 1}: ${r.records} frames fed${r.unfed ? ` (${r.unfed} after the close not fed)` : ''}${r.truncated ? ', last frame cut short' : ''}`,
    `closed ${closed}; live: ${wasLive}`,
    `sent ${r.sent.length} frames, ${inOrder ? 'all' : 'NOT all'} in the capture's ${r.capturedSent.length} in order`,
  ].join('; ');
}

/** Why a session fails --check: its close or ban differ from the capture's notes. */
export function checkFailure(r: SessionReplay): string | undefined {
  const live = r.session.close;
  if (!live) return undefined;
  if (r.close?.code !== live.code) return `closed ${r.close?.code ?? 'never'}, live ${live.code}`;
  if ((r.ban ?? '') !== (live.ban ?? '')) return `ban ${JSON.stringify(r.ban ?? null)}, live ${JSON.stringify(live.ban ?? null)}`;
  return undefined;
}

export async function runReplay(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
  if (positionals.length !== 1) throw new CliError('give one capture directory', 2);
  let network: Network | undefined;
  if (values.network !== undefined) {
    try {
      network = getNetwork(values.network);
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
  }
  const json = values.json === true;
  const print = (e: ConnectEvent, timeMs: number): void => {
    const time = new Date(timeMs).toISOString();
    process.stdout.write(json ? `${JSON.stringify({ time, ...e })}\n` : `${time} ${describeEvent(e)}\n`);
  };
  const failures: string[] = [];
  let last: SessionReplay | undefined;
  const blocks = new AnnouncedBlocks();
  for (const folder of peerFolders(positionals[0]!)) {
    const results = await replayCapture({
      folder,
      network,
      realtime: values.realtime === true,
      onSession: (conn, session, clock) => {
        attach(conn, session.open?.type ?? 'manual', clock, print);
        blocks.attach(conn, clock, print);
      },
      peerOptionsFor: (net) => ({ userAgentPolicy: userAgentPolicyFor(net) }),
    });
    for (const r of results) {
      process.stderr.write(`${summary(folder, r)}\n`);
      const why = values.check ? checkFailure(r) : undefined;
      if (why) failures.push(`${basename(folder)} session ${r.session.index + 1}: ${why}`);
      last = r;
    }
  }
  const expectClose = values['expect-close'];
  if (expectClose !== undefined && last?.close?.code !== expectClose) failures.push(`expected close ${expectClose}, got ${last?.close?.code ?? 'none'}`);
  if (values['expect-ban'] === true && last?.ban === undefined) failures.push('expected a ban, got none');
  if (failures.length > 0) throw new CliError(`replay differs: ${failures.join('; ')}`);
  return 0;
}

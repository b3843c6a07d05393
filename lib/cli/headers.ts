// bsv-wire headers --to HEIGHT|tip [--out FILE]: header sync with getheaders (2000 per reply),
// every header checked for linkage and proof of work from the network's genesis.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Manager, ManagedPeer } from '../manager/index.js';
import { decodeBlockHeader, encodeBlockHeader, BLOCK_HEADER_SIZE, type BlockHeader } from '../messages/block-header.js';
import { toDisplayHex } from '../hash.js';
import { PeerError, TimeoutError } from '../peer/index.js';
import { CliError, NETWORK_OPTIONS, PEER_OPTIONS, StopSignal, networkFrom, parseCommandArgs, parseDurationMs, formatDuration } from './common.js';
import { HeaderChain, HeaderChainError } from '../chain/header-chain.js';
import { createManager, firstReadyPeer, sessionOptionsFrom, type SessionOptions } from './session.js';
import { peerLabel } from './connect-events.js';

export const HEADERS_USAGE = `usage: bsv-wire headers --to HEIGHT|tip [--out FILE] [options]
  Syncs block headers with getheaders (2000 per message) and checks each one's link to the
  previous header and its proof of work, from the network's genesis block.
  --to HEIGHT|tip    stop at this height, or at the peer's tip
  --out FILE         write the raw 80-byte headers (genesis excluded, height 1 first); an existing
                     file is checked and the sync resumes from its last header
  --timeout SECONDS  give up when not done after this long
  plus --network, --peer, --proxy, --outbound, --datadir, --dns-server, --seed, --port, --json
`;

const OPTIONS = {
  ...NETWORK_OPTIONS,
  ...PEER_OPTIONS,
  outbound: { type: 'string' },
  to: { type: 'string' },
  out: { type: 'string' },
  timeout: { type: 'string' },
} as const;

const MAX_HEADERS_PER_REPLY = 2000;
const REPLY_TIMEOUT_MS = 60_000;
const AT_TIP_TIMEOUT_MS = 3_000;
const PEER_WAIT_MS = 60_000;
const MAX_PEER_SWITCHES = 5;

/** Reads and validates an existing headers file, returning the chain at its last header. */
async function resumeFrom(file: string, chain: HeaderChain): Promise<number> {
  const size = await stat(file).then((s) => s.size, () => -1);
  if (size < 0) return 0;
  if (size % BLOCK_HEADER_SIZE !== 0) throw new CliError(`${file}: ${size} bytes is not a whole number of 80-byte headers`);
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { highWaterMark: BLOCK_HEADER_SIZE * MAX_HEADERS_PER_REPLY })) {
    const bytes = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const whole = bytes.length - (bytes.length % BLOCK_HEADER_SIZE);
    const headers: BlockHeader[] = [];
    for (let o = 0; o < whole; o += BLOCK_HEADER_SIZE) headers.push(decodeBlockHeader(bytes.subarray(o, o + BLOCK_HEADER_SIZE)));
    try {
      chain.append(headers);
    } catch (err) {
      throw new CliError(`${file}: ${(err as Error).message}; remove the file to sync from genesis`);
    }
    carry = Buffer.from(bytes.subarray(whole));
  }
  return chain.tip.height;
}

function progressBar(done: number, total: number | undefined, width = 30): string {
  if (!total || total <= 0) return '';
  const filled = Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${((done / total) * 100).toFixed(1).padStart(5)}% `;
}

export async function runHeaders(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, OPTIONS);
  if (values.to === undefined) throw new CliError('--to HEIGHT|tip is required', 2);
  const targetHeight = values.to === 'tip' ? undefined : /^[0-9]{1,9}$/.test(values.to) ? Number(values.to) : NaN;
  if (Number.isNaN(targetHeight)) throw new CliError(`--to: expected a height or "tip", got ${JSON.stringify(values.to)}`, 2);
  const session: SessionOptions = sessionOptionsFrom(networkFrom(values), values, { outbound: 2 });
  const chain = new HeaderChain(session.network);
  const resumedAt = values.out ? await resumeFrom(values.out, chain) : 0;
  const json = values.json === true;
  const tty = !json && process.stdout.isTTY === true;
  const say = (line: string, event: Record<string, unknown>): void => {
    process.stdout.write(json ? `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n` : `${tty ? '\r\x1b[K' : ''}${line}\n`);
  };
  if (resumedAt > 0) say(`resuming from ${values.out} at height ${resumedAt}`, { event: 'resume', height: resumedAt, hash: toDisplayHex(chain.tip.hash) });

  const stop = new StopSignal(parseDurationMs(values.timeout));
  const manager = createManager(session);
  let out: WriteStream | undefined;
  try {
    await manager.start();
    out = values.out ? createWriteStream(values.out, { flags: 'a' }) : undefined;
    const started = Date.now();
    let synced = 0;
    let lastShown = 0;
    let peer = await firstReadyPeer(manager, session, stop.signal, PEER_WAIT_MS);
    let goal = targetHeight ?? peer.remote.version?.startHeight ?? 0;
    say(`syncing headers from ${peerLabel(peer)} (${peer.remote.version?.userAgent}, height ${peer.remote.version?.startHeight}) from height ${chain.tip.height}`, {
      event: 'peer',
      peer: peerLabel(peer),
      userAgent: peer.remote.version?.userAgent,
      height: peer.remote.version?.startHeight,
      from: chain.tip.height,
    });
    let switches = 0;
    for (;;) {
      if (targetHeight !== undefined && chain.tip.height >= targetHeight) break;
      // At the height the peer announced, some nodes (bcash) stay silent instead of sending an empty
      // headers message: ask with a short timeout and take silence as "nothing newer".
      const atAnnouncedTip = chain.tip.height >= (peer.remote.version?.startHeight ?? 0);
      let reply: { readonly headers: readonly BlockHeader[] };
      try {
        reply = await peer.getHeaders([chain.tip.hash], undefined, { timeoutMs: atAnnouncedTip ? AT_TIP_TIMEOUT_MS : REPLY_TIMEOUT_MS, signal: stop.signal });
      } catch (err) {
        if (stop.signal.aborted) throw stop.cause === 'duration' ? new CliError(`not done after --timeout ${values.timeout} s (at height ${chain.tip.height})`) : err;
        if (atAnnouncedTip && err instanceof TimeoutError && targetHeight === undefined) {
          reply = { headers: [] };
        } else {
          if (++switches > MAX_PEER_SWITCHES) throw err;
          say(`peer ${peerLabel(peer)} failed: ${(err as Error).message}; switching peer`, { event: 'peer-failed', peer: peerLabel(peer), error: (err as Error).message });
          if (!(err instanceof PeerError)) void peer.close('local', 'getheaders failed');
          peer = await nextPeer(manager, session, peer, stop.signal);
          continue;
        }
      }
      let headers = reply.headers;
      if (targetHeight !== undefined) headers = headers.slice(0, Math.max(0, targetHeight - chain.tip.height));
      try {
        // The file stream buffers at most one reply: it is drained after each one below.
        chain.append(headers, (header) => out?.write(encodeBlockHeader(header)));
      } catch (err) {
        if (err instanceof HeaderChainError) {
          // A peer serving invalid headers is dropped (and the reason shown); never trusted again this run.
          void peer.close('protocol-violation', err.message);
          throw new CliError(`invalid header from ${peerLabel(peer)}: ${err.message}`);
        }
        throw err;
      }
      synced += headers.length;
      if (out && out.writableNeedDrain) await new Promise<void>((resolve) => out!.once('drain', () => resolve()));
      goal = Math.max(goal, chain.tip.height);
      const elapsed = (Date.now() - started) / 1000;
      const rate = elapsed > 0 ? Math.round(synced / elapsed) : synced;
      const now = Date.now();
      const last = reply.headers.length < MAX_HEADERS_PER_REPLY;
      if (json) say('', { event: 'progress', height: chain.tip.height, target: targetHeight ?? goal, headersPerSecond: rate });
      else if (tty) process.stdout.write(`\r\x1b[K${progressBar(chain.tip.height, targetHeight ?? goal)}height ${chain.tip.height}/${targetHeight ?? goal}  ${rate} headers/s`);
      else if (now - lastShown >= 5000 || last) {
        lastShown = now;
        say(`height ${chain.tip.height}/${targetHeight ?? goal}  ${rate} headers/s`, {});
      }
      if (last) {
        if (targetHeight !== undefined && chain.tip.height < targetHeight) {
          throw new CliError(`peer ${peerLabel(peer)} has no headers past height ${chain.tip.height} (asked for --to ${targetHeight})`);
        }
        break;
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(synced / seconds) : synced;
    say(
      `synced ${synced} headers to height ${chain.tip.height} (${toDisplayHex(chain.tip.hash)}) in ${formatDuration(seconds * 1000)}, ${rate} headers/s, linkage and proof of work checked${values.out ? `; saved to ${values.out}` : ''}`,
      { event: 'done', height: chain.tip.height, hash: toDisplayHex(chain.tip.hash), synced, seconds, headersPerSecond: rate, file: values.out },
    );
    return 0;
  } finally {
    stop.dispose();
    if (out) await new Promise<void>((resolve) => out!.end(() => resolve()));
    await manager.stop();
  }
}

/** Another ready peer than `failed`, waiting for one if needed. */
async function nextPeer(manager: Manager, session: SessionOptions, failed: ManagedPeer, signal: AbortSignal): Promise<ManagedPeer> {
  const other = manager.peers.find((p) => p !== failed && p.state === 'ready');
  if (other) return other;
  if (!failed.closeReason) await failed.close('local', 'switching peer');
  return firstReadyPeer(manager, session, signal, PEER_WAIT_MS);
}

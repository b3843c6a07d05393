// bsv-wire block HASH: stream one block from a peer, print each txid as it arrives, then a summary.
// Transactions are never collected: memory stays bounded whatever the block size.
import { fromDisplayHex, toDisplayHex } from '../hash.js';
import type { MessageOf } from '../messages/index.js';
import type { BlockTransactionEvent } from '../peer/index.js';
import { MSG_BLOCK } from '../messages/inventory.js';
import { CliError, NETWORK_OPTIONS, PEER_OPTIONS, StopSignal, networkFrom, parseCommandArgs, parseDurationMs, formatBytes } from './common.js';
import { createManager, firstReadyPeer, sessionOptionsFrom } from './session.js';
import { peerLabel } from './connect-events.js';

export const BLOCK_USAGE = `usage: bsv-wire block HASH [options]
  Streams the block from a peer and prints each transaction id as it arrives, then a summary
  (transactions, bytes, merkle root check). Memory stays bounded for any block size.
  --timeout SECONDS   give up after this long (default 600)
  plus --network, --peer, --proxy, --outbound, --datadir, --dns-server, --seed, --port, --json
`;

const OPTIONS = {
  ...NETWORK_OPTIONS,
  ...PEER_OPTIONS,
  outbound: { type: 'string' },
  timeout: { type: 'string' },
} as const;

const PEER_WAIT_MS = 60_000;

export async function runBlock(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
  if (positionals.length !== 1 || !/^[0-9a-fA-F]{64}$/.test(positionals[0]!)) throw new CliError('expected one block hash (64 hex digits, explorer order)', 2);
  const wanted = fromDisplayHex(positionals[0]!.toLowerCase());
  const json = values.json === true;
  const timeoutMs = parseDurationMs(values.timeout) ?? 600_000;

  // Each txid goes straight to stdout; while stdout is full the socket is paused (input backpressure).
  // One drain promise is shared by every transaction written while stdout is full.
  let draining: Promise<void> | undefined;
  const onBlockTransaction = (tx: BlockTransactionEvent): Promise<void> | undefined => {
    if (!tx.blockHash.equals(wanted)) return undefined;
    const line = json ? JSON.stringify({ event: 'tx', index: tx.index, txid: toDisplayHex(tx.txid), size: tx.raw.length }) : toDisplayHex(tx.txid);
    if (process.stdout.write(`${line}\n`) || draining) return draining;
    draining = new Promise((resolve) =>
      process.stdout.once('drain', () => {
        draining = undefined;
        resolve();
      }),
    );
    return draining;
  };
  const session = sessionOptionsFrom(networkFrom(values), values, { outbound: 2 });
  const manager = createManager({ ...session, peerOptions: { onBlockTransaction } });
  // A transaction over hugeTxThreshold arrives in pieces, not through onBlockTransaction: print it from its end.
  manager.on('blockTxEnd', (end) => {
    if (!end.blockHash.equals(wanted)) return;
    process.stdout.write(`${json ? JSON.stringify({ event: 'tx', index: end.index, txid: toDisplayHex(end.txid), size: end.size }) : toDisplayHex(end.txid)}\n`);
  });
  const stop = new StopSignal(timeoutMs);
  try {
    await manager.start();
    const peer = await firstReadyPeer(manager, session, stop.signal, PEER_WAIT_MS);
    const started = Date.now();
    let notFound: (m: MessageOf<'notfound'>) => void = () => {};
    const missing = new Promise<never>((_, reject) => {
      notFound = (m) => {
        if (m.inventory.some((i) => i.type === MSG_BLOCK && i.hash.equals(wanted))) reject(new CliError(`peer ${peerLabel(peer)} does not have block ${positionals[0]}`));
      };
    });
    peer.on('notfound', notFound);
    let end;
    try {
      end = await Promise.race([peer.getBlock(wanted, { timeoutMs, signal: stop.signal }), missing]);
    } catch (err) {
      if (stop.cause === 'duration') throw new CliError(`block not received within ${Math.round(timeoutMs / 1000)} s`);
      throw err;
    } finally {
      peer.off('notfound', notFound);
    }
    const seconds = (Date.now() - started) / 1000;
    const summary = {
      event: 'block',
      hash: toDisplayHex(end.hash),
      prevBlock: toDisplayHex(end.header.prevBlock),
      merkleRoot: toDisplayHex(end.header.merkleRoot),
      timestamp: end.header.timestamp,
      txCount: end.txCount,
      bytes: end.bytes,
      checksumOk: end.checksumOk,
      merkleRootOk: end.merkleRootOk ?? null,
      seconds,
      peer: peerLabel(peer),
    };
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      const root = end.merkleRootOk === undefined ? 'not checked' : end.merkleRootOk ? 'ok' : 'MISMATCH';
      process.stdout.write(
        `block ${summary.hash}: ${end.txCount} transactions, ${formatBytes(end.bytes)} (${end.bytes} bytes), merkle root ${root}, ` +
          `time ${new Date(end.header.timestamp * 1000).toISOString()}, from ${summary.peer} in ${seconds.toFixed(2)} s\n`,
      );
    }
    if (!end.checksumOk || end.merkleRootOk === false) throw new CliError('the block failed its checksum or merkle root check');
    return 0;
  } finally {
    stop.dispose();
    await manager.stop();
  }
}

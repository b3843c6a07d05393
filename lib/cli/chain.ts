// bsv-wire chain: what the data directory's header store holds — the best tip, the known forks, and the
// store's files and health. Opened read-only (no lock), so it works while `headers --follow` runs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toDisplayHex } from '../hash.js';
import { HeaderStore } from '../chain/header-store.js';
import { CliError, NETWORK_OPTIONS, formatBytes, networkFrom, parseCommandArgs, defaultDataDir } from './common.js';

export const CHAIN_USAGE = `usage: bsv-wire chain [--network mainnet|testnet|stn|regtest] [--datadir DIR] [--json]
  Prints the header store's best tip (height, hash, chain work, time), the known forks (height, hash,
  fork point, length) and the store's files, record count and health (what the last open healed).
`;

const OPTIONS = {
  ...NETWORK_OPTIONS,
  datadir: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export async function runChain(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, OPTIONS);
  const { network } = networkFrom(values);
  const dataDir = values.datadir ?? defaultDataDir(network);
  if (!existsSync(join(dataDir, 'headers.idx'))) throw new CliError(`no header store in ${dataDir}; run bsv-wire headers --network ${network.name} first`);
  const store = await HeaderStore.open(dataDir, network, { readOnly: true });
  try {
    const tree = store.tree;
    const best = tree.best;
    const tip = {
      height: best.height,
      hash: toDisplayHex(best.hash),
      chainWork: best.chainWork.toString(16).padStart(64, '0'),
      time: new Date(best.time * 1000).toISOString(),
    };
    const forks = tree
      .tips()
      .filter((e) => !e.hash.equals(best.hash))
      .map((e) => {
        const path = tree.path(e, best);
        return { height: e.height, hash: toDisplayHex(e.hash), forkHeight: path.fork.height, forkHash: toDisplayHex(path.fork.hash), length: path.disconnected.length };
      });
    const files = store.files.map((f) => ({ file: f.file, bytes: f.bytes }));
    const heal = store.heal;
    const health = heal ? `damaged tail (${heal.reason}): ${heal.message}; the next writer drops ${heal.droppedRecords} records` : 'ok';
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ network: network.name, dataDir, tip, forks, records: tree.size, files, health: heal ? { ok: false, reason: heal.reason, message: heal.message, dropped: heal.droppedRecords, kept: heal.keptRecords } : { ok: true } })}\n`,
      );
      return 0;
    }
    const lines = [
      `tip     height ${tip.height}  ${tip.hash}`,
      `        chainwork ${tip.chainWork}  time ${tip.time}`,
      `forks   ${forks.length === 0 ? 'none known' : forks.length}`,
      ...forks.map((f) => `        height ${f.height}  ${f.hash}  fork point ${f.forkHeight} (${f.forkHash})  length ${f.length}`),
      `store   ${dataDir}: ${tree.size} records (genesis and forks included)`,
      ...files.map((f) => `        ${f.file}  ${f.bytes} bytes (${formatBytes(f.bytes)})`),
      `health  ${health}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

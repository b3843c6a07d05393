// bsv-wire peers: what the PeerStore knows (tried/new addresses, bans); --unban lifts a ban.
import { PeerStore } from '../peerstore/index.js';
import { CliError, defaultDataDir, networkFrom, parseCommandArgs, formatDuration, writeLine } from './common.js';

export const PEERS_USAGE = `usage: bsv-wire peers [--unban IP|CIDR] [options]
  Lists the peer store of the network: tried and new addresses (last success, attempts, source)
  and bans. --unban removes a ban and saves the store (refused while another process, such as
  bsv-wire connect, uses the same data directory).
  --network, --datadir DIR (default ~/.bsv-wire/<network>), --table tried|new, --json
`;

const OPTIONS = {
  network: { type: 'string', default: 'mainnet' },
  datadir: { type: 'string' },
  unban: { type: 'string', multiple: true },
  table: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

function ago(ms: number, now: number): string {
  return ms === 0 ? 'never' : `${formatDuration(now - ms)} ago`;
}

export async function runPeers(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, OPTIONS);
  const { network } = networkFrom({ network: values.network });
  if (values.table !== undefined && values.table !== 'tried' && values.table !== 'new') throw new CliError('--table: expected tried or new', 2);
  const dataDir = values.datadir ?? defaultDataDir(network);
  const warnings: string[] = [];
  // Listing only reads (so it works while `connect` holds the store); --unban takes the lock to save.
  const readOnly = values.unban === undefined;
  const store = await PeerStore.open({ dataDir, readOnly, onWarning: (w) => warnings.push(`${w.code}: ${w.message}`) });
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const json = values.json === true;

  if (values.unban !== undefined) {
    for (const target of values.unban) {
      let removed: boolean;
      try {
        removed = store.unban(target);
      } catch (err) {
        throw new CliError(`--unban: ${(err as Error).message}`, 2);
      }
      if (!removed) throw new CliError(`${target} is not banned`);
      process.stdout.write(json ? `${JSON.stringify({ event: 'unban', target })}\n` : `unbanned ${target}\n`);
    }
    await store.stop();
    return 0;
  }

  const now = Date.now();
  const table = values.table as 'tried' | 'new' | undefined;
  const addresses = store.list({ table }).sort((a, b) => (a.table === b.table ? b.lastSuccess - a.lastSuccess || b.lastSeen - a.lastSeen : a.table === 'tried' ? -1 : 1));
  for (const a of addresses) {
    const line = json
      ? JSON.stringify({
          event: 'address',
          address: a.key,
          table: a.table,
          services: a.services.toString(),
          lastSuccess: a.lastSuccess || null,
          lastTry: a.lastTry || null,
          lastSeen: a.lastSeen || null,
          attempts: a.attempts,
          source: a.source,
        })
      : `${a.table.padEnd(5)}  ${a.key.padEnd(24)}  services=0x${a.services.toString(16).padEnd(4)}  last success ${ago(a.lastSuccess, now).padEnd(12)}  attempts ${a.attempts}  from ${a.source}`;
    await writeLine(line);
  }
  for (const b of store.listBans(now)) {
    await writeLine(
      json
        ? JSON.stringify({ event: 'ban', subnet: b.subnet, reason: b.reason, createdAt: b.createdAt, expiresAt: b.expiresAt })
        : `banned ${b.subnet.padEnd(24)}  ${b.reason}  (expires in ${formatDuration(b.expiresAt - now)})`,
    );
  }
  const c = store.counts();
  await writeLine(
    json
      ? JSON.stringify({ event: 'summary', network: network.name, dataDir, tried: c.tried, new: c.new, bans: c.bans })
      : `${c.tried} tried, ${c.new} new, ${c.bans} banned (${dataDir})`,
  );
  return 0;
}

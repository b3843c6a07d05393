import { runCodec } from './codec.js';
import { CliError, errorLine, takeLogLevel } from './common.js';
import { LOG_LEVELS, setCliLogLevel } from './log.js';
import { runConnect, CONNECT_USAGE } from './connect.js';
import { runHeaders, HEADERS_USAGE } from './headers.js';
import { runBlock, BLOCK_USAGE } from './block.js';
import { runChain, CHAIN_USAGE } from './chain.js';
import { runSeeds, SEEDS_USAGE } from './seeds.js';
import { runPeers, PEERS_USAGE } from './peers.js';
import { runBroadcast, BROADCAST_USAGE } from './broadcast.js';
import { runSync, runFollow, SYNC_USAGE, FOLLOW_USAGE } from './sync.js';
import { runReplay, REPLAY_USAGE } from './replay.js';

const USAGE = `usage: bsv-wire <command> [options]

commands:
  connect        connect to the network and watch peers live (see bsv-wire connect --help)
  seeds          resolve the network's DNS seeds and print each answer with its source
  peers          list the peer store (tried/new/banned); --unban ADDR removes a ban
  headers        sync block headers into the data directory's header store (--to HEIGHT|tip, --follow, --out FILE)
  chain          the header store: best tip, known forks, files and health
  block HASH     stream one block from a peer: each txid, then a summary
  sync           blocks in order, each once, into a cursor (--from HEIGHT|--resume [--to HEIGHT] [--json])
  follow         JSON lines of new blocks, blockDisconnected, reorgs and mempool txs, for an indexer to pipe
  broadcast HEX|-  announce a transaction; report it propagated (echoed by peers never sent it) or mined
  replay DIR     run a --capture back through the peer state machine; print the events it printed live
  decode [HEX]   decode whole frames (hex argument or stdin) to JSON, one message per line
  encode [JSON]  encode JSON messages (argument or stdin) to frame hex
common options:
  --network mainnet|testnet|stn|regtest   (default mainnet)
  --peer HOST:PORT, --proxy socks5://host:port, --datadir DIR, --dns-server HOST:PORT, --json
  --metrics HOST:PORT   (connect, sync, follow) serve Prometheus/OpenMetrics text at http://HOST:PORT/metrics
  --log-level trace|debug|info|warn|error|fatal|silent   JSON log lines (pino) on stderr (default silent)
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Readonly<Record<string, { run: Command; usage: string }>> = {
  connect: { run: runConnect, usage: CONNECT_USAGE },
  seeds: { run: runSeeds, usage: SEEDS_USAGE },
  peers: { run: runPeers, usage: PEERS_USAGE },
  headers: { run: runHeaders, usage: HEADERS_USAGE },
  chain: { run: runChain, usage: CHAIN_USAGE },
  block: { run: runBlock, usage: BLOCK_USAGE },
  broadcast: { run: runBroadcast, usage: BROADCAST_USAGE },
  sync: { run: runSync, usage: SYNC_USAGE },
  follow: { run: runFollow, usage: FOLLOW_USAGE },
  replay: { run: runReplay, usage: REPLAY_USAGE },
  decode: { run: (args) => runCodec('decode', args), usage: USAGE },
  encode: { run: (args) => runCodec('encode', args), usage: USAGE },
};

/** Entry point of the bsv-wire command. Returns the exit code; never throws a stack trace at the user. */
export async function main(argv: string[]): Promise<number> {
  let taken: ReturnType<typeof takeLogLevel<(typeof LOG_LEVELS)[number]>>;
  try {
    taken = takeLogLevel(argv, LOG_LEVELS);
  } catch (err) {
    process.stderr.write(`bsv-wire: ${errorLine(err)}\n`);
    return 2;
  }
  setCliLogLevel(taken.level ?? 'silent');
  const [command, ...rest] = taken.rest;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const found = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!found) {
    process.stderr.write(`bsv-wire: unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(found.usage);
    return 0;
  }
  try {
    return await found.run(rest);
  } catch (err) {
    process.stderr.write(`bsv-wire ${command}: ${errorLine(err)}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}

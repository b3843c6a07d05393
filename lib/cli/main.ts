import { parseArgs } from 'node:util';
import { getNetwork } from '../networks.js';
import { decodeFramesHex, encodeJsonToHex } from './codec-commands.js';

const USAGE = `usage: bsv-wire <command> [options]

commands:
  decode [HEX]   decode whole frames (hex argument or stdin) to JSON, one message per line
  encode [JSON]  encode JSON messages (argument or stdin) to frame hex
options:
  --network mainnet|testnet|stn|regtest   (default mainnet)
`;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Entry point of the bsv-wire command. Returns the exit code; never throws a stack trace at the user. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'decode':
      case 'encode': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { network: { type: 'string', default: 'mainnet' } },
        });
        const network = getNetwork(values.network!);
        const input = positionals.length > 0 ? positionals.join(command === 'decode' ? '' : '\n') : await readStdin();
        if (command === 'decode') {
          for (const m of decodeFramesHex(input, network)) process.stdout.write(`${JSON.stringify(m)}\n`);
        } else {
          process.stdout.write(`${encodeJsonToHex(input, network)}\n`);
        }
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`bsv-wire: unknown command ${JSON.stringify(command)}\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    process.stderr.write(`bsv-wire ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

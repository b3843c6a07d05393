// bsv-wire decode / encode: frames in hex <-> one JSON message per line.
import { parseArgs } from 'node:util';
import { getNetwork } from '../networks.js';
import { decodeFramesHex, encodeJsonToHex } from './codec-commands.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function runCodec(command: 'decode' | 'encode', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
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

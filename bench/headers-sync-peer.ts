/**
 * The serving side of the header sync benchmark (bench/headers-sync.ts), in a process of its own:
 *   node --import tsx bench/headers-sync-peer.ts <headers.bin> <hashes.bin> <ports>
 * Listens on `ports` loopback ports and speaks just enough of the protocol over raw TCP, with our framer and
 * codecs: version/verack, ping → pong, getheaders → up to 2000 headers after the first locator hash it knows.
 * The headers are served as raw 80-byte slices of the pre-generated file (nothing is re-encoded), so the
 * client's side is what the benchmark times. Prints one JSON line once listening: { ports: number[] }.
 * Exits when its stdin closes (the parent went away) or on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { FrameDecoder } from '../lib/framing/decoder.js';
import { encodeFrame, encodeMessageFrame } from '../lib/framing/encoder.js';
import { decodeMessage, type Message } from '../lib/messages/index.js';
import { BLOCK_HEADER_SIZE } from '../lib/messages/block-header.js';
import { regtest } from '../lib/networks.js';
import { regtestGenesisHash } from '../test/helpers/synthetic-headers.js';

const [headersPath, hashesPath, portsText = '1'] = process.argv.slice(2);
if (!headersPath || !hashesPath) throw new Error('usage: headers-sync-peer.ts <headers.bin> <hashes.bin> <ports>');
const MAX_HEADERS = 2000;

// Header i of the file is at height i + 1; hash i is its hash (wire order).
const headers = readFileSync(headersPath);
const hashes = readFileSync(hashesPath);
const count = headers.length / BLOCK_HEADER_SIZE;
if (!Number.isInteger(count) || hashes.length !== count * 32) throw new Error('headers and hashes files do not match');

// Height by the first 6 bytes of the hash (a number key keeps a million entries small); checked in full on lookup.
const heightByKey = new Map<number, number>();
heightByKey.set(regtestGenesisHash.readUIntLE(0, 6), 0);
for (let i = 0; i < count; i++) heightByKey.set(hashes.readUIntLE(i * 32, 6), i + 1);

function heightOf(hash: Buffer): number | undefined {
  const height = heightByKey.get(hash.readUIntLE(0, 6));
  if (height === undefined) return undefined;
  const full = height === 0 ? regtestGenesisHash : hashes.subarray((height - 1) * 32, height * 32);
  return full.equals(hash) ? height : undefined;
}

/** A headers frame with the headers above `height` (at most 2000): count varint, then each 80 bytes + a 0 tx count. */
function headersFrame(height: number): Buffer {
  const n = Math.max(0, Math.min(MAX_HEADERS, count - height));
  const prefix = n < 0xfd ? 1 : 3;
  const payload = Buffer.allocUnsafe(prefix + n * (BLOCK_HEADER_SIZE + 1));
  if (prefix === 1) payload[0] = n;
  else {
    payload[0] = 0xfd;
    payload.writeUInt16LE(n, 1);
  }
  for (let i = 0; i < n; i++) {
    const at = prefix + i * (BLOCK_HEADER_SIZE + 1);
    headers.copy(payload, at, (height + i) * BLOCK_HEADER_SIZE, (height + i + 1) * BLOCK_HEADER_SIZE);
    payload[at + BLOCK_HEADER_SIZE] = 0;
  }
  return encodeFrame(regtest.magic, 'headers', payload);
}

function serve(socket: Socket): void {
  const decoder = new FrameDecoder({ magic: regtest.magic });
  const send = (m: Message): boolean => socket.write(encodeMessageFrame(regtest.magic, m));
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const event of decoder.push(chunk)) {
        if (event.type !== 'frame') continue;
        const command = event.header.command;
        if (command !== 'version' && command !== 'ping' && command !== 'getheaders') continue;
        const m = decodeMessage(command, event.payload);
        if (m.command === 'version') {
          send({
            command: 'version',
            version: 70016,
            services: 1n,
            timestamp: BigInt(Math.floor(Date.now() / 1000)),
            addrRecv: { services: 0n, ip: Buffer.alloc(16), port: 0 },
            addrFrom: { services: 1n, ip: Buffer.alloc(16), port: 0 },
            nonce: BigInt(process.pid) * 1000n + BigInt(socket.localPort ?? 0),
            userAgent: '/bsv-wire-bench-peer:1/',
            startHeight: count,
            relay: false,
          });
          send({ command: 'verack' });
        } else if (m.command === 'ping') {
          if (m.nonce !== undefined) send({ command: 'pong', nonce: m.nonce });
        } else if (m.command === 'getheaders') {
          let from: number | undefined;
          for (const hash of m.locator) if ((from = heightOf(hash)) !== undefined) break;
          socket.write(headersFrame(from ?? 0));
        }
      }
    } catch (err) {
      process.stderr.write(`bench peer: ${(err as Error).message}\n`);
      socket.destroy();
    }
  });
}

const servers: Server[] = [];
const ports: number[] = [];
for (let i = 0; i < Number(portsText); i++) {
  const server = createServer(serve);
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  ports.push(address.port);
}
const stop = (): never => {
  for (const s of servers) s.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
console.log(JSON.stringify({ ports, count }));

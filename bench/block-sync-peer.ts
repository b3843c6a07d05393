/**
 * The serving side of the block sync benchmark (bench/block-sync.ts), in a process of its own:
 *   node --import tsx bench/block-sync-peer.ts <chain.json> <ports> <silentPorts>
 * Listens on `ports` + `silentPorts` loopback ports; each connection is a PeerConnection (NODE_NETWORK, start height
 * the chain's tip) that answers getheaders from the chain and getdata for a block by streaming its payload file in
 * 1 MiB pieces through sendStreamed, so this process never holds a block. The silent ports answer everything but
 * getdata for a block: they go silent on the first block asked of them (the stall benchmark).
 * Prints one JSON line once listening: { ports: number[], silentPorts: number[] }. Exits when its stdin closes or on SIGTERM.
 */
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { listen, type Listener } from '../lib/transport/index.js';
import { PeerConnection } from '../lib/peer/index.js';
import { regtest } from '../lib/networks.js';
import { decodeBlockHeader } from '../lib/messages/block-header.js';
import { regtestGenesisHash } from '../test/helpers/synthetic-headers.js';
import { readChunks } from './block-files.js';
import type { BenchChain } from './block-sync-chain.js';

const [chainPath, portsText = '1', silentText = '0'] = process.argv.slice(2);
if (!chainPath) throw new Error('usage: block-sync-peer.ts <chain.json> <ports> <silentPorts>');
const chain = JSON.parse(readFileSync(chainPath, 'utf8')) as BenchChain;
const heightByHash = new Map<string, number>([[regtestGenesisHash.toString('hex'), 0]]);
for (const b of chain.blocks) heightByHash.set(b.hashWire, b.height);
const headers = chain.blocks.map((b) => ({ ...decodeBlockHeader(Buffer.from(b.headerHex, 'hex')), txCount: 0 }));
const PIECE = 1 << 20;

function serve(socket: Socket, silent: boolean): void {
  socket.on('error', () => {});
  const peer = new PeerConnection(socket, {
    network: regtest,
    direction: 'inbound',
    remote: { address: '127.0.0.1', port: socket.remotePort ?? 0 },
    services: 1n,
    startHeight: chain.blocks.length,
    relay: false,
  });
  peer.on('getheaders', (m) => {
    let from = 0;
    for (const hash of m.locator) {
      const h = heightByHash.get(hash.toString('hex'));
      if (h !== undefined) {
        from = h;
        break;
      }
    }
    peer.send({ command: 'headers', headers: headers.slice(from, from + 2000) });
  });
  // One streamed block at a time, in the order asked.
  let queue = Promise.resolve();
  peer.on('getdata', (m) => {
    if (silent) return;
    for (const item of m.inventory) {
      const height = heightByHash.get(item.hash.toString('hex'));
      const block = height ? chain.blocks[height - 1] : undefined;
      if (item.type !== 2 || !block) continue;
      queue = queue.then(async () => {
        await peer.sendStreamed('block', block.payloadLength, Buffer.from(block.checksum, 'hex'), readChunks(block.payloadPath, PIECE));
      }).catch(() => {});
    }
  });
}

const listeners: Listener[] = [];
const open = async (silent: boolean): Promise<number> => {
  const listener = await listen({ host: '127.0.0.1', port: 0 }, (socket) => serve(socket, silent));
  listeners.push(listener);
  return listener.address.port;
};
const ports: number[] = [];
const silentPorts: number[] = [];
for (let i = 0; i < Number(portsText); i++) ports.push(await open(false));
for (let i = 0; i < Number(silentText); i++) silentPorts.push(await open(true));
const stop = (): never => {
  for (const l of listeners) void l.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
console.log(JSON.stringify({ ports, silentPorts }));

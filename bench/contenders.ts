/**
 * Each contender decodes one block from its file as it would arrive from a peer: frame bytes
 * in fresh 64 KiB chunks. "Decode" means: check the frame checksum and compute every txid.
 * Each returns what it found, so the parent can check it against the generator's figures.
 */
import { createHash, hash } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { BlockFrameStream } from '../lib/block/frames.js';
import { mainnet } from '../lib/networks.js';
import { blockFrameHeader, CHUNK_SIZE, readChunks, readTxSizes, type BenchBlock } from './block-files.js';

const require = createRequire(import.meta.url);

export interface Outcome {
  readonly txCount: number;
  /** Display hex of the last txid. */
  readonly lastTxid: string;
  /** Undefined when the contender does not check the frame checksum. */
  readonly checksumOk: boolean | undefined;
  readonly merkleRootOk?: boolean;
  /** Set by a contender that times itself (its setup, like a TCP handshake, is not counted). */
  readonly elapsedMs?: number;
  readonly cpuMs?: number;
}

export interface Contender {
  readonly label: string;
  /** What it does beyond the checksum and txids, or does not do. */
  readonly note: string;
  run(block: BenchBlock): Promise<Outcome>;
}

const display = (wireOrder: Buffer | undefined): string => (wireOrder ? Buffer.from(wireOrder).reverse().toString('hex') : '');

function frameChunks(block: BenchBlock): Generator<Buffer> {
  return readChunks(block.payloadPath, CHUNK_SIZE, blockFrameHeader(block, mainnet.magic));
}

/** The whole payload in one buffer, as a user of a whole-block parser must gather it. */
function gatherPayload(block: BenchBlock): { payload: Buffer; checksum: Buffer } {
  const payload = Buffer.allocUnsafe(block.payloadLength);
  let at = -24; // the frame header
  let checksum = Buffer.alloc(0);
  for (const chunk of frameChunks(block)) {
    if (at < 0) {
      checksum = Buffer.from(chunk.subarray(20, 24));
      chunk.copy(payload, 0, 24);
      at = chunk.length - 24;
    } else {
      at += chunk.copy(payload, at);
    }
  }
  return { payload, checksum };
}

/** One sha256 pass over the payload (the checksum) plus a one-shot sha256d per tx: no parsing at all. */
const txSizes = new Map<string, Uint32Array>();
const hashingLimit: Contender = {
  label: 'hashing alone (the limit)',
  note: 'tx boundaries given, not parsed',
  async run(block) {
    const sizes = txSizes.get(block.sizesPath) ?? readTxSizes(block);
    txSizes.set(block.sizesPath, sizes); // read once per process, like a decoder's code
    const sum = createHash('sha256');
    let skip = 80 + (block.txCount < 0xfd ? 1 : block.txCount <= 0xffff ? 3 : 5);
    let i = 0;
    let pending: Buffer | undefined;
    let pendingFill = 0;
    let last: Buffer | undefined;
    for (const chunk of readChunks(block.payloadPath)) {
      sum.update(chunk);
      let pos = Math.min(skip, chunk.length);
      skip -= pos;
      while (pos < chunk.length) {
        if (pending) {
          const take = Math.min(chunk.length - pos, pending.length - pendingFill);
          chunk.copy(pending, pendingFill, pos, pos + take);
          pendingFill += take;
          pos += take;
          if (pendingFill < pending.length) break;
          last = hash('sha256', hash('sha256', pending, 'buffer'), 'buffer');
          pending = undefined;
          i++;
          continue;
        }
        const size = sizes[i]!;
        if (pos + size <= chunk.length) {
          last = hash('sha256', hash('sha256', chunk.subarray(pos, pos + size), 'buffer'), 'buffer');
          pos += size;
          i++;
        } else {
          pending = Buffer.allocUnsafe(size);
          pendingFill = chunk.copy(pending, 0, pos);
          pos = chunk.length;
        }
      }
    }
    const checksum = hash('sha256', sum.digest(), 'buffer').subarray(0, 4).toString('hex');
    return { txCount: i, lastTxid: display(last), checksumOk: checksum === block.checksum };
  },
};

function bsvWire(verifyMerkleRoot: boolean): Contender {
  return {
    label: verifyMerkleRoot ? 'bsv-wire, merkle root checked' : 'bsv-wire',
    note: verifyMerkleRoot ? 'FrameDecoder + BlockStreamDecoder, verifyMerkleRoot' : 'FrameDecoder + BlockStreamDecoder',
    async run(block) {
      let count = 0;
      let last: Buffer | undefined;
      const stream = new BlockFrameStream({
        magic: mainnet.magic,
        verifyMerkleRoot,
        onTransaction: (tx) => {
          count++;
          last = tx.txid;
        },
      });
      for (const chunk of frameChunks(block)) stream.push(chunk); // throws on a bad checksum
      const summary = stream.end();
      return { txCount: count, lastTxid: display(last), checksumOk: true, merkleRootOk: summary.merkleRootOk };
    },
  };
}

interface BsvP2pTx {
  getTxid(): string;
}
interface BsvP2pPeer {
  on(event: 'tx_block', listener: (e: { txs: { tx: BsvP2pTx }[] }) => void): void;
  on(event: 'block', listener: () => void): void;
  on(event: 'error_message', listener: (e: { error: Error }) => void): void;
  connect(): Promise<void>;
  getBlocks(hashes: Buffer[]): void;
  disconnect(autoReconnect?: boolean): void;
}

/**
 * bsv-p2p's Peer over loopback TCP, as its users run it: a local server plays the remote node
 * (version, verack, then the block frame in 64 KiB writes when asked). Timed from the first
 * block byte sent to the Peer's `block` event.
 */
function bsvP2p(blockByteBuffer: number | undefined): Contender {
  return {
    label: blockByteBuffer === 0 ? 'bsv-p2p 2.0.1, blockByteBuffer: 0' : 'bsv-p2p 2.0.1, default',
    note:
      (blockByteBuffer === 0 ? 'parses each chunk as it arrives' : 'buffers up to 100 MB, then parses') +
      '; verifies the merkle root; no checksum on streamed blocks; loopback TCP',
    async run(block) {
      const PeerClass = (require('bsv-p2p') as { default: new (o: object) => BsvP2pPeer }).default;
      const { Message, Version } = require('bsv-p2p/lib/messages') as {
        Message: { write(o: { command: string; payload: Buffer | null; magic: Buffer; extmsg: boolean }): Buffer };
        Version: { write(o: object): Buffer };
      };
      const magic = mainnet.magic;
      let startedAt = 0;
      let cpuAtStart = process.cpuUsage();
      const server = createServer((socket: Socket) => {
        socket.setNoDelay(true);
        const version = Version.write({ ticker: 'BSV', version: 70016, user_agent: '/bench/', start_height: 0, options: {} });
        socket.write(Message.write({ command: 'version', payload: version, magic, extmsg: false }));
        socket.write(Message.write({ command: 'verack', payload: null, magic, extmsg: false }));
        let received = Buffer.alloc(0);
        const onData = (data: Buffer): void => {
          received = Buffer.concat([received, data]);
          if (!received.includes('getdata')) return;
          socket.off('data', onData);
          void (async () => {
            startedAt = performance.now();
            cpuAtStart = process.cpuUsage();
            for (const chunk of frameChunks(block)) {
              if (!socket.write(chunk)) await once(socket, 'drain');
            }
          })();
        };
        socket.on('data', onData);
        socket.on('error', () => undefined);
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as AddressInfo).port;
      const peer = new PeerClass({
        node: '127.0.0.1',
        port,
        ticker: 'BSV',
        autoReconnect: false,
        ...(blockByteBuffer === undefined ? {} : { blockByteBuffer }),
      });
      let count = 0;
      let cpuMs = 0;
      let last: BsvP2pTx | undefined;
      peer.on('tx_block', (e) => {
        count += e.txs.length;
        if (e.txs.length > 0) last = e.txs[e.txs.length - 1]!.tx;
      });
      const done = new Promise<number>((resolve, reject) => {
        peer.on('block', () => {
          const cpu = process.cpuUsage(cpuAtStart);
          cpuMs = (cpu.user + cpu.system) / 1000;
          resolve(performance.now());
        });
        peer.on('error_message', (e) => reject(e.error));
      });
      await peer.connect();
      peer.getBlocks([Buffer.from(block.hash, 'hex')]);
      const endedAt = await done;
      peer.disconnect(false);
      server.close();
      return { txCount: count, lastTxid: last?.getTxid() ?? '', checksumOk: undefined, merkleRootOk: true, elapsedMs: endedAt - startedAt, cpuMs };
    },
  };
}

/** bsv 2.x: gather the message, check the checksum with its Hash, Block.fromBuffer, tx.id() each. */
const bsv2: Contender = {
  label: 'bsv 2.0.10',
  note: 'gathers the payload, Block.fromBuffer, tx.id(); pure-JS sha256',
  async run(block) {
    const bsv = require('bsv') as {
      Hash: { sha256Sha256(buf: Buffer): Buffer };
      Block: { fromBuffer(buf: Buffer): { txs: { id(): string }[] } };
    };
    const { payload, checksum } = gatherPayload(block);
    const checksumOk = bsv.Hash.sha256Sha256(payload).subarray(0, 4).equals(checksum);
    const parsed = bsv.Block.fromBuffer(payload);
    const ids = parsed.txs.map((tx) => tx.id());
    return { txCount: ids.length, lastTxid: ids[ids.length - 1] ?? '', checksumOk };
  },
};

/** @bsv/sdk: gather the message, Hash.hash256 for the checksum, Transaction.fromReader + id() per tx. */
const bsvSdk: Contender = {
  label: '@bsv/sdk 2.1.0',
  note: 'gathers the payload, Transaction.fromReader, tx.id(); pure-JS sha256',
  async run(block) {
    const sdk = require('@bsv/sdk') as {
      Hash: { hash256(msg: Uint8Array): number[] };
      Utils: { ReaderUint8Array: new (bin: Uint8Array) => { pos: number; readVarIntNum(): number } };
      Transaction: { fromReader(r: unknown): { id(enc: 'hex'): string } };
    };
    const { payload, checksum } = gatherPayload(block);
    const checksumOk = Buffer.from(sdk.Hash.hash256(payload).slice(0, 4)).equals(checksum);
    const reader = new sdk.Utils.ReaderUint8Array(payload);
    reader.pos = 80;
    const count = reader.readVarIntNum();
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(sdk.Transaction.fromReader(reader).id('hex'));
    return { txCount: ids.length, lastTxid: ids[ids.length - 1] ?? '', checksumOk };
  },
};

/** bcash's net Parser: gathers the message, checks the checksum, parses the block packet; txid() each. */
const bcash: Contender = {
  label: 'bcash 1.1.1 net parser',
  note: 'gathers the message, hash256 checksum, MemBlock.toBlock(), tx.txid()',
  async run(block) {
    const Parser = require('bcash/lib/net/parser') as new (network: string, maxBlockSize: () => number) => {
      feed(data: Buffer): void;
      on(event: 'packet', listener: (packet: { block: { toBlock(): { txs: { txid(): string }[] } } }) => void): void;
      on(event: 'error', listener: (err: Error) => void): void;
    };
    const parser = new Parser('main', () => 32_000_000);
    let ids: string[] = [];
    let failure: Error | undefined;
    parser.on('packet', (packet) => {
      ids = packet.block.toBlock().txs.map((tx) => tx.txid()); // a MemBlock until asked
    });
    parser.on('error', (err) => (failure = err));
    for (const chunk of frameChunks(block)) parser.feed(chunk);
    if (failure) throw failure;
    return { txCount: ids.length, lastTxid: ids[ids.length - 1] ?? '', checksumOk: true };
  },
};

export const contenders: Readonly<Record<string, Contender>> = {
  limit: hashingLimit,
  'bsv-wire': bsvWire(false),
  'bsv-wire-merkle': bsvWire(true),
  'bsv-p2p': bsvP2p(undefined),
  'bsv-p2p-stream': bsvP2p(0),
  bsv2,
  'bsv-sdk': bsvSdk,
  bcash,
};

// Getting a TSC merkle proof of a txid in a block from a Manager's peers: a NODE_BLOOM peer is sent a
// one-txid filterload and getdata MSG_FILTERED_BLOCK and answers with a merkleblock; otherwise (no such
// peer, or it fails) the whole block is asked for and reduced to a proof as its txids stream by, in
// O(log n) memory. The proof is checked against the header tree when one is given.
import { randomBytes } from 'node:crypto';
import type { Manager, ManagedPeer } from '../manager/index.js';
import type { ManagerEvents } from '../manager/options.js';
import type { Message, MessageOf } from '../messages/index.js';
import { MSG_BLOCK, MSG_FILTERED_BLOCK } from '../messages/inventory.js';
import { BLOOM_UPDATE_NONE } from '../messages/bloom.js';
import { encodeBlockHeader } from '../messages/block-header.js';
import type { MerkleProof } from '../messages/merkle-proof.js';
import type { BlockEnd, BlockTransactionEvent, BlockTxEndEvent } from '../peer/block-receiver.js';
import { sha256d, toDisplayHex } from '../hash.js';
import { MerkleRootBuilder } from '../messages/merkle.js';
import { bloomFilterFor, decodePartialMerkleTree, MerkleBranchBuilder, SpvError, tscProof, verifyMerkleProof, type ProofHeaders } from './spv.js';
import type { HeaderEntry } from './types.js';
import { LogHook, logHook, type Logger } from '../logger.js';

/** NODE_BLOOM: the peer serves filterload/merkleblock; sending filterload to any other gets us banned. */
export const NODE_BLOOM = 1n << 2n;

export interface SpvProverOptions {
  readonly manager: Manager;
  /** When given, every proof is checked against it (known block, best chain, merkle root). */
  readonly headers?: ProofHeaders;
  /** How long one peer has to answer (default 30 s for a merkleblock, 120 s for a whole block). */
  readonly merkleBlockTimeoutMs?: number;
  readonly blockTimeoutMs?: number;
  /** Where records go: each proof found (info) and each peer that gave none (debug). Default: nothing. */
  readonly logger?: Logger;
}

export interface SpvProofResult {
  readonly proof: MerkleProof;
  readonly source: 'merkleblock' | 'block';
  readonly peer: string;
  /** The block's entry in the header tree, when one was given. */
  readonly entry?: HeaderEntry;
  /** Peers tried before, and why they gave no proof. */
  readonly failures: readonly { readonly peer: string; readonly source: 'merkleblock' | 'block'; readonly reason: string }[];
}

export class SpvProver {
  private readonly manager: Manager;
  private readonly headers: ProofHeaders | undefined;
  private readonly merkleBlockTimeoutMs: number;
  private readonly blockTimeoutMs: number;
  private readonly log: LogHook;

  constructor(options: SpvProverOptions) {
    this.log = logHook(options.logger);
    this.manager = options.manager;
    this.headers = options.headers;
    this.merkleBlockTimeoutMs = options.merkleBlockTimeoutMs ?? 30_000;
    this.blockTimeoutMs = options.blockTimeoutMs ?? 120_000;
  }

  /** A verified TSC proof (txid form, target = block hash) of `txid` in block `blockHash` (both wire order). */
  async prove(txid: Buffer, blockHash: Buffer): Promise<SpvProofResult> {
    const failures: { peer: string; source: 'merkleblock' | 'block'; reason: string }[] = [];
    const ready = this.manager.peers.filter((p) => p.state === 'ready');
    const bloomPeers = ready.filter((p) => ((p.remote.version?.services ?? 0n) & NODE_BLOOM) !== 0n);
    let notInBlock = 0;
    for (const peer of bloomPeers.slice(0, 3)) {
      try {
        const proof = await this.viaMerkleBlock(peer, txid, blockHash);
        return this.found({ ...this.checked(proof), source: 'merkleblock', peer: peer.id, failures }, txid, blockHash);
      } catch (err) {
        this.log.debug('no proof from peer', () => ({ txid: toDisplayHex(txid), block: toDisplayHex(blockHash), peer: peer.id, source: 'merkleblock', reason: (err as Error).message }));
        failures.push({ peer: peer.id, source: 'merkleblock', reason: (err as Error).message });
      }
    }
    for (const peer of ready.slice(0, 3)) {
      try {
        const proof = await this.viaBlock(peer, txid, blockHash);
        return this.found({ ...this.checked(proof), source: 'block', peer: peer.id, failures }, txid, blockHash);
      } catch (err) {
        this.log.debug('no proof from peer', () => ({ txid: toDisplayHex(txid), block: toDisplayHex(blockHash), peer: peer.id, source: 'block', reason: (err as Error).message }));
        if (err instanceof SpvError && err.code === 'not-in-block') notInBlock++;
        failures.push({ peer: peer.id, source: 'block', reason: (err as Error).message });
        // A whole block that checked out and lacks the txid settles it.
        if (notInBlock > 0) throw err;
      }
    }
    throw new SpvError('not-in-block', `no proof from ${failures.length} attempts: ${failures.map((f) => `${f.peer} ${f.source}: ${f.reason}`).join('; ') || 'no ready peer'}`);
  }

  private found(result: SpvProofResult, txid: Buffer, blockHash: Buffer): SpvProofResult {
    this.log.info('proof found', () => ({ txid: toDisplayHex(txid), block: toDisplayHex(blockHash), source: result.source, peer: result.peer, height: result.entry?.height, failedAttempts: result.failures.length }));
    return result;
  }

  private checked(proof: MerkleProof): { proof: MerkleProof; entry?: HeaderEntry } {
    if (!this.headers) return { proof };
    return { proof, entry: verifyMerkleProof(proof, this.headers) };
  }

  /** Wait on Manager events for one peer until `settle` gives a value, the peer closes, or the timeout. */
  private wait<T>(peer: ManagedPeer, timeoutMs: number, hooks: (done: (err: Error | undefined, value?: T) => void, on: <E extends keyof ManagerEvents>(e: E, fn: ManagerEvents[E]) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const offs: (() => void)[] = [];
      let finished = false;
      const done = (err: Error | undefined, value?: T): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        for (const off of offs) off();
        if (err) reject(err);
        else resolve(value as T);
      };
      const on = <E extends keyof ManagerEvents>(e: E, fn: ManagerEvents[E]): void => {
        this.manager.on(e, fn as never);
        offs.push(() => this.manager.off(e, fn as never));
      };
      const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      on('peer:close', (p: ManagedPeer) => {
        if (p === peer) done(new Error('peer closed'));
      });
      try {
        hooks(done, on);
      } catch (err) {
        done(err as Error);
      }
    });
  }

  private async viaMerkleBlock(peer: ManagedPeer, txid: Buffer, blockHash: Buffer): Promise<MerkleProof> {
    const bloom = bloomFilterFor([txid], randomBytes(4).readUInt32LE(0));
    try {
      return await this.wait<MerkleProof>(peer, this.merkleBlockTimeoutMs, (done, on) => {
        on('merkleblock', (m: MessageOf<'merkleblock'>, from: ManagedPeer) => {
          if (from !== peer) return;
          const hash = sha256d(encodeBlockHeader(m.header));
          if (!hash.equals(blockHash)) return;
          try {
            const { root, matches } = decodePartialMerkleTree(m.totalTransactions, m.hashes, m.flags);
            if (!root.equals(m.header.merkleRoot)) throw new SpvError('root-mismatch', "the partial tree does not lead to the header's merkle root");
            const match = matches.find((x) => x.txid.equals(txid));
            if (!match) throw new SpvError('not-in-block', 'the merkleblock does not match the txid');
            done(undefined, tscProof(txid, match.index, blockHash, match.branch));
          } catch (err) {
            done(err as Error);
          }
        });
        on('notfound', (m: MessageOf<'notfound'>, from: ManagedPeer) => {
          if (from === peer && m.inventory.some((i) => i.hash.equals(blockHash))) done(new Error('notfound'));
        });
        peer.send({ command: 'filterload', filter: bloom.filter, hashFuncs: bloom.hashFuncs, tweak: bloom.tweak, flags: BLOOM_UPDATE_NONE } as Message);
        peer.send({ command: 'getdata', inventory: [{ type: MSG_FILTERED_BLOCK, hash: blockHash }] } as Message);
      });
    } finally {
      // The filter would also hide mempool txs from other users of this connection.
      if (peer.state === 'ready') {
        try {
          peer.send({ command: 'filterclear' } as Message);
        } catch {
          // Closing anyway.
        }
      }
    }
  }

  private viaBlock(peer: ManagedPeer, txid: Buffer, blockHash: Buffer): Promise<MerkleProof> {
    const builder = new MerkleBranchBuilder(txid);
    // The root of every txid seen, so "not in the block" is only concluded from a block that checks out.
    const rootBuilder = new MerkleRootBuilder();
    return this.wait<MerkleProof>(peer, this.blockTimeoutMs, (done, on) => {
      const add = (e: { readonly blockHash: Buffer; readonly txid: Buffer }, from: ManagedPeer): void => {
        if (from !== peer || !e.blockHash.equals(blockHash)) return;
        builder.add(e.txid);
        rootBuilder.add(e.txid);
      };
      on('blockTx', (e: BlockTransactionEvent, from: ManagedPeer) => add(e, from));
      on('blockTxEnd', (e: BlockTxEndEvent, from: ManagedPeer) => add(e, from));
      on('blockEnd', (end: BlockEnd, from: ManagedPeer) => {
        if (from !== peer || !end.hash.equals(blockHash)) return;
        if (!end.checksumOk) return done(new Error('block checksum mismatch'));
        if (builder.size !== end.txCount) return done(new Error(`saw ${builder.size} of ${end.txCount} transactions`));
        if (!rootBuilder.root()?.equals(end.header.merkleRoot)) return done(new SpvError('root-mismatch', "the block's txids do not lead to its merkle root"));
        const result = builder.finish();
        if (!result) return done(new SpvError('not-in-block', 'the block does not hold the txid'));
        done(undefined, tscProof(txid, result.index, blockHash, result.branch));
      });
      on('notfound', (m: MessageOf<'notfound'>, from: ManagedPeer) => {
        if (from === peer && m.inventory.some((i) => i.hash.equals(blockHash))) done(new Error('notfound'));
      });
      peer.send({ command: 'getdata', inventory: [{ type: MSG_BLOCK, hash: blockHash }] } as Message);
    });
  }
}

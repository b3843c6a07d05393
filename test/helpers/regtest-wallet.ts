// Real signed transactions for bcash regtest tests: P2PKH spends (SIGHASH_ALL|FORKID, via @bsv/sdk) of
// coinbases mined to the all-0x01 key, and three nodes joined to A holding 101 blocks (one mature coinbase).
import { PrivateKey, Transaction, P2PKH } from '@bsv/sdk';
import { startRegtestNode, type RegtestNode } from './regtest.js';

const KEY = PrivateKey.fromHex('01'.repeat(32));
const PKH = KEY.toPublicKey().toHash() as number[];
const FEE = 5000;

/** A signed tx spending `outputs` of `source` into `count` equal P2PKH outputs of the same key. */
export async function spend(source: Transaction, outputs: readonly number[], count: number): Promise<Transaction> {
  const tx = new Transaction();
  let total = 0;
  for (const i of outputs) {
    tx.addInput({ sourceTransaction: source, sourceOutputIndex: i, unlockingScriptTemplate: new P2PKH().unlock(KEY) });
    total += source.outputs[i]!.satoshis!;
  }
  const each = Math.floor((total - FEE) / count);
  for (let i = 0; i < count; i++) tx.addOutput({ lockingScript: new P2PKH().lock(PKH), satoshis: each });
  await tx.sign();
  return tx;
}

/** The coinbase of a block, from its raw hex (the first tx after the 80-byte header and the count). */
export function coinbaseOf(blockHex: string): Transaction {
  const raw = Buffer.from(blockHex, 'hex');
  const countLen = raw[80]! < 0xfd ? 1 : raw[80] === 0xfd ? 3 : 5;
  return Transaction.fromBinary([...raw.subarray(80 + countLen)]);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `count` fresh nodes pushed onto `nodes` (so the caller's teardown stops them even on failure): A mines 101
 * blocks, the others get them by submitblock and connect to A. Returns the nodes and the first coinbase.
 */
export async function startWalletNodes(nodes: RegtestNode[], count: number): Promise<{ coinbase: Transaction; blocks: string[] }> {
  for (let i = 0; i < count; i++) nodes.push(await startRegtestNode());
  const [a, ...others] = nodes.slice(-count) as [RegtestNode, ...RegtestNode[]];
  const blocks = await a.mine(101);
  for (const hash of blocks) {
    const hex = String(await a.rpc('getblock', [hash, false]));
    for (const o of others) await o.rpc('submitblock', [hex]);
  }
  for (const o of others) await o.rpc('addnode', [`127.0.0.1:${a.p2pPort}`, 'onetry']);
  await waitFor(async () => ((await a.rpc('getpeerinfo')) as unknown[]).length === others.length, 20_000, 'the nodes to connect to A');
  return { coinbase: coinbaseOf(String(await a.rpc('getblock', [blocks[0], false]))), blocks };
}

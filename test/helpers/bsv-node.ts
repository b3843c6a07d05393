// A real BSV node (bitcoind built from the bitcoin-sv source) on regtest, for the opt-in suite in
// test/bsv-node. Only when BSV_NODE_BIN names the folder holding bitcoind; nothing here downloads or builds it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './ports.js';

/** The key whose private bytes are all 0x01, as a BSV regtest (testnet-prefix) P2PKH address. */
export const BSV_REGTEST_ADDRESS = 'mrcNu71ztWjAQA6ww9kHiW3zBWSQidHXTQ';
const RPC_USER = 'bsvwire';
const RPC_PASSWORD = 'bsvwire-test';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 20_000;

/** Why the suite cannot run here (shown by tap as the skip reason), or undefined when it can. */
export function bsvNodeSkipReason(): string | undefined {
  const dir = process.env.BSV_NODE_BIN;
  if (!dir) return 'BSV_NODE_BIN is not set: this opt-in suite needs a folder holding bitcoind built from the bitcoin-sv source (see README, "Optional cross-checks")';
  if (!existsSync(join(dir, 'bitcoind'))) return `BSV_NODE_BIN=${dir} holds no bitcoind`;
  return undefined;
}

export interface BsvNode {
  readonly p2pPort: number;
  readonly rpcPort: number;
  readonly dataDir: string;
  rpc(method: string, params?: readonly unknown[]): Promise<unknown>;
  /** generatetoaddress (works without a wallet on the BSV node). */
  mine(n: number): Promise<string[]>;
  stop(): Promise<void>;
}

function postRpc(port: number, method: string, params: readonly unknown[]): Promise<unknown> {
  const body = JSON.stringify({ jsonrpc: '1.0', id: 1, method, params });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/', auth: `${RPC_USER}:${RPC_PASSWORD}`, headers: { 'content-type': 'application/json' }, timeout: 30_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          try {
            const reply = JSON.parse(text) as { result?: unknown; error?: { message?: string } | null };
            if (reply.error) reject(new Error(`RPC ${method}: ${reply.error.message ?? JSON.stringify(reply.error)}`));
            else resolve(reply.result);
          } catch {
            reject(new Error(`RPC ${method}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`RPC ${method} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Starts bitcoind -regtest on loopback (launch flags from shared/REGTEST.md: no DNS seeds, no discovery, no
 * UPnP, no onion) in a fresh data directory, and waits for its RPC. The caller registers stop() as a teardown
 * *before* calling this through `register`, so a failed start never leaves the node running.
 */
export async function startBsvNode(register: (stop: () => Promise<void>) => void): Promise<BsvNode> {
  const bin = join(process.env.BSV_NODE_BIN!, 'bitcoind');
  const dataDir = mkdtempSync(join(tmpdir(), 'bsv-node-'));
  const [p2pPort, rpcPort] = await freePorts(2);
  let child: ChildProcess | undefined;
  let exited = false;
  const stop = async (): Promise<void> => {
    if (child && !exited) {
      await postRpc(rpcPort!, 'stop', []).catch(() => child!.kill('SIGTERM'));
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => child!.kill('SIGKILL'), STOP_GRACE_MS);
        if (exited) {
          clearTimeout(kill);
          return resolve();
        }
        child!.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
      });
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  register(stop);
  child = spawn(
    bin,
    [
      '-regtest',
      `-datadir=${dataDir}`,
      `-port=${p2pPort}`,
      `-rpcport=${rpcPort}`,
      '-bind=127.0.0.1',
      '-rpcbind=127.0.0.1',
      '-rpcallowip=127.0.0.1',
      `-rpcuser=${RPC_USER}`,
      `-rpcpassword=${RPC_PASSWORD}`,
      '-server=1',
      '-listen=1',
      '-dnsseed=0',
      '-discover=0',
      '-upnp=0',
      '-listenonion=0',
      '-connect=0',
      '-printtoconsole=0',
      '-excessiveblocksize=1000000000',
      '-maxstackmemoryusageconsensus=100000000',
      '-minminingtxfee=0.00000001',
    ],
    { stdio: 'ignore' },
  );
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`bitcoind exited during start (log: ${join(dataDir, 'regtest', 'bitcoind.log')})`);
    try {
      await postRpc(rpcPort!, 'getblockcount', []);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`bitcoind RPC not ready after ${READY_TIMEOUT_MS} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const rpc = (method: string, params: readonly unknown[] = []): Promise<unknown> => postRpc(rpcPort!, method, params);
  return {
    p2pPort: p2pPort!,
    rpcPort: rpcPort!,
    dataDir,
    rpc,
    async mine(n) {
      return (await rpc('generatetoaddress', [n, BSV_REGTEST_ADDRESS])) as string[];
    },
    stop,
  };
}

// A real bcash 1.1.1 regtest full node for integration tests, run in a child process
// (regtest-node.cjs) bound to 127.0.0.1 with every outbound path disabled.
// See /work/shared/REGTEST.md for what the node does and does not do.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.js';
import { stopChild } from './child.js';
import { Manager, type ManagerOptions } from '../../lib/manager/index.js';
import { regtest } from '../../lib/networks.js';
import { ACCEPT_ANY_UA } from '../../lib/peer/user-agent.js';

/** How long a stopped child gets to exit on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5_000;

/** Coinbase address for mining: the regtest key whose private bytes are all 0x01. */
export const REGTEST_MINING_ADDRESS = 'bchreg:qpumqqygwcnt999fz3gp5nxjy66ckg6esvp7xk3xap';

export interface RegtestNode {
  readonly host: string;
  readonly p2pPort: number;
  readonly rpcPort: number;
  /** Milliseconds from spawning the child to the node accepting connections. */
  readonly startMs: number;
  /** Hosts the node tried to ban (the bans are reported but never applied, see regtest-node.cjs). */
  readonly bans: readonly string[];
  /** JSON-RPC call; rejects with the node's error message. */
  rpc(method: string, params?: readonly unknown[]): Promise<unknown>;
  /** Mine n blocks to REGTEST_MINING_ADDRESS; returns their hashes (display order hex). */
  mine(n: number): Promise<string[]>;
  stop(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const LAUNCHER = path.join(here, 'regtest-node.cjs');
const PROJECT_ROOT = path.resolve(here, '..', '..');
const READY_TIMEOUT_MS = 60_000;
const RPC_TIMEOUT_MS = 30_000;

interface ReadyEvent {
  event: 'ready';
  p2pPort: number;
  rpcPort: number;
  apiKey: string;
}

function ensureBcashInstalled(): void {
  if (!existsSync(path.join(PROJECT_ROOT, 'node_modules', 'bcash', 'package.json'))) {
    throw new Error('bcash is not installed: run `npm ci` (devDependency bcash@1.1.1; with --ignore-scripts also `npm rebuild bdb mrmr`)');
  }
}

/** Spawn the launcher and wait for its "ready" line; rejects with its error (e.g. EADDRINUSE). */
function launch(p2pPort: number, rpcPort: number, bans: string[], options: RegtestNodeOptions): Promise<{ child: ChildProcess; ready: ReadyEvent }> {
  // The child is plain Node: drop the test runner's loaders and hooks from NODE_OPTIONS.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  if (options.sync) env.REGTEST_SYNC = '1';
  else delete env.REGTEST_SYNC;
  const child = spawn(process.execPath, [LAUNCHER, String(p2pPort), String(rpcPort)], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      void stopChild(child, STOP_GRACE_MS);
      reject(new Error(`regtest node not ready within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let message: { event?: string; host?: string; message?: string; code?: string };
      try {
        message = JSON.parse(line);
      } catch {
        return; // stray output from bcash
      }
      if (message.event === 'ban' && message.host) bans.push(message.host);
      if (message.event === 'ready' && !ready) {
        ready = true;
        clearTimeout(timer);
        resolve({ child, ready: message as ReadyEvent });
      }
      if (message.event === 'error' && !ready) {
        clearTimeout(timer);
        void stopChild(child, STOP_GRACE_MS);
        const err = new Error(`regtest node failed to start: ${message.message}`) as Error & { code?: string };
        err.code = message.code;
        reject(err);
      }
    });
    child.once('exit', (code, signal) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`regtest node exited before ready (${code ?? signal})`));
    });
  });
}

function postJson(port: number, apiKey: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent: false,
        auth: `x:${apiKey}`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: RPC_TIMEOUT_MS,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`RPC timed out after ${RPC_TIMEOUT_MS} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

export interface RegtestNodeOptions {
  /** Fetch blocks from connected peers (bcash's startSync), so two test nodes joined by addnode converge. Default off. */
  readonly sync?: boolean;
}

/** Start a fresh, empty, memory-only regtest node on loopback. Always stop() it. */
export async function startRegtestNode(options: RegtestNodeOptions = {}): Promise<RegtestNode> {
  ensureBcashInstalled();
  const started = Date.now();
  const bans: string[] = [];
  let launched: { child: ChildProcess; ready: ReadyEvent } | undefined;
  let lastError: unknown;
  // Ports are chosen here because bcash refuses port 0; retry if one was taken meanwhile.
  for (let attempt = 0; attempt < 3 && !launched; attempt++) {
    const [p2p, rpc] = await freePorts(2);
    try {
      launched = await launch(p2p, rpc, bans, options);
    } catch (err) {
      lastError = err;
      if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
    }
  }
  if (!launched) throw lastError;
  const { child, ready } = launched;
  // Let the test process exit even if a test forgets stop(): the child then sees stdin close and exits.
  child.unref();
  (child.stdin as unknown as { unref?: () => void })?.unref?.();
  (child.stdout as unknown as { unref?: () => void })?.unref?.();

  let requestId = 0;
  const rpc = async (method: string, params: readonly unknown[] = []): Promise<unknown> => {
    const text = await postJson(ready.rpcPort, ready.apiKey, JSON.stringify({ method, params, id: ++requestId }));
    let reply: { result?: unknown; error?: { message?: string; code?: number } | null };
    try {
      reply = JSON.parse(text);
    } catch {
      throw new Error(`RPC ${method}: not JSON: ${text.slice(0, 200)}`);
    }
    if (reply.error) throw new Error(`RPC ${method}: ${reply.error.message ?? JSON.stringify(reply.error)}`);
    return reply.result;
  };

  return {
    host: '127.0.0.1',
    p2pPort: ready.p2pPort,
    rpcPort: ready.rpcPort,
    startMs: Date.now() - started,
    bans,
    rpc,
    async mine(n: number): Promise<string[]> {
      const hashes = await rpc('generatetoaddress', [n, REGTEST_MINING_ADDRESS]);
      if (!Array.isArray(hashes) || !hashes.every((h) => typeof h === 'string')) {
        throw new Error(`generatetoaddress returned ${JSON.stringify(hashes)}`);
      }
      return hashes;
    },
    async stop(): Promise<void> {
      child.stdin?.end();
      await stopChild(child, STOP_GRACE_MS);
    },
  };
}

/**
 * A regtest Manager that dials only the given loopback peers (no discovery, no feelers), for a follower under
 * test to watch. bcash says /bcash:1.1.1/, which the default BSV user-agent policy refuses, so any is accepted.
 */
export function regtestManager(peers: readonly string[], extra: Partial<ManagerOptions> = {}): Manager {
  return new Manager({
    network: regtest,
    outbound: 0,
    discover: false,
    feelerIntervalMs: 0,
    peers: [...peers],
    peerOptions: { userAgentPolicy: ACCEPT_ANY_UA },
    ...extra,
  });
}

'use strict';
// Child-process launcher for a bcash regtest full node used by tests (see regtest.ts).
// It runs in its own process so the node's CPU work never blocks the test's event loop and
// so its ban list or a crash cannot leak into later tests.
//
// Protocol with the parent:
//   stdout, one JSON object per line:
//     {"event":"ready","p2pPort":N,"rpcPort":N,"apiKey":"...","startMs":N}
//     {"event":"ban","host":"..."}        the node decided to ban a peer (the ban itself is dropped)
//     {"event":"error","message":"..."}
//   stdin closing (parent gone) or SIGTERM/SIGINT: close the node and exit.
// Arguments: P2P_PORT RPC_PORT (free loopback ports chosen by the parent; bcash refuses port 0).
// Environment: REGTEST_SYNC=1 makes the node sync blocks from the peers it is connected to.
//
// Nothing here may reach beyond loopback: seeds, nodes, UPnP and every pool discovery or
// outbound-filling method are disabled before the node opens.

const crypto = require('node:crypto');
const path = require('node:path');

const started = Date.now();

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// bcash is resolved from the project's node_modules, wherever this script is started from.
const bcash = require(require.resolve('bcash', { paths: [path.resolve(__dirname, '..', '..')] }));

function portArg(index, name) {
  const value = Number(process.argv[index]);
  if (!Number.isInteger(value) || value <= 0 || value > 0xffff) throw new Error(`bad ${name} argument: ${process.argv[index]}`);
  return value;
}

async function main() {
  const p2pPortArg = portArg(2, 'P2P port');
  const rpcPortArg = portArg(3, 'RPC port');
  const apiKey = crypto.randomBytes(16).toString('hex');
  const node = new bcash.FullNode({
    network: 'regtest',
    memory: true,
    workers: false,
    logLevel: process.env.REGTEST_LOG_LEVEL || 'none',
    logConsole: Boolean(process.env.REGTEST_LOG_LEVEL),
    logFile: false,
    // Listen on loopback only.
    host: '127.0.0.1',
    port: p2pPortArg,
    publicHost: '127.0.0.1',
    httpHost: '127.0.0.1',
    httpPort: rpcPortArg,
    apiKey,
    listen: true,
    upnp: false,
    seeds: [],
    nodes: [],
    only: [],
    maxOutbound: 1,
    persistentMempool: false,
  });

  const pool = node.pool;
  // Nothing outbound: no gateway (UPnP), no external-IP lookup by DNS, no seeds, no timer
  // that rediscovers them, and no attempt to fill outbound slots.
  pool.discoverGateway = async () => {};
  pool.discoverExternal = async () => {};
  pool.discoverSeeds = async () => {};
  pool.discover = async () => {};
  pool.startTimer = () => {};
  pool.fillOutbound = () => {};
  pool.refill = () => {};
  pool.addOutbound = () => {};
  pool.addLoader = () => {};
  pool.hosts.discoverSeeds = async () => {};
  pool.hosts.discoverNodes = async () => {};
  pool.hosts.injectSeeds = () => {};

  // Bans must not outlive the misbehaving connection: a test that sends garbage must not lock
  // 127.0.0.1 out for the next test. bcash's ban-time check has one-second resolution, so a ban
  // time of 0 would still refuse reconnections within the same second; instead the peer is
  // disconnected (as bcash does) and the ban is reported to the parent but never recorded.
  pool.options.banTime = 0;
  pool.hosts.options.banTime = 0;
  pool.hosts.ban = (host) => send({ event: 'ban', host });

  node.on('error', (err) => send({ event: 'error', message: String(err && err.message) }));

  await node.ensure();
  await node.open();
  await node.connect();
  // Opt-in (REGTEST_SYNC=1): fetch blocks from peers, e.g. from another test node joined by addnode.
  // The pool only ever talks to peers it already has; nothing is discovered.
  if (process.env.REGTEST_SYNC === '1') node.startSync();

  const p2pPort = pool.server.address().port;
  const rpcPort = node.http.address().port;
  send({ event: 'ready', p2pPort, rpcPort, apiKey, startMs: Date.now() - started });

  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    // Bounded: if closing hangs, exit anyway.
    const timer = setTimeout(() => process.exit(0), 3000);
    timer.unref();
    try {
      await node.close();
    } catch {
      // Exiting anyway.
    }
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.resume();
}

main().catch((err) => {
  send({ event: 'error', code: err && err.code, message: String(err && err.stack) });
  process.exit(1);
});

// README chain sections: the numbers it states, as values (the behaviour behind each is in
// header-sync.test.ts and block-sync.test.ts; these fail when a default drifts from the README).
import t from 'tap';
import { DEFAULT_HEADERS_RESPONSE_TIMEOUT_MS, MAX_HEADERS_RESULTS, MAX_UNCONNECTING_HEADERS } from '../../lib/chain/header-sync.js';
import {
  DEFAULT_BLOCK_WINDOW, DEFAULT_MAX_BLOCKS_PER_PEER, DEFAULT_BANDWIDTH_FLOOR, DEFAULT_STALL_WINDOW_MS,
  DEFAULT_SLOW_BLOCK_MS, DEFAULT_MAX_SOURCES, DEFAULT_MIN_PEER_BYTES, DEFAULT_PEER_BYTES_SECONDS,
} from '../../lib/chain/block-sync.js';
import { consensusParams } from '../../lib/chain/consensus.js';
import { mainnet, stn } from '../../lib/networks.js';

t.test('README HeaderSync: 2000 headers a request, a 30 s reply deadline, every 10th unconnecting announcement scored', (t) => {
  t.equal(MAX_HEADERS_RESULTS, 2000);
  t.equal(DEFAULT_HEADERS_RESPONSE_TIMEOUT_MS, 30_000);
  t.equal(MAX_UNCONNECTING_HEADERS, 10);
  t.end();
});

t.test('README BlockSync download rules: 1024-block window, 16 per peer, max(8 MiB, rate x 10 s), 100 kB/s for 9 s, 30 s then up to 3 sources', (t) => {
  t.equal(DEFAULT_BLOCK_WINDOW, 1024);
  t.equal(DEFAULT_MAX_BLOCKS_PER_PEER, 16);
  t.equal(DEFAULT_MIN_PEER_BYTES, 8 * 1024 * 1024);
  t.equal(DEFAULT_PEER_BYTES_SECONDS, 10);
  t.equal(DEFAULT_BANDWIDTH_FLOOR, 100_000);
  t.equal(DEFAULT_STALL_WINDOW_MS, 9_000);
  t.equal(DEFAULT_SLOW_BLOCK_MS, 30_000);
  t.equal(DEFAULT_MAX_SOURCES, 3);
  t.end();
});

t.test('README consensus: "no version rule applies on stn" (no BIP34/65/66 height there)', (t) => {
  const params = consensusParams(stn);
  for (const key of ['bip34Height', 'bip66Height', 'bip65Height'] as const) {
    t.ok(params[key] >= 100_000_000, `${key} never activates on stn (${params[key]})`);
  }
  const main = consensusParams(mainnet);
  t.same([main.bip34Height, main.bip66Height, main.bip65Height], [227931, 363725, 388381], 'mainnet activates all three');
  t.end();
});

// The genesis headers of the built-in networks (from the node's chainparams.cpp), the root every header tree starts from.
import { fromDisplayHex, toDisplayHex } from '../hash.js';
import { blockHash, type BlockHeader } from '../messages/block-header.js';
import type { Network } from '../networks.js';

/** All four genesis blocks hold the same single coinbase, so they share the merkle root. */
const GENESIS_MERKLE_ROOT = '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b';

const GENESIS_FIELDS: Readonly<Record<string, { timestamp: number; bits: number; nonce: number }>> = {
  mainnet: { timestamp: 1231006505, bits: 0x1d00ffff, nonce: 2083236893 },
  testnet: { timestamp: 1296688602, bits: 0x1d00ffff, nonce: 414098458 },
  stn: { timestamp: 1296688602, bits: 0x1d00ffff, nonce: 414098458 },
  regtest: { timestamp: 1296688602, bits: 0x207fffff, nonce: 2 },
};

/**
 * The genesis header of a built-in network, checked against the network's genesis hash. Undefined for a custom
 * network unless its genesis hash is one of the built-in ones (pass the header yourself otherwise).
 */
export function genesisHeader(network: Network): BlockHeader | undefined {
  for (const name of [network.name, ...Object.keys(GENESIS_FIELDS)]) {
    const fields = GENESIS_FIELDS[name];
    if (!fields) continue;
    const header: BlockHeader = { version: 1, prevBlock: Buffer.alloc(32), merkleRoot: fromDisplayHex(GENESIS_MERKLE_ROOT), ...fields };
    if (toDisplayHex(blockHash(header)) === network.genesisHash) return header;
  }
  return undefined;
}

// Consensus parameters for header validation, per network. Every value is taken from the BSV node's
// src/chainparams.cpp (CMainParams, CTestNetParams, CStnParams, CRegTestParams), src/consensus/params.h
// and src/block_index.h (MAX_FUTURE_BLOCK_TIME, nMedianTimeSpan).
import type { Network } from '../networks.js';
import { bitsFromTarget } from './work.js';

export interface ConsensusParams {
  /** The chainparams this set follows: 'mainnet', 'testnet', 'stn', 'regtest' (custom networks get 'regtest'). */
  readonly rules: 'mainnet' | 'testnet' | 'stn' | 'regtest';
  /** Display hex of block 0. */
  readonly genesisHash: string;
  /** The easiest target a header may claim. */
  readonly powLimit: bigint;
  /** powLimit in compact form, as GetCompact writes it. */
  readonly powLimitBits: number;
  /** nPowTargetSpacing, seconds. */
  readonly targetSpacing: number;
  /** nPowTargetTimespan, seconds. */
  readonly targetTimespan: number;
  /** DifficultyAdjustmentInterval(): targetTimespan / targetSpacing = 2016. */
  readonly retargetInterval: number;
  /** fPowAllowMinDifficultyBlocks: a header more than 2 × targetSpacing after its parent may claim powLimit. */
  readonly allowMinDifficultyBlocks: boolean;
  /** fPowNoRetargeting: every header repeats its parent's bits. */
  readonly noRetargeting: boolean;
  /**
   * First height of the August 2017 fork (UAHF). Informational: the node's EDA code is not gated on it but runs at
   * every height before the DAA (it first fired at mainnet 478577).
   */
  readonly uahfHeight: number;
  /** The per-block DAA sets the bits of every header whose parent is at this height or above. */
  readonly daaHeight: number;
  /** From these heights, headers need version ≥ 2, ≥ 3 and ≥ 4. */
  readonly bip34Height: number;
  readonly bip66Height: number;
  readonly bip65Height: number;
  /** Height → display hex of the one header allowed there. */
  readonly checkpoints: ReadonlyMap<number, string>;
  /** MAX_FUTURE_BLOCK_TIME: a header may be at most this far ahead of the (adjusted) clock, seconds. */
  readonly maxFutureBlockTime: number;
  /** CBlockIndex::nMedianTimeSpan: how many timestamps median-time-past looks at. */
  readonly medianTimeSpan: number;
}

const MAINNET_POW_LIMIT = (1n << 224n) - 1n; // 00000000ffff...ff
const REGTEST_POW_LIMIT = (1n << 255n) - 1n; // 7fff...ff
const TESTNET_GENESIS = '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943';
/** BIP34Height on regtest and stn: "far in the future", so never active. */
const NEVER = 100_000_000;

const common = {
  targetSpacing: 10 * 60,
  targetTimespan: 14 * 24 * 60 * 60,
  retargetInterval: (14 * 24 * 60 * 60) / (10 * 60),
  maxFutureBlockTime: 2 * 60 * 60,
  medianTimeSpan: 11,
} as const;

function checkpoints(entries: Array<[number, string]>): ReadonlyMap<number, string> {
  return new Map(entries);
}

const MAINNET: ConsensusParams = Object.freeze({
  ...common,
  rules: 'mainnet',
  genesisHash: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
  powLimit: MAINNET_POW_LIMIT,
  powLimitBits: bitsFromTarget(MAINNET_POW_LIMIT),
  allowMinDifficultyBlocks: false,
  noRetargeting: false,
  uahfHeight: 478558,
  daaHeight: 504031,
  bip34Height: 227931,
  bip66Height: 363725,
  bip65Height: 388381,
  checkpoints: checkpoints([
    [11111, '0000000069e244f73d78e8fd29ba2fd2ed618bd6fa2ee92559f542fdb26e7c1d'],
    [33333, '000000002dd5588a74784eaa7ab0507a18ad16a236e7b1ce69f00d7ddfb5d0a6'],
    [74000, '0000000000573993a3c9e41ce34471c079dcf5f52a0e824a81e7f953b8661a20'],
    [105000, '00000000000291ce28027faea320c8d2b054b2e0fe44a773f3eefb151d6bdc97'],
    [134444, '00000000000005b12ffd4cd315cd34ffd4a594f430ac814c91184a0d42d2b0fe'],
    [168000, '000000000000099e61ea72015e79632f216fe6cb33d7899acb35b75c8303b763'],
    [193000, '000000000000059f452a5f7340de6682a977387c17010ff6e6c3bd83ca8b1317'],
    [210000, '000000000000048b95347e83192f69cf0366076336c639f9b7228e9ba171342e'],
    [216116, '00000000000001b4f4b433e81ee46494af945cf96014816a4e2370f11b23df4e'],
    [225430, '00000000000001c108384350f74090433e7fcf79a606b8e797f065b130575932'],
    [250000, '000000000000003887df1f29024b06fc2200b55f8af8f35453d7be294df2d214'],
    [279000, '0000000000000001ae8c72a0b0c301f67e3afca10e819efa9041e458e9bd7e40'],
    [295000, '00000000000000004d9b4ef50f0f9d686fd69db2e03af35a100370c64632a983'],
    [478558, '0000000000000000011865af4122fe3b144e2cbeea86142e8ff2fb4107352d43'], // UAHF fork block
    [504031, '0000000000000000011ebf65b60d0a3de80b8175be709d653b4c1a1beeb6ab9c'], // DAA activation
    [530359, '0000000000000000011ada8bd08f46074f44a8f155396f43e38acf9501c49103'], // Monolith activation
  ]),
});

const TESTNET: ConsensusParams = Object.freeze({
  ...common,
  rules: 'testnet',
  genesisHash: TESTNET_GENESIS,
  powLimit: MAINNET_POW_LIMIT,
  powLimitBits: bitsFromTarget(MAINNET_POW_LIMIT),
  allowMinDifficultyBlocks: true,
  noRetargeting: false,
  uahfHeight: 1155875,
  daaHeight: 1188697,
  bip34Height: 21111,
  bip66Height: 330776,
  bip65Height: 581885,
  checkpoints: checkpoints([
    [546, '000000002a936ca763904c3c35fce2f3556c559c0214345d31b1bcebf76acb70'],
    [1155875, '00000000f17c850672894b9a75b63a1e72830bbd5f4c8889b5c1a80e7faef138'], // UAHF fork block
    [1188697, '0000000000170ed0918077bde7b4d36cc4c91be69fa09211f748240dabe047fb'], // DAA activation
  ]),
});

// STN: CStnParams sets BIP34Height far in the future and leaves BIP65Height/BIP66Height unset, so no
// version rule is enforced here.
const STN: ConsensusParams = Object.freeze({
  ...common,
  rules: 'stn',
  genesisHash: TESTNET_GENESIS,
  powLimit: MAINNET_POW_LIMIT,
  powLimitBits: bitsFromTarget(MAINNET_POW_LIMIT),
  allowMinDifficultyBlocks: false,
  noRetargeting: false,
  uahfHeight: 15,
  daaHeight: 2200,
  bip34Height: NEVER,
  bip66Height: NEVER,
  bip65Height: NEVER,
  checkpoints: checkpoints([
    [0, TESTNET_GENESIS],
    [1, '00000000e23f9436cc8a6d6aaaa515a7b84e7a1720fc9f92805c0007c77420c4'],
    [2, '0000000040f8f40b5111d037b8b7ff69130de676327bcbd76ca0e0498a06c44a'],
    [4, '00000000d33661d5a6906f84e3c64ea6101d144ec83760bcb4ba81edcb15e68d'],
    [5, '00000000e9222ebe623bf53f6ec774619703c113242327bdc24ac830787873d6'],
    [6, '00000000764a4ff15c2645e8ede0d0f2af169f7a517dd94a6778684ed85a51e4'],
    [7, '000000001f15fe3dac966c6bb873c63348ca3d877cd606759d26bd9ad41e5545'],
    [8, '0000000074230d332b2ed9d87af3ad817b6f2616c154372311c9b2e4f386c24c'],
    [9, '00000000ca21de811f04f5ec031aa3a102f8e27f2a436cde588786da1996ec9b'],
    [10, '0000000046ceee1b7d771594c6c75f11f14f96822fd520e86ec5c703ec231e87'],
    [11, '00000000e1ad0ed45011a4c7fe5afde3211b4bdcf60370234355338afbf70e2d'],
  ]),
});

const REGTEST_GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';

function regtestLike(genesisHash: string): ConsensusParams {
  return Object.freeze({
    ...common,
    rules: 'regtest',
    genesisHash,
    powLimit: REGTEST_POW_LIMIT,
    powLimitBits: bitsFromTarget(REGTEST_POW_LIMIT),
    allowMinDifficultyBlocks: true,
    noRetargeting: true,
    uahfHeight: 0,
    daaHeight: 0,
    bip34Height: NEVER,
    bip66Height: 1251,
    bip65Height: 1351,
    checkpoints: checkpoints(genesisHash === '' ? [] : [[0, genesisHash]]),
  } as const);
}

const REGTEST = regtestLike(REGTEST_GENESIS);

const BY_NAME: Readonly<Record<string, ConsensusParams>> = {
  mainnet: MAINNET,
  main: MAINNET,
  testnet: TESTNET,
  test: TESTNET,
  stn: STN,
  regtest: REGTEST,
};

/**
 * The consensus parameters of a network, chosen by its name (mainnet/main, testnet/test, stn, regtest).
 * Any other name — a network from defineNetwork — gets regtest's rules (no retargeting, regtest's
 * powLimit, regtest's activation heights), rooted at that network's own genesisHash; pass `overrides`
 * to give such a network other rules.
 */
export function consensusParams(network: Pick<Network, 'name' | 'genesisHash'>, overrides?: Partial<ConsensusParams>): ConsensusParams {
  const base = BY_NAME[network.name] ?? regtestLike(network.genesisHash);
  if (!overrides) return base;
  const merged = { ...base, ...overrides };
  if (overrides.powLimit !== undefined && overrides.powLimitBits === undefined) merged.powLimitBits = bitsFromTarget(overrides.powLimit);
  return Object.freeze(merged);
}

// bsv-wire public API. Layers, bottom up: networks, framing, messages, block streaming,
// peer, transport, peerstore, discovery, manager.
export * from './networks.js';
export { DecodeError, EncodeError, FramingError, type DecodeReason, type FramingReason } from './errors.js';
export { silentLogger, type Logger, type LogLevel } from './logger.js';
export { sha256, sha256d, toDisplayHex, fromDisplayHex } from './hash.js';
export * from './framing/index.js';
export {
  decodeMessage,
  encodeMessage,
  messageToJSON,
  messageFromJSON,
  messageCodecs,
  codecFor,
  limitClassOf,
  type Message,
  type KnownMessage,
  type MessageOf,
  type Command,
  type UnknownMessage,
  type MessageCodec,
  type PayloadLimitClass,
  type Json,
  type JsonObject,
} from './messages/index.js';
export { blockHash, encodeBlockHeader, decodeBlockHeader, BLOCK_HEADER_SIZE, type BlockHeader } from './messages/block-header.js';
export {
  rawTransaction,
  parseTransaction,
  serializeTransaction,
  toBsvTx,
  toBsvBlockHeader,
  type RawTransaction,
  type ParsedTransaction,
  type TransactionInput,
  type TransactionOutput,
} from './messages/transaction.js';
export { merkleRoot, merkleBranch, rootFromBranch } from './messages/merkle.js';
export { MSG_TX, MSG_BLOCK, MSG_FILTERED_BLOCK, MSG_CMPCT_BLOCK, MSG_DATAREF_TX, inventoryTypeName } from './messages/inventory.js';
export { netAddressToString, parseNetAddress, formatEndpoint, type NetAddress } from './messages/net-address.js';
export { walkTx } from './messages/tx-walk.js';
export * from './block/stream-decoder.js';
export * from './block/frames.js';
export { TxWalker } from './messages/tx-walk.js';
export * from './block/tx-stream.js';
export { MerkleRootBuilder } from './messages/merkle.js';
export * from './peer/index.js';
// What blockEnd says about a streamed block's transactions (the indexer contract in the README).
export { blockVerdict, type BlockVerdict } from './peer/block-receiver.js';
export * from './transport/index.js';
export * from './connect/index.js';
export * from './peerstore/index.js';
export * from './discovery/index.js';
export * from './manager/index.js';
export { HeaderChain, HeaderChainError, powLimitBits, type ChainTip, type HeaderChainFailure } from './chain/header-chain.js';
export { consensusParams, type ConsensusParams } from './chain/consensus.js';
export {
  calculateNextWorkRequired,
  checkGenesis,
  checkHeader,
  checkProofOfWork,
  HEADER_REJECT_POINTS,
  HeaderRuleError,
  medianTimePast,
  nextWorkRequired,
  type CheckHeaderOptions,
  type HeaderRejectReason,
} from './chain/rules.js';
export {
  HeaderSync,
  DEFAULT_HEADERS_RESPONSE_TIMEOUT_MS,
  HEADER_SYNC_POINTS,
  MAX_BLOCKS_TO_ANNOUNCE,
  MAX_HEADERS_RESULTS,
  MAX_UNCONNECTING_HEADERS,
  type HeaderRefusal,
  type HeaderSyncEvents,
  type HeaderSyncOptions,
  type HeaderSyncOutput,
  type SyncPeerInfo,
  type SyncTree,
} from './chain/header-sync.js';
export { HeaderFollower, type HeaderFollowerEvents, type HeaderFollowerOptions, type HeaderSink } from './chain/header-follower.js';
export { isHeadersReply } from './peer/headers-reply.js';
export type { ChainView, HeaderEntry, Reorg } from './chain/types.js';
export { bitsFromTarget, blockWork, targetFromBits } from './chain/work.js';
export {
  HeaderTree,
  HeaderTreeError,
  TREE_RECORD_SIZE,
  type HeaderTreeFailure,
  type TreeEntry,
  type HeaderBytesSource,
  type LoadedTree,
  type LocatorOptions,
} from './chain/header-tree.js';
export {
  HeaderStore,
  HeaderStoreError,
  HeaderStoreLockedError,
  type HeaderStoreFailure,
  type HeaderStoreHeal,
  type HeaderStoreOptions,
  type HeaderToStore,
} from './chain/header-store.js';
export { genesisHeader } from './chain/genesis.js';
// Wallets: mempool without duplicates, confirmed broadcast, SPV proofs.
export { MempoolCore, type MempoolCoreOptions, type MempoolOutput, type MempoolStats } from './chain/mempool.js';
export { MempoolWatcher, type MempoolTxEvent, type MempoolWatcherEvents, type MempoolWatcherOptions } from './chain/mempool-watcher.js';
export {
  BroadcastCore,
  type BroadcastOptions,
  type BroadcastOutput,
  type BroadcastResult,
  type BroadcastStatus,
  type PeerBroadcastStatus,
} from './chain/broadcast.js';
export { Broadcaster, type BroadcasterEvents, type BroadcasterOptions, type BroadcastTxOptions } from './chain/broadcaster.js';
export {
  bloomContains,
  bloomFilterFor,
  buildPartialMerkleTree,
  decodePartialMerkleTree,
  MerkleBranchBuilder,
  SpvError,
  tscProof,
  verifyMerkleProof,
  type BloomFilter,
  type PartialTreeMatch,
  type ProofHeaders,
} from './chain/spv.js';
export { NODE_BLOOM, SpvProver, type SpvProofResult, type SpvProverOptions } from './chain/spv-prover.js';
// Block download (BlockSync core), in-order delivery through an on-disk spool, and the crash-safe cursor.
export {
  BlockSync,
  BLOCK_SYNC_POINTS,
  DEFAULT_BLOCK_WINDOW,
  DEFAULT_MAX_BLOCKS_PER_PEER,
  DEFAULT_BANDWIDTH_FLOOR,
  DEFAULT_STALL_WINDOW_MS,
  DEFAULT_SLOW_BLOCK_MS,
  DEFAULT_SPOOL_BUDGET,
  type BlockChain,
  type BlockPeerInfo,
  type BlockSyncOptions,
  type BlockSyncOutput,
  type BlockOutcome,
} from './chain/block-sync.js';
export { BlockFollower, type BlockFollowerEvents, type BlockFollowerOptions, type DeliveredBlock, type DeliveredTx } from './chain/block-follower.js';
export { CursorFile, type BlockCursor } from './chain/block-cursor.js';
// Operators: Prometheus/OpenMetrics metrics of a Manager and the chain follower, and their scrape endpoint.
export * from './metrics/index.js';
// Wire capture in Bitcoin Core's -capturemessages layout, and replay through the peer state machine.
export { CaptureCore, type CapturePiece } from './capture/core.js';
export {
  CaptureWriter,
  PeerCapture,
  DEFAULT_CAPTURE_MAX_FILE_BYTES,
  DEFAULT_CAPTURE_KEEP_FILES,
  DEFAULT_CAPTURE_MAX_QUEUE_BYTES,
  DEFAULT_CAPTURE_PAUSE_BYTES,
  type CaptureWriterOptions,
  type CapturePeer,
} from './capture/writer.js';
export {
  RecordParser,
  RECORD_HEADER_SIZE,
  NOTES_FILE,
  peerFolderName,
  recordFileName,
  wireFileName,
  type CaptureDirection,
  type CaptureNote,
  type CaptureStopReason,
  type RecordEvent,
} from './capture/format.js';
export { replayCapture, captureSessions, type CaptureSession, type ReplayOptions, type SessionReplay } from './capture/replay.js';

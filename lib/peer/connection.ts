import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { v4 as uuidv4 } from 'uuid';
import { DecodeError, FramingError } from '../errors.js';
import { fromDisplayHex, toDisplayHex } from '../hash.js';
import {
  DEFAULT_MAX_PROTOCOL_RECV_PAYLOAD_LENGTH,
  FrameDecoder,
  LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH,
  encodeFrame,
  encodeFrameHeader,
  payloadLimitClassOf,
  type FrameEvent,
  type FrameHeader,
  type PayloadLimits,
} from '../framing/index.js';
import { decodeMessage, encodeMessage, type Message, type MessageOf } from '../messages/index.js';
import { MIN_PEER_PROTO_VERSION, type Network } from '../networks.js';
import { systemClock, randomNonce, type Clock, type NonceSource } from './clock.js';
import { closeReason, PeerError, SendRefusedError, TimeoutError, type CloseReason, type CloseReasonCode, type SendRefusalReason } from './reasons.js';
import { DEFAULT_TIMEOUTS, PeerProtocol, isHandshakeCommand, type LocalVersion, type PeerTimeouts, type ProtocolOutput, type RttStats } from './protocol.js';
import {
  BlockReceiver,
  blockVerdict,
  type BlockEnd,
  type BlockInvalidEvent,
  type BlockHeaderEvent,
  type BlockTransactionEvent,
  type BlockTxEndEvent,
  type BlockTxPieceEvent,
  type BlockTxStartEvent,
} from './block-receiver.js';
import { TxReceiver, type TxEndEvent, type TxPieceEvent, type TxStartEvent } from './tx-receiver.js';
import { resolveHugeTxThreshold } from '../block/tx-stream.js';
import type { PeerState } from './state.js';
import { DEFAULT_UA_POLICY, assertSendableUserAgent, type UserAgentPolicy } from './user-agent.js';
import { BAN_THRESHOLD, MISBEHAVIOR_POINTS } from './misbehavior.js';
import { LogHook, logHook, hexFlags, type Logger } from '../logger.js';
import type { MisbehaviorKind } from './misbehavior.js';
import { PeerStats, type PeerStatsSnapshot } from './stats.js';
import { isHeadersReply } from './headers-reply.js';
import { defaultFrameBudget, type FrameBudget, type FrameBudgetHolder } from './frame-budget.js';
import type { WireTap } from './wire-tap.js';

export const DEFAULT_USER_AGENT = '/bsv-wire:0.1.0/';
export const DEFAULT_MAX_UNFLUSHED_BYTES = 32 * 1024 * 1024;
/** Unsent output above which we stop reading from the peer (the node's fPauseSend). */
export const DEFAULT_SEND_HIGH_WATER_MARK = 1024 * 1024;
/** Frames smaller than this, sent in the same tick, go out as one write. */
const COALESCE_BYTES = 16 * 1024;
/** What one queued write holds besides its bytes (the stream's request entry, the Buffer object). */
const WRITE_OVERHEAD_BYTES = 256;

type CommandEvents = { [C in Message['command']]: (message: MessageOf<C>) => void };

/** Typed events; the Manager re-emits the same names with the peer appended. */
export interface PeerEvents extends CommandEvents {
  state: (change: { from: PeerState; to: PeerState }) => void;
  ready: (version: MessageOf<'version'>) => void;
  message: (message: Message) => void;
  blockHeader: (event: BlockHeaderEvent) => void;
  blockTx: (tx: BlockTransactionEvent) => void;
  blockEnd: (end: BlockEnd) => void;
  /** Right after `blockEnd` when the checksum or merkle root failed: roll back that block's transactions. */
  blockInvalid: (event: BlockInvalidEvent) => void;
  /** A block transaction over hugeTxThreshold: start, pieces in order, end with its txid (no `blockTx` for it). */
  blockTxStart: (event: BlockTxStartEvent) => void;
  blockTxPiece: (event: BlockTxPieceEvent) => void;
  blockTxEnd: (event: BlockTxEndEvent) => void;
  /** A `tx` frame over hugeTxThreshold: start, pieces in order, end with its txid (no `tx`/`message` for it). */
  txStart: (event: TxStartEvent) => void;
  txPiece: (event: TxPieceEvent) => void;
  txEnd: (event: TxEndEvent) => void;
  misbehavior: (event: { kind: MisbehaviorKind; score: number }) => void;
  ban: (event: { reason: string; score: number }) => void;
  close: (reason: CloseReason) => void;
  /** An app listener threw; the connection carries on. */
  listenerError: (error: unknown) => void;
}

export interface PeerConnectionOptions {
  readonly network: Network;
  readonly direction: 'inbound' | 'outbound';
  /** Remote endpoint as known to the transport (for stats and version's addr_recv). */
  readonly remote?: { readonly address: string; readonly port: number };
  readonly services?: bigint;
  readonly relay?: boolean;
  readonly userAgent?: string;
  readonly startHeight?: number;
  readonly protocolVersion?: number;
  readonly minPeerVersion?: number;
  readonly requiredServices?: bigint;
  readonly userAgentPolicy?: UserAgentPolicy;
  readonly maxRecvPayloadLength?: number;
  readonly limits?: Partial<PayloadLimits>;
  readonly timeouts?: Partial<PeerTimeouts>;
  /**
   * Unsent output (bytes not yet taken by the socket) at which the connection closes with
   * 'send-buffer-overflow': the last resort against a peer that stopped reading. Default 32 MiB.
   */
  readonly maxUnflushedBytes?: number;
  /**
   * Unsent output above which we stop reading from the peer, until it drains to half of this
   * (as the node's fPauseSend): a peer that sends pings but reads no pongs then stalls itself.
   * Default 1 MiB; at most maxUnflushedBytes.
   */
  readonly sendHighWaterMark?: number;
  /**
   * Before the handshake completes, the largest payload accepted for a handshake command
   * (default the legacy 1 MiB). A larger frame of any command is refused at its header and
   * the peer banned, as the node does for an oversized header.
   */
  readonly preHandshakeMaxPayload?: number;
  /**
   * The process-wide allowance for whole frames gathered across chunks (default: one budget
   * of 256 MiB shared by every PeerConnection that is not given its own).
   */
  readonly frameBudget?: FrameBudget;
  readonly clock?: Clock;
  readonly nonce?: NonceSource;
  readonly selfNonces?: Set<bigint>;
  /** Asked when the handshake completes; false = over capacity (polite rejection). */
  readonly admit?: () => boolean;
  readonly banThreshold?: number;
  /** How often timers are checked. */
  readonly tickIntervalMs?: number;
  /**
   * Called for each streamed block transaction before `blockTx` is emitted. If it returns a
   * promise, the socket is paused until it settles: input backpressure for slow consumers.
   */
  readonly onBlockTransaction?: (tx: BlockTransactionEvent) => void | Promise<void>;
  /**
   * Called for each piece of a huge transaction (blockTxPiece or txPiece) before the event is
   * emitted; a returned promise pauses the socket until it settles, as for onBlockTransaction
   * (for apps that write the pieces out).
   */
  readonly onHugeTxPiece?: (piece: BlockTxPieceEvent | TxPieceEvent) => void | Promise<void>;
  readonly verifyMerkleRoot?: boolean;
  /**
   * Transactions larger than this (default 16 MiB), in a block or as a `tx` frame after the
   * handshake, are not gathered: they are hashed as they arrive and delivered as
   * blockTxStart/blockTxPiece/blockTxEnd or txStart/txPiece/txEnd. Infinity turns this off.
   */
  readonly hugeTxThreshold?: number;
  readonly id?: string;
  /**
   * Where lifecycle records go (handshake, misbehaviour, ban, close, listener errors), each with the
   * peer id bound as `peer`. Default: nothing is logged.
   */
  readonly logger?: Logger;
  /**
   * Raw bytes both ways as they pass the socket (wire capture); nothing is done for it when absent. A
   * promise returned by `received` pauses reading until it settles, as onBlockTransaction's does.
   */
  readonly wireTap?: WireTap;
}

type BufferOptions = Pick<PeerConnectionOptions, 'maxUnflushedBytes' | 'sendHighWaterMark' | 'preHandshakeMaxPayload'>;

/** The send and pre-handshake limits with their defaults, validated (RangeError); the Manager checks them at construction too. */
export function resolveBufferOptions(opts: BufferOptions): Required<BufferOptions> {
  const maxUnflushedBytes = opts.maxUnflushedBytes ?? DEFAULT_MAX_UNFLUSHED_BYTES;
  const sendHighWaterMark = opts.sendHighWaterMark ?? Math.min(DEFAULT_SEND_HIGH_WATER_MARK, maxUnflushedBytes);
  const preHandshakeMaxPayload = opts.preHandshakeMaxPayload ?? LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH;
  if (!Number.isSafeInteger(maxUnflushedBytes) || maxUnflushedBytes <= 0) {
    throw new RangeError(`maxUnflushedBytes must be a positive safe integer, got ${maxUnflushedBytes}`);
  }
  if (!Number.isSafeInteger(sendHighWaterMark) || sendHighWaterMark <= 0 || sendHighWaterMark > maxUnflushedBytes) {
    throw new RangeError(`sendHighWaterMark must be a positive safe integer up to maxUnflushedBytes (${maxUnflushedBytes}), got ${sendHighWaterMark}`);
  }
  if (!Number.isSafeInteger(preHandshakeMaxPayload) || preHandshakeMaxPayload < 0) {
    throw new RangeError(`preHandshakeMaxPayload must be a non-negative safe integer, got ${preHandshakeMaxPayload}`);
  }
  return { maxUnflushedBytes, sendHighWaterMark, preHandshakeMaxPayload };
}

/** Nonces of our in-flight version messages, shared process-wide to catch self-connections. */
const sharedSelfNonces = new Set<bigint>();

/**
 * One peer over any Duplex. It never dials: transports hand it a connected stream.
 * Bytes flow stream -> FrameDecoder -> codecs -> PeerProtocol -> events; writes flow back.
 */
export class PeerConnection extends EventEmitter<PeerEvents> implements FrameBudgetHolder {
  readonly id: string;
  readonly network: Network;
  readonly direction: 'inbound' | 'outbound';
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly protocol: PeerProtocol;
  private readonly decoder: FrameDecoder;
  private readonly blocks: BlockReceiver;
  private readonly txs = new TxReceiver();
  private readonly hugeTxThreshold: number;
  private readonly stats_: PeerStats;
  private readonly maxUnflushed: number;
  private readonly sendHighWaterMark: number;
  /** Small frames waiting for the end of the tick, to go out as one write. */
  private outFrames: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  /** True while sendStreamed writes a frame piece by piece. */
  private streamingOut = false;
  private lastRefusal: SendRefusedError | undefined;
  /** Writes handed to the stream whose callback has not run yet. */
  private writesInFlight = 0;
  private sendPaused = false;
  private handlerBatches = 0;
  private readonly preHandshakeMaxPayload: number;
  private readonly frameBudget: FrameBudget;
  /** True while a straddling whole frame holds a reservation in the frame budget. */
  private holdsBudget = false;
  private readonly timer: NodeJS.Timeout;
  private pendingHandlers: Promise<void>[] = [];
  private closed: CloseReason | undefined;
  private readonly servedTxs = new Map<string, Buffer>();
  /** Our own request waiters, apart from app listeners: an app listener that throws cannot starve them. */
  private readonly replyWaiters = new EventEmitter<PeerEvents>();
  private readonly log: LogHook;
  private readonly clock: Clock;
  private readonly openedAt: number;
  /** Clock time the handshake completed (undefined until then). */
  private readyAt: number | undefined;
  private wireTap: WireTap | undefined;
  /** The reason of the ban this connection asked for, if any (told to the wire tap at close). */
  private banReason: string | undefined;

  constructor(
    private readonly stream: Duplex,
    opts: PeerConnectionOptions,
  ) {
    super();
    this.id = opts.id ?? uuidv4();
    this.network = opts.network;
    this.direction = opts.direction;
    this.remoteAddress = opts.remote?.address ?? 'unknown';
    this.remotePort = opts.remote?.port ?? 0;
    const userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    assertSendableUserAgent(userAgent);
    const buffers = resolveBufferOptions(opts);
    const clock = opts.clock ?? systemClock;
    this.clock = clock;
    this.openedAt = clock.now();
    this.log = logHook(opts.logger, opts.logger ? { peer: this.id } : undefined);
    const maxRecvPayloadLength = opts.maxRecvPayloadLength ?? DEFAULT_MAX_PROTOCOL_RECV_PAYLOAD_LENGTH;
    const local: LocalVersion = {
      protocolVersion: opts.protocolVersion ?? opts.network.protocolVersion,
      services: opts.services ?? 0n,
      userAgent,
      startHeight: opts.startHeight ?? -1,
      relay: opts.relay ?? true,
    };
    this.protocol = new PeerProtocol({
      network: opts.network,
      direction: opts.direction,
      local,
      remote: undefined,
      minPeerVersion: opts.minPeerVersion ?? MIN_PEER_PROTO_VERSION,
      requiredServices: opts.requiredServices ?? 0n,
      userAgentPolicy: opts.userAgentPolicy ?? DEFAULT_UA_POLICY,
      maxRecvPayloadLength,
      timeouts: { ...DEFAULT_TIMEOUTS, ...opts.timeouts },
      clock,
      nonce: opts.nonce ?? randomNonce,
      selfNonces: opts.selfNonces ?? sharedSelfNonces,
      admit: opts.admit ?? (() => true),
      banThreshold: opts.banThreshold ?? BAN_THRESHOLD,
    });
    this.hugeTxThreshold = resolveHugeTxThreshold(opts.hugeTxThreshold);
    this.preHandshakeMaxPayload = buffers.preHandshakeMaxPayload;
    this.frameBudget = opts.frameBudget ?? defaultFrameBudget;
    this.decoder = new FrameDecoder({
      magic: opts.network.magic,
      badChecksum: 'drop',
      limits: { default: maxRecvPayloadLength, ...opts.limits },
      shouldStream: (header) => header.command === 'block' || this.streamsTx(header),
      onHeader: (header) => this.admitHeader(header),
      onBuffer: (header) => this.reserveFrame(header),
    });
    this.blocks = new BlockReceiver({ verifyMerkleRoot: opts.verifyMerkleRoot ?? true, hugeTxThreshold: this.hugeTxThreshold });
    this.stats_ = new PeerStats(clock);
    this.maxUnflushed = buffers.maxUnflushedBytes;
    this.sendHighWaterMark = buffers.sendHighWaterMark;
    this.onBlockTransaction = opts.onBlockTransaction;
    this.onHugeTxPiece = opts.onHugeTxPiece;
    this.wireTap = opts.wireTap;

    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.apply(this.protocol.close('remote-closed', 'peer closed the connection')));
    stream.on('close', () => this.apply(this.protocol.close('remote-closed', 'connection closed')));
    stream.on('error', (err: Error) => this.apply(this.protocol.close('socket-error', err.message)));
    // Dialers may hand over a paused stream; the reader is attached now.
    stream.resume();
    this.timer = setInterval(() => this.apply(this.protocol.tick()), opts.tickIntervalMs ?? 1000);
    this.timer.unref();
    this.apply(this.protocol.start());
  }

  private readonly onBlockTransaction: ((tx: BlockTransactionEvent) => void | Promise<void>) | undefined;
  private readonly onHugeTxPiece: ((piece: BlockTxPieceEvent | TxPieceEvent) => void | Promise<void>) | undefined;

  get state(): PeerState {
    return this.protocol.state;
  }
  /** What the peer announced: version, protoconf limit, announcement preferences. */
  get remote(): PeerProtocol['remote'] {
    return this.protocol.remote;
  }
  get rtt(): RttStats {
    return this.protocol.rttStats;
  }
  get closeReason(): CloseReason | undefined {
    return this.closed;
  }
  /**
   * Output not yet taken by the socket, counted by what it holds: bytes waiting here and in the
   * stream, plus a fixed overhead per pending write.
   */
  get sendBacklogBytes(): number {
    return this.outBytes + this.stream.writableLength + this.writesInFlight * WRITE_OVERHEAD_BYTES;
  }
  /** True while reading from the peer is paused: our output to it is over the high-water mark, or a block handler is pending. */
  get readingPaused(): boolean {
    return this.sendPaused || this.handlerBatches > 0;
  }

  /** A plain snapshot of counters, like one row of getpeerinfo. */
  stats(): PeerStatsSnapshot {
    const v = this.protocol.remote.version;
    return this.stats_.snapshot({
      id: this.id,
      direction: this.direction,
      address: this.remoteAddress,
      port: this.remotePort,
      state: this.state,
      userAgent: v?.userAgent,
      version: v?.version,
      services: v?.services,
      startHeight: v?.startHeight,
      rtt: this.rtt,
      misbehaviorScore: this.protocol.score,
    });
  }

  /**
   * Send a message. Every refusal is reported the same way: send() returns false and
   * `lastSendRefusal` says why ('oversize': a non-block message larger than the peer's protoconf
   * limit, which the BSV node bans for; 'closed': the connection is not open). It never throws
   * for a refusal, so it is safe inside event handlers. A message that cannot be encoded at all
   * (a malformed value) still throws its EncodeError.
   */
  send(message: Message): boolean {
    if (this.closed) return this.refuse('closed', message.command, `connection closed (${this.closed.code})`);
    // Check the payload before framing, so a refused message is never copied or hashed.
    const { command, payload } = encodeMessage(message);
    const peerLimit = this.protocol.remote.maxRecvPayloadLength;
    if (payloadLimitClassOf(command) === 'default' && payload.length > peerLimit) {
      return this.refuse('oversize', command, `${command} payload of ${payload.length} bytes exceeds the peer's limit of ${peerLimit}`);
    }
    const frame = encodeFrame(this.network.magic, command, payload, { peerVersion: this.protocol.remote.version?.version });
    this.stats_.sent(command, frame.length);
    this.protocol.noteSent();
    this.queueFrame(frame);
    const backlog = this.sendBacklogBytes;
    if (backlog > this.maxUnflushed) {
      this.apply(this.protocol.close('send-buffer-overflow', `${backlog} bytes unflushed; the peer stopped reading`));
      return false;
    }
    if (backlog > this.sendHighWaterMark && !this.sendPaused) {
      this.sendPaused = true;
      this.updateReading();
    }
    return true;
  }

  /** Why the last send() returned false; cleared by nothing, overwritten by the next refusal. */
  get lastSendRefusal(): SendRefusedError | undefined {
    return this.lastRefusal;
  }

  private refuse(reason: SendRefusalReason, command: string, detail: string): false {
    this.lastRefusal = new SendRefusedError(reason, command, detail);
    return false;
  }

  /**
   * Sends one frame whose payload is produced piece by piece (a block served from disk, larger
   * than memory). Other output waits until its last piece is written, so no frame is ever put in
   * the middle of it; socket backpressure is awaited between pieces. The checksum is the first 4
   * bytes of the payload's sha256d (ignored for extmsg). Resolves false if the connection closed
   * before the frame was complete, or the pieces did not add up to payloadLength.
   */
  async sendStreamed(command: string, payloadLength: number, checksum: Buffer, pieces: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<boolean> {
    if (this.closed) return false;
    if (this.streamingOut) throw new Error('sendStreamed: another streamed frame is still being written');
    const header = encodeFrameHeader(this.network.magic, command, payloadLength, checksum, { peerVersion: this.protocol.remote.version?.version });
    this.flushFrames();
    this.streamingOut = true;
    let written = 0;
    try {
      this.stats_.sent(command, header.length + payloadLength);
      this.protocol.noteSent();
      this.writeOut(header);
      for await (const piece of pieces) {
        if (this.closed || this.stream.destroyed) return false;
        written += piece.length;
        if (written > payloadLength) throw new RangeError(`sendStreamed: pieces exceed the declared ${payloadLength} bytes`);
        if (!this.writeOut(piece)) await this.drained();
      }
      return written === payloadLength && !this.closed;
    } finally {
      this.streamingOut = false;
      if (written === payloadLength) this.flushFrames();
      else if (!this.closed) this.apply(this.protocol.close('local', `our streamed ${command} ended after ${written} of ${payloadLength} bytes`));
    }
  }

  /** Resolves on the stream's next 'drain' (or its close), leaving no listener behind. */
  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done).off('close', done);
        resolve();
      };
      this.stream.on('drain', done).on('close', done);
    });
  }

  private queueFrame(frame: Buffer): void {
    if (this.streamingOut) {
      // A streamed frame is on the wire: everything else waits behind it, whatever its size.
      this.outFrames.push(frame);
      this.outBytes += frame.length;
      return;
    }
    if (frame.length >= COALESCE_BYTES) {
      this.flushFrames(); // keep the order
      this.writeOut(frame);
      return;
    }
    this.outFrames.push(frame);
    this.outBytes += frame.length;
    if (this.outBytes >= COALESCE_BYTES) this.flushFrames();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => {
        this.flushScheduled = false;
        this.flushFrames();
      });
    }
  }

  private flushFrames(): void {
    if (this.outFrames.length === 0 || this.streamingOut) return;
    const out = this.outFrames.length === 1 ? this.outFrames[0]! : Buffer.concat(this.outFrames, this.outBytes);
    this.outFrames = [];
    this.outBytes = 0;
    this.writeOut(out);
  }

  /** False when the stream wants a 'drain' before more (or is gone). */
  private writeOut(data: Buffer): boolean {
    if (this.stream.destroyed || this.stream.writableEnded) return false;
    if (this.wireTap) this.tap('sent', data);
    this.writesInFlight++;
    return this.stream.write(data, () => {
      this.writesInFlight--;
      // Resume reading once the backlog has drained to half the mark (hysteresis, not a flutter).
      if (this.sendPaused && this.sendBacklogBytes <= this.sendHighWaterMark / 2) {
        this.sendPaused = false;
        this.updateReading();
      }
    });
  }

  /** Hands bytes to the wire tap; a tap that throws is taken off rather than let into the connection. */
  private tap(way: 'received' | 'sent', bytes: Buffer): void {
    try {
      const r = this.wireTap![way](bytes);
      // As for a slow block handler: reading stays paused until the tap has caught up (see onData).
      if (r && typeof (r as Promise<void>).then === 'function') this.pendingHandlers.push(Promise.resolve(r).catch((e) => this.safeEmit('listenerError', e)));
    } catch (err) {
      this.wireTap = undefined;
      this.safeEmit('listenerError', err);
    }
  }

  /** Read while nothing holds us back: neither a send backlog nor a pending block handler. */
  private updateReading(): void {
    if (this.closed) return;
    if (this.readingPaused) this.stream.pause();
    else this.stream.resume();
  }

  /**
   * Read nothing more from the peer until `until` settles: backpressure for a listener that writes what
   * arrives somewhere slower (a chain follower spooling a block to disk). Called from an event handler,
   * the rest of the chunk being decoded is still delivered. Holds add up; each ends when its promise settles.
   */
  holdReading(until: PromiseLike<unknown>): void {
    this.handlerBatches++;
    this.updateReading();
    const release = (): void => {
      this.handlerBatches--;
      this.updateReading();
    };
    Promise.resolve(until).then(release, release);
  }

  /** Close the connection; resolves once the socket is closed. */
  close(code: CloseReasonCode = 'local', message = 'closed by us'): Promise<void> {
    this.apply(this.protocol.close(code, message));
    return new Promise((resolve) => {
      if (this.stream.destroyed) resolve();
      else this.stream.once('close', () => resolve());
    });
  }

  /** Resolves once the handshake completes; rejects with the close reason otherwise. */
  ready(timeoutMs = 60_000, signal?: AbortSignal): Promise<MessageOf<'version'>> {
    if (this.state === 'ready') return Promise.resolve(this.protocol.remote.version!);
    return this.waitFor('ready', () => true, timeoutMs, signal, 'handshake') as Promise<MessageOf<'version'>>;
  }

  /** Ping and resolve with the round-trip time in ms. */
  async ping(timeoutMs = 30_000, signal?: AbortSignal): Promise<number> {
    const { nonce, outputs } = this.protocol.ping();
    const wait = this.waitForPong(nonce, timeoutMs, signal);
    this.apply(outputs);
    return wait;
  }

  /**
   * getheaders: resolves with the `headers` message that answers it. A `headers` announcement (sent
   * because of sendheaders) that does not build on the locator is not taken for the reply.
   */
  getHeaders(locator: Buffer[], stop: Buffer = Buffer.alloc(32), opts: WaitOptions = {}): Promise<MessageOf<'headers'>> {
    const getheaders = { command: 'getheaders', version: this.network.protocolVersion, locator, hashStop: stop } as Message;
    const genesis = this.network.genesisHash === '' ? undefined : fromDisplayHex(this.network.genesisHash);
    const match = (m: MessageOf<'headers'>): boolean => isHeadersReply(locator, stop, m.headers, genesis);
    return this.request(getheaders, 'headers', match, opts.timeoutMs ?? 60_000, [opts.signal], 'getheaders');
  }

  /** getdata for a block; its header and transactions stream through the events, then this resolves with the summary. */
  getBlock(hash: Buffer, opts: WaitOptions = {}): Promise<BlockEnd> {
    const getdata = { command: 'getdata', inventory: [{ type: 2, hash }] } as Message;
    return this.request(getdata, 'blockEnd', (end) => end.hash.equals(hash), opts.timeoutMs ?? 600_000, [opts.signal], 'getblock');
  }

  /** getdata for a transaction; rejects if the peer answers notfound. */
  async getTx(txid: Buffer, opts: WaitOptions = {}): Promise<MessageOf<'tx'>> {
    // notfound aborts the wait, so waitFor's own cleanup drops its listeners and timer.
    const notFound = new AbortController();
    const onNotFound = (m: MessageOf<'notfound'>): void => {
      if (m.inventory.some((i) => i.hash.equals(txid))) notFound.abort(new Error(`peer has no transaction ${toDisplayHex(txid)}`));
    };
    // A tx over hugeTxThreshold arrives as txStart/txPiece/txEnd, never whole: say so rather than time out.
    const onStreamed = (end: TxEndEvent): void => {
      if (end.txid.equals(txid) && end.checksumOk) {
        notFound.abort(new Error(`transaction ${toDisplayHex(txid)} is ${end.size} bytes, over hugeTxThreshold: it came as txStart/txPiece/txEnd events`));
      }
    };
    this.replyWaiters.on('notfound', onNotFound);
    this.replyWaiters.on('txEnd', onStreamed);
    try {
      const getdata = { command: 'getdata', inventory: [{ type: 1, hash: txid }] } as Message;
      return await this.request(getdata, 'tx', (tx) => tx.txid.equals(txid), opts.timeoutMs ?? 60_000, [opts.signal, notFound.signal], 'gettx');
    } finally {
      this.replyWaiters.off('notfound', onNotFound);
      this.replyWaiters.off('txEnd', onStreamed);
    }
  }

  /** Announce a transaction with inv and serve it when the peer asks with getdata. */
  sendTx(tx: MessageOf<'tx'>): boolean {
    this.servedTxs.set(tx.txid.toString('hex'), tx.raw);
    if (this.servedTxs.size > 1000) this.servedTxs.delete(this.servedTxs.keys().next().value!);
    return this.send({ command: 'inv', inventory: [{ type: 1, hash: tx.txid }] } as Message);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.stats_.received(chunk.length);
    if (this.wireTap) this.tap('received', chunk);
    try {
      // Event by event, so a verack is applied before the next header meets the handshake rule.
      this.decoder.push(chunk, (ev) => this.onFrameEvent(ev));
    } catch (err) {
      this.failOn(err);
    }
    if (this.pendingHandlers.length > 0) {
      const pending = this.pendingHandlers;
      this.pendingHandlers = [];
      this.handlerBatches++;
      this.updateReading();
      void Promise.allSettled(pending).then(() => {
        this.handlerBatches--;
        this.updateReading();
      });
    }
  }

  /** One decoded event; false stops decoding the rest of the chunk (the connection closed). */
  private onFrameEvent(ev: FrameEvent): boolean {
    if (this.closed) return false;
    try {
      switch (ev.type) {
        case 'frame':
          this.releaseFrame();
          this.stats_.receivedMessage(ev.header.command, ev.header.headerSize + ev.header.length);
          this.onFrame(ev.header, ev.payload);
          break;
        case 'stream-start':
          this.stats_.receivedMessage(ev.header.command, ev.header.headerSize + ev.header.length);
          if (ev.header.command === 'tx') this.dispatchTx(this.txs.start(ev.header));
          else this.dispatchBlock(this.blocks.start(ev.header));
          break;
        case 'stream-data':
          if (ev.header.command === 'tx') this.dispatchTx(this.txs.data(ev.chunk));
          else this.dispatchBlock(this.blocks.data(ev.chunk));
          break;
        case 'stream-end':
          if (ev.header.command === 'tx') this.dispatchTx(this.txs.end(ev.checksumOk));
          else this.dispatchBlock(this.blocks.end(ev.checksumOk));
          break;
        case 'dropped':
          this.releaseFrame();
          this.stats_.receivedMessage(ev.header.command, ev.header.headerSize + ev.header.length);
          this.apply(this.protocol.protocolError(ev.error));
          break;
        case 'skipped':
          this.stats_.receivedMessage(ev.header.command, ev.header.headerSize + ev.header.length);
          this.apply(this.protocol.skippedBeforeHandshake(ev.header.command));
          break;
      }
    } catch (err) {
      this.failOn(err);
    }
    return !this.closed;
  }

  /**
   * The pre-handshake rule, applied to each header before its payload is read. Until the
   * handshake completes only handshake commands are read, each up to preHandshakeMaxPayload:
   * a larger frame of any command is refused here (ban, as for an oversized header), and a
   * small frame of another command goes by unread and costs the node's 1 point.
   */
  private admitHeader(header: FrameHeader): 'read' | 'skip' {
    if (this.protocol.state === 'ready') return 'read';
    if (header.length > this.preHandshakeMaxPayload) {
      throw new FramingError(header.command, 'oversized', `declares ${header.length} bytes before the handshake completed; the limit then is ${this.preHandshakeMaxPayload}`);
    }
    return isHandshakeCommand(header.command) ? 'read' : 'skip';
  }

  /** A whole frame straddles chunks and is about to be gathered: draw its length from the budget. */
  private reserveFrame(header: FrameHeader): void {
    // A refused frame has already closed us through evictForBudget; the throw stops the decoder.
    if (!this.frameBudget.acquire(this, header.length)) throw new Error(`${header.command} frame of ${header.length} bytes refused by the frame budget`);
    this.holdsBudget = true;
  }

  private releaseFrame(): void {
    if (!this.holdsBudget) return;
    this.holdsBudget = false;
    this.frameBudget.release(this);
  }

  /** FrameBudgetHolder: the budget chose this peer to drop (it gathers the most). */
  evictForBudget(detail: string): void {
    this.releaseFrame();
    this.apply(this.protocol.close('memory-budget', detail));
  }

  private onFrame(header: FrameHeader, payload: Buffer): void {
    let message: Message;
    try {
      message = decodeMessage(header.command, payload);
    } catch (err) {
      if (err instanceof DecodeError) {
        this.apply(this.protocol.protocolError(err));
        return;
      }
      throw err;
    }
    this.apply(this.protocol.receive(message));
  }

  private serveGetData(m: MessageOf<'getdata'>): void {
    for (const item of m.inventory) {
      const raw = item.type === 1 ? this.servedTxs.get(item.hash.toString('hex')) : undefined;
      if (raw) this.send({ command: 'tx', raw, txid: item.hash } as Message);
    }
  }

  private dispatchBlock(events: ReturnType<BlockReceiver['data']>): void {
    for (const ev of events) {
      if (ev.type === 'header') this.safeEmit('blockHeader', ev.event);
      else if (ev.type === 'txStart') this.safeEmit('blockTxStart', ev.event);
      else if (ev.type === 'txPiece') {
        this.callPieceHandler(ev.event);
        this.safeEmit('blockTxPiece', ev.event);
      }
      else if (ev.type === 'txEnd') this.safeEmit('blockTxEnd', ev.event);
      else if (ev.type === 'tx') {
        if (this.onBlockTransaction) {
          try {
            const r = this.onBlockTransaction(ev.event);
            if (r && typeof (r as Promise<void>).then === 'function') this.pendingHandlers.push(Promise.resolve(r).catch((e) => this.safeEmit('listenerError', e)));
          } catch (e) {
            this.safeEmit('listenerError', e);
          }
        }
        this.safeEmit('blockTx', ev.event);
      } else {
        this.safeEmit('blockEnd', ev.event);
        const verdict = blockVerdict(ev.event);
        if (verdict === 'bad-checksum' || verdict === 'bad-merkle-root') {
          // Before the protocol error, which may close the connection: listeners roll back first.
          this.safeEmit('blockInvalid', { hash: ev.event.hash, verdict, end: ev.event });
          this.apply(this.protocol.protocolError(new DecodeError('block', verdict === 'bad-merkle-root' ? 'merkleRoot' : 'checksum', 'invalid-value')));
        }
      }
    }
  }

  /** A `tx` frame is streamed when over the threshold, and only after the handshake (before it, nothing large is honest). */
  private streamsTx(header: FrameHeader): boolean {
    return header.command === 'tx' && header.length > this.hugeTxThreshold && this.protocol.handshakeComplete;
  }

  private dispatchTx(events: ReturnType<TxReceiver['data']>): void {
    for (const ev of events) {
      if (ev.type === 'start') this.safeEmit('txStart', ev.event);
      else if (ev.type === 'piece') {
        this.callPieceHandler(ev.event);
        this.safeEmit('txPiece', ev.event);
      }
      else {
        this.safeEmit('txEnd', ev.event);
        // As for a whole frame: a bad checksum drops it (the app was told by checksumOk) and counts toward a flood.
        if (!ev.event.checksumOk) this.apply(this.protocol.protocolError(new FramingError('tx', 'bad-checksum', 'streamed tx payload does not match the header checksum')));
      }
    }
  }

  /** onHugeTxPiece, with a returned promise holding the socket paused (see onData). */
  private callPieceHandler(piece: BlockTxPieceEvent | TxPieceEvent): void {
    if (!this.onHugeTxPiece) return;
    try {
      const r = this.onHugeTxPiece(piece);
      if (r && typeof (r as Promise<void>).then === 'function') this.pendingHandlers.push(Promise.resolve(r).catch((e) => this.safeEmit('listenerError', e)));
    } catch (e) {
      this.safeEmit('listenerError', e);
    }
  }

  private failOn(err: unknown): void {
    if (err instanceof FramingError || err instanceof DecodeError) this.apply(this.protocol.protocolError(err));
    else this.apply(this.protocol.close('protocol-violation', err instanceof Error ? err.message : String(err)));
  }

  private apply(outputs: ProtocolOutput[]): void {
    for (const o of outputs) {
      switch (o.type) {
        case 'send':
          this.send(o.message);
          break;
        case 'state':
          this.safeEmit('state', { from: o.from, to: o.to });
          break;
        case 'ready':
          this.readyAt = this.clock.now();
          this.log.info('handshake done', () => ({
            address: this.remoteAddress,
            port: this.remotePort,
            direction: this.direction,
            version: o.version.version,
            userAgent: o.version.userAgent,
            services: hexFlags(o.version.services),
            startHeight: o.version.startHeight,
            relay: o.version.relay,
            handshakeMs: this.readyAt! - this.openedAt,
            rttMs: this.rtt.lastMs,
          }));
          this.safeEmit('ready', o.version);
          break;
        case 'message':
          // Only a getdata the protocol accepted (handshake done, not punished) is served.
          if (o.message.command === 'getdata') this.serveGetData(o.message);
          this.safeEmit('message', o.message);
          this.safeEmit(o.message.command, o.message as never);
          break;
        case 'pong':
          break;
        case 'misbehavior':
          this.log.warn('misbehavior', () => ({ kind: o.kind, points: MISBEHAVIOR_POINTS[o.kind], score: o.score, address: this.remoteAddress }));
          this.safeEmit('misbehavior', { kind: o.kind, score: o.score });
          break;
        case 'ban':
          this.log.warn('ban', () => ({ reason: o.reason, score: o.score, address: this.remoteAddress, port: this.remotePort, direction: this.direction }));
          this.banReason = o.reason;
          this.safeEmit('ban', { reason: o.reason, score: o.score });
          break;
        case 'close':
          this.finish(o.reason);
          break;
      }
    }
  }

  private finish(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = reason;
    clearInterval(this.timer);
    this.blocks.abort();
    this.txs.abort();
    this.releaseFrame();
    this.flushFrames();
    // Read no more: whatever the peer still sends waits in the kernel instead of being read and dropped.
    this.stream.pause();
    // Polite: let queued bytes (a reject, the last pong) go out, then make sure the socket dies.
    this.stream.end(() => this.stream.destroy());
    const backstop = setTimeout(() => this.stream.destroy(), 2000).unref();
    this.stream.once('close', () => clearTimeout(backstop));
    this.logClose(reason);
    const tap = this.wireTap;
    this.wireTap = undefined;
    try {
      tap?.closed?.(reason, this.banReason);
    } catch (err) {
      this.safeEmit('listenerError', err);
    }
    this.safeEmit('close', reason);
  }

  private logClose(reason: CloseReason): void {
    if (this.readyAt === undefined) {
      this.log.warn('handshake failed', () => ({ reason: reason.code, detail: reason.message, address: this.remoteAddress, port: this.remotePort, direction: this.direction }));
    }
    this.log.info('peer closed', () => {
      const s = this.stats();
      return {
        reason: reason.code,
        detail: reason.message,
        transient: reason.transient,
        address: this.remoteAddress,
        port: this.remotePort,
        direction: this.direction,
        bytesIn: s.bytesReceived,
        bytesOut: s.bytesSent,
        durationMs: this.clock.now() - s.connectedAt,
        score: s.misbehaviorScore,
        rttMinMs: s.rtt.minMs,
      };
    });
  }

  private safeEmit<E extends keyof PeerEvents>(event: E, ...args: Parameters<PeerEvents[E]>): void {
    // Waiters first: an emit stops at the first listener that throws.
    (this.replyWaiters.emit as (e: E, ...a: Parameters<PeerEvents[E]>) => boolean)(event, ...args);
    try {
      (this.emit as (e: E, ...a: Parameters<PeerEvents[E]>) => boolean)(event, ...args);
    } catch (err) {
      this.log.error('listener error', () => ({ event, err }));
      if (event === 'listenerError') return;
      try {
        this.emit('listenerError', err);
      } catch {
        // A throwing listenerError handler is the app's own business; never let it out.
      }
    }
  }

  private waitForPong(nonce: bigint, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    return this.waitFor('pong', (m) => m.nonce === nonce, timeoutMs, signal, 'ping').then(() => this.rtt.lastMs ?? 0);
  }

  /**
   * Send `message` and wait for its reply. The waiter is in place before the send (an
   * in-memory peer can answer synchronously); a send that throws takes the waiter down.
   */
  private request<E extends keyof PeerEvents>(
    message: Message,
    event: E,
    match: (...args: Parameters<PeerEvents[E]>) => boolean,
    timeoutMs: number,
    signals: (AbortSignal | undefined)[],
    operation: string,
  ): Promise<Parameters<PeerEvents[E]>[0]> {
    const sendFailed = new AbortController();
    const given = signals.filter((s): s is AbortSignal => s !== undefined);
    const wait = this.waitFor(event, match, timeoutMs, AbortSignal.any([sendFailed.signal, ...given]), operation);
    try {
      if (!this.send(message) && !this.closed) sendFailed.abort(this.lastRefusal);
    } catch (err) {
      sendFailed.abort(err);
    }
    return wait;
  }

  private waitFor<E extends keyof PeerEvents>(
    event: E,
    match: (...args: Parameters<PeerEvents[E]>) => boolean,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    operation: string,
  ): Promise<Parameters<PeerEvents[E]>[0]> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new PeerError(this.closed));
      if (signal?.aborted) return reject(signal.reason);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.replyWaiters.off(event, onEvent as never);
        this.replyWaiters.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const onEvent = (...args: Parameters<PeerEvents[E]>): void => {
        if (!match(...args)) return;
        cleanup();
        resolve(args[0]);
      };
      const onClose = (reason: CloseReason): void => {
        cleanup();
        reject(new PeerError(reason));
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new TimeoutError(operation, timeoutMs));
      }, timeoutMs);
      this.replyWaiters.on(event, onEvent as never);
      this.replyWaiters.on('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export { closeReason };

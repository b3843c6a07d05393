import type { Message, MessageOf } from '../messages/index.js';
import { MIN_PEER_PROTO_VERSION, type Network } from '../networks.js';
import { DecodeError, FramingError } from '../errors.js';
// The BSV node assumes LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH for a peer until its protoconf arrives.
import { LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH } from '../framing/index.js';
import type { Clock, NonceSource } from './clock.js';
import { closeReason, type CloseReason, type CloseReasonCode } from './reasons.js';
import { canTransition, isFinal, type PeerState } from './state.js';
import { MisbehaviorScore, type MisbehaviorKind } from './misbehavior.js';
import { userAgentAllowed, type UserAgentPolicy } from './user-agent.js';

type VersionMessage = MessageOf<'version'>;

const MAX_ADDR_ENTRIES = 1000;
const MAX_HEADERS = 2000;
const NODE_BLOOM = 0x04n;
/** Peers at or below this version (pre-BIP31) send pings without a nonce and never answer ours. */
const BIP0031_VERSION = 60000;

/** Every this many dropped bad-checksum frames costs a point, like the node's flood rule. */
const BAD_CHECKSUM_FLOOD = 100;

export interface LocalVersion {
  readonly protocolVersion: number;
  readonly services: bigint;
  readonly userAgent: string;
  readonly startHeight: number;
  readonly relay: boolean;
}

export interface PeerTimeouts {
  readonly handshakeMs: number;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly inactivityMs: number;
}

export const DEFAULT_TIMEOUTS: PeerTimeouts = Object.freeze({
  handshakeMs: 30_000,
  pingIntervalMs: 120_000,
  pingTimeoutMs: 20 * 60_000,
  inactivityMs: 20 * 60_000,
});

export interface ProtocolOptions {
  readonly network: Network;
  readonly direction: 'inbound' | 'outbound';
  readonly local: LocalVersion;
  /** The remote endpoint, for version's addr_recv; omit when unknown (proxy, in-memory). */
  readonly remote?: { readonly ip: Buffer; readonly port: number };
  readonly minPeerVersion: number;
  readonly requiredServices: bigint;
  readonly userAgentPolicy: UserAgentPolicy;
  /** Our own receive limit, announced in protoconf. */
  readonly maxRecvPayloadLength: number;
  readonly timeouts: PeerTimeouts;
  readonly clock: Clock;
  readonly nonce: NonceSource;
  /** Nonces of our own outstanding version messages, shared by every connection to detect self-connects. */
  readonly selfNonces: Set<bigint>;
  /** Asked once the handshake completes; false = over capacity, close politely. */
  readonly admit: () => boolean;
  readonly banThreshold: number;
}

/** Everything the pure core asks its shell to do. */
export type ProtocolOutput =
  | { readonly type: 'send'; readonly message: Message }
  | { readonly type: 'state'; readonly from: PeerState; readonly to: PeerState }
  | { readonly type: 'ready'; readonly version: VersionMessage }
  | { readonly type: 'message'; readonly message: Message }
  | { readonly type: 'pong'; readonly nonce: bigint; readonly rttMs: number }
  | { readonly type: 'misbehavior'; readonly kind: MisbehaviorKind; readonly score: number }
  | { readonly type: 'ban'; readonly reason: string; readonly score: number }
  | { readonly type: 'close'; readonly reason: CloseReason };

export interface RttStats {
  readonly lastMs: number | undefined;
  readonly minMs: number | undefined;
  readonly meanMs: number | undefined;
  readonly samples: number;
}

/** What the peer told us about itself and its preferences. */
export interface RemotePeerInfo {
  version: VersionMessage | undefined;
  /** Largest non-block payload the peer accepts (protoconf), 1 MiB until it says otherwise. */
  maxRecvPayloadLength: number;
  streamPolicies: string | undefined;
  prefersHeaders: boolean;
  prefersEnrichedHeaders: boolean;
  compactBlocks: { announce: boolean; version: bigint } | undefined;
  feeFilter: bigint | undefined;
}

/** Commands the node accepts before verack without counting them as misbehaviour. */
const PRE_VERACK_OK: ReadonlySet<string> = new Set(['version', 'verack', 'reject', 'authch', 'authresp', 'createstrm', 'streamack', 'protoconf', 'sendheaders', 'sendcmpct', 'feefilter', 'ping', 'pong']);

/**
 * The handshake commands: the only ones a PeerConnection reads before its handshake completes
 * (the node's pre-verack list). Any other frame then has its payload skipped unread.
 */
export function isHandshakeCommand(command: string): boolean {
  return PRE_VERACK_OK.has(command);
}

/**
 * The protocol core of a peer connection: frames in, clock ticks and commands in;
 * writes, state changes, events and closes out. No sockets, no timers.
 */
export class PeerProtocol {
  private stateValue: PeerState = 'connecting';
  private out: ProtocolOutput[] = [];
  private readonly misbehavior: MisbehaviorScore;
  private ourNonce: bigint | undefined;
  private gotVerack = false;
  private sentVerack = false;
  private gotProtoconf = false;
  private badChecksums = 0;
  private startedAt = 0;
  private lastRecvAt = 0;
  private lastSendAt = 0;
  private lastPingSentAt = 0;
  private pendingPing: { nonce: bigint; sentAt: number } | undefined;
  private rtt = { last: undefined as number | undefined, min: undefined as number | undefined, total: 0, samples: 0 };
  readonly remote: RemotePeerInfo = {
    version: undefined,
    maxRecvPayloadLength: LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH,
    streamPolicies: undefined,
    prefersHeaders: false,
    prefersEnrichedHeaders: false,
    compactBlocks: undefined,
    feeFilter: undefined,
  };

  constructor(readonly options: ProtocolOptions) {
    this.misbehavior = new MisbehaviorScore(options.banThreshold);
  }

  get state(): PeerState {
    return this.stateValue;
  }
  get score(): number {
    return this.misbehavior.score;
  }
  get rttStats(): RttStats {
    const { last, min, total, samples } = this.rtt;
    return { lastMs: last, minMs: min, meanMs: samples ? total / samples : undefined, samples };
  }
  get handshakeComplete(): boolean {
    return this.stateValue === 'ready';
  }

  /** The transport is connected: outbound peers speak first, inbound ones wait ("be shy"). */
  start(): ProtocolOutput[] {
    const now = this.options.clock.now();
    this.startedAt = this.lastRecvAt = this.lastSendAt = now;
    this.transition('awaiting-version');
    if (this.options.direction === 'outbound') this.sendVersion();
    return this.drain();
  }

  /** A decoded message arrived. */
  receive(message: Message): ProtocolOutput[] {
    if (isFinal(this.stateValue) || this.stateValue === 'closing') return this.drain();
    this.lastRecvAt = this.options.clock.now();
    switch (message.command) {
      case 'version':
        this.onVersion(message);
        break;
      case 'verack':
        this.onVerack();
        break;
      default:
        if (this.remote.version === undefined && message.command !== 'reject') {
          this.punish('missing-version');
          break;
        }
        if (!this.gotVerack && !PRE_VERACK_OK.has(message.command)) {
          this.punish('missing-verack');
          break;
        }
        this.onMessage(message);
    }
    return this.drain();
  }

  /**
   * A frame arrived before the handshake completed whose command is not a handshake one; its
   * payload was skipped unread. Scored as the node scores any such message: 1 point,
   * missing-version before the peer's version, missing-verack after it.
   */
  skippedBeforeHandshake(command: string): ProtocolOutput[] {
    if (isFinal(this.stateValue) || this.stateValue === 'closing') return this.drain();
    this.lastRecvAt = this.options.clock.now();
    this.punish(this.remote.version === undefined ? 'missing-version' : 'missing-verack', `${command} before the handshake`);
    return this.drain();
  }

  /** A frame or payload could not be decoded. */
  protocolError(err: FramingError | DecodeError): ProtocolOutput[] {
    if (err instanceof FramingError) {
      if (err.reason === 'bad-checksum') {
        // The node drops such messages and only scores floods of them.
        if (++this.badChecksums % BAD_CHECKSUM_FLOOD === 0) this.punish('bad-checksum-flood', `${this.badChecksums} bad checksums`);
        return this.drain();
      }
      // Wrong magic, oversized length, unparseable header: the node bans at once.
      const code: CloseReasonCode = err.reason === 'bad-magic' ? 'bad-magic' : 'protocol-violation';
      // A closed peer's late frames are moot (punish() and shut() ignore them too).
      if (!this.closedOrClosing()) this.out.push({ type: 'ban', reason: err.message, score: this.misbehavior.score });
      this.shut(code, err.message);
      return this.drain();
    }
    if (this.remote.version === undefined) {
      // As the node does: an unparseable handshake (e.g. a 300-byte user agent) ends the connection.
      this.shut('protocol-violation', err.message);
      return this.drain();
    }
    this.punish('malformed-message', err.message);
    return this.drain();
  }

  /** Check timers; call it periodically (once a second is plenty). */
  tick(): ProtocolOutput[] {
    if (isFinal(this.stateValue) || this.stateValue === 'closing') return this.drain();
    const now = this.options.clock.now();
    const t = this.options.timeouts;
    if (this.stateValue !== 'ready') {
      if (now - this.startedAt >= t.handshakeMs) this.shut('handshake-timeout', `no handshake within ${t.handshakeMs} ms`);
      return this.drain();
    }
    if (this.pendingPing && now - this.pendingPing.sentAt >= t.pingTimeoutMs) {
      this.shut('ping-timeout', `no pong within ${t.pingTimeoutMs} ms`);
    } else if (now - this.lastRecvAt >= t.inactivityMs || now - this.lastSendAt >= t.inactivityMs) {
      this.shut('inactivity', `no traffic for ${t.inactivityMs} ms`);
    } else if (!this.pendingPing && now - this.lastPingSentAt >= t.pingIntervalMs) {
      this.sendPing();
    }
    return this.drain();
  }

  /**
   * Send a ping now, unless one is outstanding; returns the nonce to wait for. A pre-BIP31 peer gets
   * the nonce too (it ignores the payload) but never answers, so nothing is held pending for it.
   */
  ping(): { nonce: bigint; outputs: ProtocolOutput[] } {
    if (!this.peerAnswersPings()) {
      const nonce = this.options.nonce();
      this.send({ command: 'ping', nonce });
      return { nonce, outputs: this.drain() };
    }
    const nonce = this.pendingPing?.nonce ?? this.sendPing()!;
    return { nonce, outputs: this.drain() };
  }

  /** The shell wrote bytes on our behalf (app sends count as activity). */
  noteSent(): void {
    this.lastSendAt = this.options.clock.now();
  }

  /** Close for a reason; idempotent. */
  close(code: CloseReasonCode, message: string): ProtocolOutput[] {
    this.shut(code, message);
    return this.drain();
  }

  private shut(code: CloseReasonCode, message: string): void {
    if (isFinal(this.stateValue) || this.stateValue === 'closing') return;
    const finalState: PeerState = code === 'over-capacity' ? 'rejected' : code === 'local' || code === 'remote-closed' ? 'closed' : 'failed';
    this.transition('closing');
    this.forgetNonce();
    this.out.push({ type: 'close', reason: closeReason(code, message) });
    this.transition(finalState);
  }

  private onVersion(v: VersionMessage): void {
    if (this.remote.version !== undefined) {
      this.punish('duplicate-version');
      return;
    }
    this.remote.version = v;
    const o = this.options;
    if (v.version < Math.max(o.minPeerVersion, 0)) {
      this.shut('obsolete-version', `peer version ${v.version} < ${o.minPeerVersion}`);
      return;
    }
    if ((v.services & o.requiredServices) !== o.requiredServices) {
      this.shut('missing-services', `peer services 0x${v.services.toString(16)} lack 0x${o.requiredServices.toString(16)}`);
      return;
    }
    const ua = v.userAgent ?? '';
    if (!userAgentAllowed(ua, o.userAgentPolicy)) {
      this.shut('user-agent-rejected', `user agent ${JSON.stringify(ua)} is refused by policy`);
      return;
    }
    if (v.nonce !== undefined && v.nonce !== 0n && o.selfNonces.has(v.nonce)) {
      this.shut('self-connection', 'peer echoed one of our version nonces');
      return;
    }
    if (o.direction === 'inbound') this.sendVersion();
    this.send({ command: 'verack' });
    this.sentVerack = true;
    this.send({ command: 'protoconf', numberOfFields: 2, maxRecvPayloadLength: o.maxRecvPayloadLength, streamPolicies: 'Default' } as Message);
    if (this.gotVerack) this.becomeReady();
    else this.transition('awaiting-verack');
  }

  private onVerack(): void {
    if (this.gotVerack) return;
    if (this.remote.version === undefined) {
      // Some implementations send verack before they see our version; accept and wait for theirs.
      this.gotVerack = true;
      return;
    }
    this.gotVerack = true;
    if (this.sentVerack) this.becomeReady();
  }

  private becomeReady(): void {
    this.forgetNonce();
    this.transition('ready');
    if (!this.options.admit()) {
      this.shut('over-capacity', 'no free connection slot');
      return;
    }
    this.out.push({ type: 'ready', version: this.remote.version! });
    // First ping at once, as the node does, so RTT is known early.
    this.sendPing();
  }

  private onMessage(m: Message): void {
    switch (m.command) {
      case 'ping':
        // A pre-BIP31 ping (no nonce) gets no pong and no points, as the node does.
        if (m.nonce !== undefined) this.send({ command: 'pong', nonce: m.nonce });
        break;
      case 'pong':
        this.onPong(m.nonce);
        break;
      case 'protoconf':
        if (this.gotProtoconf) {
          this.shut('protocol-violation', 'second protoconf');
          return;
        }
        this.gotProtoconf = true;
        if (m.maxRecvPayloadLength !== undefined) {
          if (m.maxRecvPayloadLength < LEGACY_MAX_PROTOCOL_PAYLOAD_LENGTH) {
            this.shut('protocol-violation', `protoconf maxRecvPayloadLength ${m.maxRecvPayloadLength} below 1 MiB`);
            return;
          }
          this.remote.maxRecvPayloadLength = m.maxRecvPayloadLength;
        }
        this.remote.streamPolicies = m.streamPolicies;
        break;
      case 'sendheaders':
        if (this.remote.prefersHeaders) this.punish('duplicate-sendheaders');
        this.remote.prefersHeaders = true;
        break;
      case 'sendhdrsen':
        if (this.remote.prefersEnrichedHeaders) this.punish('duplicate-sendheaders');
        this.remote.prefersEnrichedHeaders = true;
        break;
      case 'sendcmpct':
        this.remote.compactBlocks = { announce: m.announce, version: m.version };
        break;
      case 'feefilter':
        this.remote.feeFilter = m.feeRate;
        break;
      case 'addr':
        if (m.addresses.length > MAX_ADDR_ENTRIES) {
          this.punish('oversized-addr', `${m.addresses.length} addresses`);
          return;
        }
        break;
      case 'headers':
        if (m.headers.length > MAX_HEADERS) {
          this.punish('oversized-headers', `${m.headers.length} headers`);
          return;
        }
        break;
      case 'filterload':
      case 'filteradd':
        // As the node does: a filter sent to a peer that never offered NODE_BLOOM is a ban.
        if ((this.options.local.services & NODE_BLOOM) === 0n) {
          this.punish('unsolicited-filterload', m.command);
          return;
        }
        break;
      default:
        break;
    }
    if (!isFinal(this.stateValue)) this.out.push({ type: 'message', message: m });
  }

  private onPong(nonce: bigint): void {
    const p = this.pendingPing;
    if (!p) return;
    if (nonce === 0n) {
      this.pendingPing = undefined;
      return;
    }
    if (nonce !== p.nonce) return;
    const rttMs = this.options.clock.now() - p.sentAt;
    this.pendingPing = undefined;
    const r = this.rtt;
    r.last = rttMs;
    r.min = r.min === undefined ? rttMs : Math.min(r.min, rttMs);
    r.total += rttMs;
    r.samples++;
    this.out.push({ type: 'pong', nonce, rttMs });
  }

  private sendVersion(): void {
    const o = this.options;
    const nonce = o.nonce();
    this.ourNonce = nonce;
    o.selfNonces.add(nonce);
    const zeroIp = Buffer.alloc(16);
    this.send({
      command: 'version',
      version: o.local.protocolVersion,
      services: o.local.services,
      timestamp: BigInt(Math.floor(o.clock.now() / 1000)),
      addrRecv: { services: 0n, ip: o.remote?.ip ?? zeroIp, port: o.remote?.port ?? 0 },
      addrFrom: { services: o.local.services, ip: zeroIp, port: 0 },
      nonce,
      userAgent: o.local.userAgent,
      startHeight: o.local.startHeight,
      relay: o.local.relay,
    } as Message);
  }

  /** The nonce now awaited; undefined for a pre-BIP31 peer, which gets an empty ping, as the node sends it. */
  private sendPing(): bigint | undefined {
    const now = this.options.clock.now();
    this.lastPingSentAt = now;
    if (!this.peerAnswersPings()) {
      this.send({ command: 'ping' });
      return undefined;
    }
    const nonce = this.options.nonce();
    this.pendingPing = { nonce, sentAt: now };
    this.send({ command: 'ping', nonce });
    return nonce;
  }

  /** BIP31: only peers above protocol 60000 answer a ping with a pong. */
  private peerAnswersPings(): boolean {
    const v = this.remote.version;
    return v === undefined || v.version > BIP0031_VERSION;
  }

  private send(message: Message): void {
    // Nothing goes to a peer once it is closed (ping() or a late timer may still ask).
    if (this.closedOrClosing()) return;
    this.lastSendAt = this.options.clock.now();
    this.out.push({ type: 'send', message });
  }

  private punish(kind: MisbehaviorKind, detail?: string): void {
    // A closed peer is not scored: its late frames (a bad checksum, an undecodable payload) are moot.
    if (this.closedOrClosing()) return;
    const banned = this.misbehavior.add(kind);
    this.out.push({ type: 'misbehavior', kind, score: this.misbehavior.score });
    if (banned) {
      const reason = `misbehaviour score ${this.misbehavior.score} (last: ${kind}${detail ? `, ${detail}` : ''})`;
      this.out.push({ type: 'ban', reason, score: this.misbehavior.score });
      this.shut('banned', reason);
    }
  }

  private closedOrClosing(): boolean {
    return isFinal(this.stateValue) || this.stateValue === 'closing';
  }

  private forgetNonce(): void {
    if (this.ourNonce !== undefined) this.options.selfNonces.delete(this.ourNonce);
    this.ourNonce = undefined;
  }

  private transition(to: PeerState): void {
    const from = this.stateValue;
    if (from === to) return;
    if (!canTransition(from, to)) throw new Error(`invalid peer state transition ${from} -> ${to}`);
    this.stateValue = to;
    this.out.push({ type: 'state', from, to });
  }

  private drain(): ProtocolOutput[] {
    const o = this.out;
    this.out = [];
    return o;
  }
}

export { MIN_PEER_PROTO_VERSION };

// The terminal view of `bsv-wire connect`: a header line, a peer table and the last events,
// redrawn in place. render() is pure (state in, lines out); LiveScreen owns the terminal.
import { formatBytes, formatDuration } from './common.js';

export interface LivePeerRow {
  readonly address: string;
  readonly direction: 'inbound' | 'outbound';
  /** manual, outbound, inbound, feeler, addr-fetch */
  readonly type: string;
  readonly state: string;
  readonly userAgent: string | undefined;
  readonly version: number | undefined;
  readonly services: bigint | undefined;
  readonly height: number | undefined;
  readonly rttMs: number | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly connectedMs: number;
}

export interface LiveState {
  readonly network: string;
  readonly uptimeMs: number;
  readonly listening: string | undefined;
  readonly outbound: number;
  readonly inbound: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly bestHeight: number;
  readonly blocks: number;
  readonly txs: number;
  readonly known: number;
  readonly banned: number;
  readonly peers: readonly LivePeerRow[];
  /** Newest last, already formatted ("12:00:01 block 0000…"). */
  readonly events: readonly string[];
}

export const PEER_COLUMNS = ['ADDRESS', 'DIR', 'UA', 'VERSION', 'SERVICES', 'HEIGHT', 'RTT', 'IN', 'OUT', 'CONNECTED'] as const;

function cells(p: LivePeerRow): string[] {
  const dir = p.direction === 'inbound' ? 'in' : p.type === 'manual' ? 'out*' : 'out';
  return [
    p.address,
    dir,
    p.state === 'ready' ? (p.userAgent ?? '') : `(${p.state})`,
    p.version === undefined ? '' : String(p.version),
    p.services === undefined ? '' : `0x${p.services.toString(16)}`,
    p.height === undefined || p.height < 0 ? '-' : String(p.height),
    p.rttMs === undefined ? '' : `${Math.round(p.rttMs)}ms`,
    formatBytes(p.bytesIn),
    formatBytes(p.bytesOut),
    formatDuration(p.connectedMs),
  ];
}

const RIGHT_ALIGNED = new Set<string>(['VERSION', 'HEIGHT', 'RTT', 'IN', 'OUT', 'CONNECTED']);
const MAX_UA_WIDTH = 28;

function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** Lines of the screen for a terminal of `columns` x `rows`. */
export function renderLiveView(state: LiveState, size: { columns: number; rows: number }): string[] {
  const columns = Math.max(40, size.columns);
  const rows = Math.max(10, size.rows);
  const header =
    `bsv-wire ${state.network} | peers ${state.outbound} out / ${state.inbound} in | ` +
    `in ${formatBytes(state.bytesIn)} out ${formatBytes(state.bytesOut)} | ` +
    `best height ${state.bestHeight < 0 ? '?' : state.bestHeight} | up ${formatDuration(state.uptimeMs)}`;
  const sub =
    `${state.blocks} blocks and ${state.txs} txs announced | ${state.known} addresses known, ${state.banned} banned` +
    (state.listening ? ` | listening on ${state.listening}` : '') +
    ' | Ctrl-C to stop';
  const lines = [fit(header, columns), fit(sub, columns), ''];

  const table = state.peers.map(cells);
  const widths = PEER_COLUMNS.map((name, i) => Math.max(name.length, ...table.map((r) => r[i]!.length)));
  widths[2] = Math.min(widths[2]!, MAX_UA_WIDTH);
  const row = (values: readonly string[]): string =>
    fit(
      values
        .map((v, i) => {
          const text = fit(v, widths[i]!);
          return RIGHT_ALIGNED.has(PEER_COLUMNS[i]!) ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
        })
        .join('  ')
        .trimEnd(),
      columns,
    );
  // The table gets what is left after keeping up to 5 lines for events; events fill the rest.
  const keptForEvents = Math.min(Math.max(state.events.length, 1), 5);
  const peerRoom = Math.max(1, rows - lines.length - 1 /* column names */ - 2 /* blank, title */ - keptForEvents - 1 /* "… more" */);
  lines.push(row(PEER_COLUMNS));
  for (const r of table.slice(0, peerRoom)) lines.push(row(r));
  if (table.length > peerRoom) lines.push(`… and ${table.length - peerRoom} more peers`);
  if (table.length === 0) lines.push('(no peers yet)');
  lines.push('', 'last events:');
  const room = Math.max(1, rows - lines.length);
  const events = state.events.slice(-room);
  for (const e of events) lines.push(fit(e, columns));
  if (events.length === 0) lines.push('(none yet)');
  return lines.slice(0, rows);
}

const ESC = '\x1b[';

/** Draws frames on a TTY: alternate screen, cursor hidden, each frame painted from the top-left. */
export class LiveScreen {
  private active = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  get size(): { columns: number; rows: number } {
    return { columns: this.out.columns || 100, rows: this.out.rows || 30 };
  }

  draw(lines: readonly string[]): void {
    if (!this.active) {
      this.active = true;
      this.out.write(`${ESC}?1049h${ESC}?25l`);
    }
    // Home, each line cleared to its end, then everything below cleared: no flicker, no scrolling.
    this.out.write(`${ESC}H${lines.map((l) => `${l}${ESC}K`).join('\n')}\n${ESC}J`);
  }

  /** Back to the normal screen with the cursor shown. Safe to call twice. */
  close(): void {
    if (!this.active) return;
    this.active = false;
    this.out.write(`${ESC}?25h${ESC}?1049l`);
  }
}

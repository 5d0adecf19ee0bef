/**
 * The SIP ladder of a test as text and as rows. The text goes in JUnit `<system-out>` and in
 * the console summary; the rows feed the JSON report and, later, the HTML ladder.
 *
 * ```
 * +0.000s  alice → 127.0.0.1:5070  UDP  INVITE sip:bob@127.0.0.1:5070 SIP/2.0  [a84b4c76…]
 * +0.004s  alice ← 127.0.0.1:5070  UDP  SIP/2.0 100 Trying                      [a84b4c76…]
 * ────────────────────────────────────────────────────────────────────────────────
 * --- #1 +0.000s alice → 127.0.0.1:5070 UDP (local 127.0.0.1:5060, 612 bytes) ---
 * INVITE sip:bob@127.0.0.1:5070 SIP/2.0
 * Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK…
 * …
 * ```
 */
import type { LadderEntry } from '../scenario/result.js';
import { noRedaction, type Redactor } from './redact.js';

/** One message of the ladder, ready to draw. Every string is already redacted. */
export interface LadderRow {
  /** 1-based position in time order. */
  index: number;
  /** Wall-clock time, ms since the epoch. */
  at: number;
  /** ms since the first message of the ladder. */
  offsetMs: number;
  direction: 'in' | 'out';
  party: string;
  protocol: string;
  local: string;
  remote: string;
  /** Column the arrow starts from: the party for `out`, the remote address for `in`. */
  from: string;
  /** Column the arrow points to. */
  to: string;
  /** What the message is. */
  kind: 'request' | 'response' | 'keep-alive' | 'binary' | 'other';
  /** The start line (`INVITE sip:… SIP/2.0`, `SIP/2.0 486 Busy Here`), or a description. */
  label: string;
  method?: string;
  status?: number;
  /** Call-ID header value (full form `Call-ID` or compact `i`), when present. */
  callId?: string;
  /** `callId` cut to a few characters for one-line views. */
  callIdShort?: string;
  /** Size on the wire. */
  bytes: number;
  /** The message decoded as UTF-8, line endings as on the wire. */
  text: string;
}

export interface LadderFormatOptions {
  /** Applied to every string taken from the messages (default: none). */
  redact?: Redactor;
  /** `->`/`<-` and `-` instead of `→`/`←` and `─` (default false). */
  ascii?: boolean;
  /** Append the full messages under a separator (default true). */
  full?: boolean;
}

const CALL_ID_SHORT = 8;
const decoder = new TextDecoder('utf-8');

const REQUEST_LINE = /^([A-Za-z][A-Za-z0-9.!%*_+`'~-]*) \S+ SIP\/\d+\.\d+$/;
const STATUS_LINE = /^SIP\/\d+\.\d+ (\d{3})(?: |$)/;
const CALL_ID_HEADER = /^(?:call-id|i)[ \t]*:[ \t]*(.*?)[ \t]*$/i;

/** Shorten a Call-ID for one-line views: `a84b4c76…` */
export function shortCallId(callId: string, ascii = false): string {
  return callId.length <= CALL_ID_SHORT + 3 ? callId : callId.slice(0, CALL_ID_SHORT) + (ascii ? '...' : '…');
}

/** `+1.234s` */
export function formatOffset(ms: number): string {
  return `+${(ms / 1000).toFixed(3)}s`;
}

function findCallId(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') break; // end of the header section
    const m = CALL_ID_HEADER.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

function describe(bytes: Uint8Array, text: string): Pick<LadderRow, 'kind' | 'label' | 'method' | 'status'> {
  if (bytes.length > 0 && text.replace(/[\r\n]/g, '') === '') {
    // RFC 5626 §3.5.1: CRLF keep-alives on connection-oriented transports.
    const form = text === '\r\n' ? ' CRLF' : text === '\r\n\r\n' ? ' CRLFCRLF' : '';
    return { kind: 'keep-alive', label: `(keep-alive${form})` };
  }
  const first = bytes[0];
  if (first !== undefined && first < 0x20 && first !== 0x0d && first !== 0x0a && first !== 0x09) {
    // STUN keep-alives (RFC 5626 §3.5.2) and anything else that is not text.
    return { kind: 'binary', label: `(binary, ${bytes.length} bytes)` };
  }
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  const status = STATUS_LINE.exec(line);
  if (status) return { kind: 'response', label: line, status: Number(status[1]) };
  const request = REQUEST_LINE.exec(line);
  if (request) return { kind: 'request', label: line, method: request[1] };
  return { kind: 'other', label: line === '' ? '(empty)' : line };
}

/**
 * Structured rows of a ladder, in time order (ties keep capture order), every string redacted.
 * Times are relative to the earliest message.
 */
export function ladderRows(
  entries: readonly LadderEntry[],
  opts: Pick<LadderFormatOptions, 'redact' | 'ascii'> = {},
): LadderRow[] {
  const redact = opts.redact ?? noRedaction;
  const sorted = entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.at - b.e.at || a.i - b.i)
    .map(({ e }) => e);
  const t0 = sorted[0]?.at ?? 0;
  return sorted.map((e, i) => {
    const raw = decoder.decode(e.bytes);
    const party = redact(e.party);
    const remote = redact(e.remote);
    const d = describe(e.bytes, raw);
    // Redact before shortening: a cut-off secret would no longer match.
    const callId = d.kind === 'request' || d.kind === 'response' ? findCallId(raw) : undefined;
    const row: LadderRow = {
      index: i + 1,
      at: e.at,
      offsetMs: e.at - t0,
      direction: e.direction,
      party,
      protocol: e.protocol,
      local: redact(e.local),
      remote,
      from: e.direction === 'out' ? party : remote,
      to: e.direction === 'out' ? remote : party,
      ...d,
      label: redact(d.label),
      bytes: e.bytes.length,
      text: redact(raw),
    };
    if (callId !== undefined) {
      row.callId = redact(callId);
      row.callIdShort = shortCallId(row.callId, opts.ascii);
    }
    return row;
  });
}

function arrow(direction: 'in' | 'out', ascii: boolean | undefined): string {
  if (direction === 'out') return ascii ? '->' : '→';
  return ascii ? '<-' : '←';
}

/** The one-line-per-message part of the ladder, columns aligned. */
export function ladderLines(entries: readonly LadderEntry[], opts: LadderFormatOptions = {}): string[] {
  return linesOf(ladderRows(entries, opts), opts.ascii);
}

function linesOf(rows: readonly LadderRow[], ascii: boolean | undefined): string[] {
  const width = (f: (r: LadderRow) => string): number => Math.max(0, ...rows.map((r) => f(r).length));
  const wTime = width((r) => formatOffset(r.offsetMs));
  const wParty = width((r) => r.party);
  const wRemote = width((r) => r.remote);
  const wProto = width((r) => r.protocol);
  const wLabel = width((r) => r.label);
  return rows.map((r) => {
    const cols = [
      formatOffset(r.offsetMs).padStart(wTime),
      `${r.party.padEnd(wParty)} ${arrow(r.direction, ascii)} ${r.remote.padEnd(wRemote)}`,
      r.protocol.padEnd(wProto),
      r.callIdShort === undefined ? r.label : `${r.label.padEnd(wLabel)}  [${r.callIdShort}]`,
    ];
    return cols.join('  ').trimEnd();
  });
}

/**
 * The text ladder: one line per message (time since the first, party, arrow, remote address,
 * protocol, start line, short Call-ID), then under a separator every message in full, each
 * under its own header line. Line endings become `\n`. Empty string for an empty ladder.
 */
export function formatLadder(entries: readonly LadderEntry[], opts: LadderFormatOptions = {}): string {
  const rows = ladderRows(entries, opts);
  if (rows.length === 0) return '';
  const out = linesOf(rows, opts.ascii);
  if (opts.full ?? true) {
    out.push((opts.ascii ? '-' : '─').repeat(80));
    for (const r of rows) {
      const where = `${r.party} ${arrow(r.direction, opts.ascii)} ${r.remote} ${r.protocol}`;
      out.push(`--- #${r.index} ${formatOffset(r.offsetMs)} ${where} (local ${r.local}, ${r.bytes} bytes) ---`);
      out.push(r.text.replace(/\r\n?/g, '\n').replace(/\n+$/, ''));
      out.push('');
    }
    out.pop();
  }
  return out.join('\n') + '\n';
}

/**
 * A small SDP reader and writer (RFC 8866, which obsoletes RFC 4566) and the RFC 3264 offer/answer
 * rules that sipwright's personas need for audio calls. The model keeps what an RTP endpoint needs
 * (connection address, port, payload types, rtpmap/fmtp, ptime, direction, a=rtcp) as typed fields
 * and everything else as raw lines in order, so a peer's SDP can be reported as it was sent.
 *
 * The reader is tolerant of what real equipment sends (LF line ends, trailing spaces, a missing
 * final line end, unknown lines) and strict only where the description could not be understood at
 * all; those cases throw {@link SipParseError} with code `ERR_SDP_PARSE` and the 1-based line.
 */
import { isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';
import { SipParseError, UsageError } from '../errors.js';

/** Media direction attributes (RFC 8866 §6.7; offer/answer meaning in RFC 3264 §5.1, §6.1). */
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2). */
export interface SdpOrigin {
  username: string;
  /** Kept as text: it may exceed 2^53 (RFC 8866 §5.2 suggests an NTP timestamp). */
  sessId: string;
  sessVersion: string;
  netType: string;
  addrType: string;
  address: string;
}

/** `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7). */
export interface SdpConnection {
  netType: string;
  addrType: string;
  /** The address without the `/ttl` and `/count` suffixes. */
  address: string;
  /** IP4 multicast TTL (`224.2.1.1/127`). */
  ttl?: number;
  /** Number of multicast addresses (`/3` after the TTL for IP4, directly after the address for IP6). */
  addressCount?: number;
}

/** `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8), e.g. `AS:64` in kilobits per second. */
export interface SdpBandwidth {
  type: string;
  bandwidth: number;
}

/** `t=<start-time> <stop-time>` with its `r=` repeat lines, kept raw (RFC 8866 §5.9, §5.10). */
export interface SdpTiming {
  start: number;
  stop: number;
  repeats: string[];
}

/** `a=<name>` (property attribute: `value` absent) or `a=<name>:<value>` (RFC 8866 §5.13). */
export interface SdpAttribute {
  name: string;
  value?: string;
}

/** A line kept as it came: an unknown type letter, or a known one whose value did not parse. */
export interface SdpLine {
  type: string;
  value: string;
}

/** `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` (RFC 8866 §6.6). */
export interface SdpRtpMap {
  payloadType: number;
  encodingName: string;
  clockRate: number;
  /** Audio channels; absent means 1 (RFC 8866 §6.6). */
  channels?: number;
}

/** `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15), e.g. `101 0-16`. */
export interface SdpFmtp {
  payloadType: number;
  parameters: string;
}

/** `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605 §2.1). */
export interface SdpRtcp {
  port: number;
  netType?: string;
  addrType?: string;
  address?: string;
}

/** One `m=` section (RFC 8866 §5.14) with its lines. */
export interface MediaDescription {
  /** `audio`, `video`, `application`, … */
  media: string;
  /** 0 means the stream is rejected or disabled (RFC 3264 §6, §8.2). */
  port: number;
  /** The optional `/<number of ports>` after the port. */
  portCount?: number;
  /** `RTP/AVP`, `RTP/SAVP`, `udptl`, … */
  proto: string;
  /** The formats as written; for RTP these are payload type numbers. */
  formats: string[];
  /** Media-level `c=`, which overrides the session-level one (RFC 8866 §5.7). */
  connection?: SdpConnection;
  bandwidths: SdpBandwidth[];
  /**
   * Explicit `a=rtpmap` lines only, in m= format order; see {@link mediaCodecs} for static
   * payload types.
   */
  rtpmap: SdpRtpMap[];
  /** In m= format order. */
  fmtp: SdpFmtp[];
  /** `a=ptime` in milliseconds (RFC 8866 §6.4). */
  ptime?: number;
  /** `a=maxptime` in milliseconds (RFC 8866 §6.5). */
  maxptime?: number;
  /** Media-level direction attribute; see {@link effectiveDirection} for the value in force. */
  direction?: MediaDirection;
  rtcp?: SdpRtcp;
  /**
   * Every other attribute in arrival order, then repeats of the typed ones (a second direction,
   * ptime, maxptime or rtcp, or one that did not parse), which are written after the typed values.
   */
  attributes: SdpAttribute[];
  /** `i=`, `k=`, extra `c=`, unknown type letters and unparseable lines, in §5 slot order. */
  otherLines: SdpLine[];
}

/** A parsed session description (RFC 8866 §5). */
export interface SessionDescription {
  /** Always 0 (RFC 8866 §5.1). */
  version: number;
  /** Absent when the peer sent no usable `o=` line (kept in `otherLines` if malformed). */
  origin?: SdpOrigin;
  /** `s=`; the empty string stands for `s= ` (RFC 8866 §5.3). */
  sessionName: string;
  connection?: SdpConnection;
  bandwidths: SdpBandwidth[];
  times: SdpTiming[];
  /** Session-level direction attribute: the default for every media section (RFC 8866 §6.7). */
  direction?: MediaDirection;
  attributes: SdpAttribute[];
  /**
   * `i= u= e= p= z= k=`, unknown type letters and unparseable lines, in RFC 8866 §5 slot order
   * (arrival order within a slot; unknown letters last).
   */
  otherLines: SdpLine[];
  media: MediaDescription[];
}

/** A payload type resolved to its codec, from `a=rtpmap` or the RFC 3551 static table. */
export interface SdpCodec {
  payloadType: number;
  encodingName: string;
  clockRate: number;
  channels?: number;
  /** The `a=fmtp` parameters for this payload type, if any. */
  parameters?: string;
  /** `static`: no rtpmap, resolved from RFC 3551 §6. */
  source: 'rtpmap' | 'static';
}

/** Where to send RTP for one media section, and what it carries. */
export interface MediaEndpoint {
  address: string;
  /** 0 when the stream was rejected. */
  port: number;
  /** From `a=rtcp`, else the RTP address (RFC 3605 §2.1). */
  rtcpAddress: string;
  /** From `a=rtcp`, else RTP port + 1 (RFC 3550 §11). */
  rtcpPort: number;
  payloadTypes: number[];
  codecs: SdpCodec[];
  direction: MediaDirection;
  ptime?: number;
}

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/**
 * Slots of RFC 8866 §5: session `v o s i u e p c b (t r) z k a`, media `m i c b k a`. These rank
 * raw lines; an `r=` kept raw had no `t=` before it, so it goes before the `t=` lines to stay so.
 */
const SESSION_RANK: Readonly<Record<string, number>> = {
  v: 0, o: 1, s: 2, i: 3, u: 4, e: 5, p: 6, c: 7, b: 8, r: 8.5, t: 9, z: 10, k: 11, a: 12,
};
const MEDIA_RANK: Readonly<Record<string, number>> = { m: 0, i: 1, c: 2, b: 3, k: 4, a: 5 };
const TYPED_MEDIA_ATTRIBUTES: ReadonlySet<string> = new Set([...DIRECTIONS, 'ptime', 'maxptime', 'rtcp']);

/** RFC 3551 §6 tables 4 and 5: payload types usable without `a=rtpmap`. */
const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, Omit<SdpRtpMap, 'payloadType'>> = new Map([
  [0, { encodingName: 'PCMU', clockRate: 8000 }],
  [3, { encodingName: 'GSM', clockRate: 8000 }],
  [4, { encodingName: 'G723', clockRate: 8000 }],
  [5, { encodingName: 'DVI4', clockRate: 8000 }],
  [6, { encodingName: 'DVI4', clockRate: 16000 }],
  [7, { encodingName: 'LPC', clockRate: 8000 }],
  [8, { encodingName: 'PCMA', clockRate: 8000 }],
  // G.722 samples at 16 kHz but its RTP clock is 8000 for historical reasons (RFC 3551 §4.5.2).
  [9, { encodingName: 'G722', clockRate: 8000 }],
  [10, { encodingName: 'L16', clockRate: 44100, channels: 2 }],
  [11, { encodingName: 'L16', clockRate: 44100 }],
  [12, { encodingName: 'QCELP', clockRate: 8000 }],
  [13, { encodingName: 'CN', clockRate: 8000 }],
  [14, { encodingName: 'MPA', clockRate: 90000 }],
  [15, { encodingName: 'G728', clockRate: 8000 }],
  [16, { encodingName: 'DVI4', clockRate: 11025 }],
  [17, { encodingName: 'DVI4', clockRate: 22050 }],
  [18, { encodingName: 'G729', clockRate: 8000 }],
  [25, { encodingName: 'CelB', clockRate: 90000 }],
  [26, { encodingName: 'JPEG', clockRate: 90000 }],
  [28, { encodingName: 'nv', clockRate: 90000 }],
  [31, { encodingName: 'H261', clockRate: 90000 }],
  [32, { encodingName: 'MPV', clockRate: 90000 }],
  [33, { encodingName: 'MP2T', clockRate: 90000 }],
  [34, { encodingName: 'H263', clockRate: 90000 }],
]);

/** Dynamic codecs createOffer/createAnswer know by name alone (clock rate and channels). */
const DYNAMIC_CODECS: ReadonlyMap<string, Omit<SdpRtpMap, 'payloadType'>> = new Map([
  ['telephone-event', { encodingName: 'telephone-event', clockRate: 8000 }],
  ['opus', { encodingName: 'opus', clockRate: 48000, channels: 2 }],
  ['ilbc', { encodingName: 'iLBC', clockRate: 8000 }],
  ['speex', { encodingName: 'speex', clockRate: 8000 }],
  ['amr', { encodingName: 'AMR', clockRate: 8000 }],
  ['amr-wb', { encodingName: 'AMR-WB', clockRate: 16000 }],
  ['g7221', { encodingName: 'G7221', clockRate: 16000 }],
]);

/** RFC 4733 §3.2: DTMF 0-9 * # A-D are events 0-15, flash is 16. */
const SUPPORTED_EVENTS = '0-16';

// ---------------------------------------------------------------------------------------------
// Reader

/**
 * Parse an SDP body (RFC 8866 §5). Tolerates LF or CRLF line ends, trailing white space, blank
 * lines and a missing final line end; keeps unknown lines and attributes in order.
 *
 * @throws SipParseError (`ERR_SDP_PARSE`, with `line`) when the first line is not `v=0`, a line is
 *   not `<type>=<value>`, an `m=` port is not a number from 0 to 65535, or an `m=` line has fewer
 *   than four fields.
 */
export function parseSdp(text: string | Buffer): SessionDescription {
  const source = typeof text === 'string' ? text : text.toString('utf8');
  const lines = source.split(/\r\n|\n|\r/);
  const first = (lines[0] ?? '').trimEnd();
  if (first !== 'v=0') {
    throw sdpError(1, `must be "v=0" (RFC 8866 §5.1), got ${quote(first)}`);
  }
  const desc: SessionDescription = {
    version: 0,
    sessionName: '',
    bandwidths: [],
    times: [],
    attributes: [],
    otherLines: [],
    media: [],
  };
  let current: MediaDescription | undefined;
  let timing: SdpTiming | undefined;
  let sawSessionName = false;

  for (let i = 1; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trimEnd();
    if (line === '') continue;
    if (!/^[a-zA-Z]=/.test(line)) {
      throw sdpError(lineNo, `not of the form <type>=<value> (RFC 8866 §5): ${quote(line)}`);
    }
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      current = parseMediaLine(value, lineNo);
      desc.media.push(current);
      continue;
    }
    if (current) {
      parseMediaLevel(current, type, value);
      continue;
    }
    // Session level (RFC 8866 §5: v o s i u e p c b (t r) z k a).
    const keep = (): void => {
      desc.otherLines.push({ type, value });
    };
    if (type === 'o' && !desc.origin) {
      const origin = parseOrigin(value);
      if (origin) desc.origin = origin;
      else keep();
    } else if (type === 's' && !sawSessionName) {
      desc.sessionName = value;
      sawSessionName = true;
    } else if (type === 'c' && !desc.connection) {
      const connection = parseConnection(value);
      if (connection) desc.connection = connection;
      else keep();
    } else if (type === 'b') {
      const bandwidth = parseBandwidth(value);
      if (bandwidth) desc.bandwidths.push(bandwidth);
      else keep();
    } else if (type === 't') {
      const m = /^(\d+) +(\d+)$/.exec(value);
      timing = m ? { start: Number(m[1]), stop: Number(m[2]), repeats: [] } : undefined;
      if (timing) desc.times.push(timing);
      else keep();
    } else if (type === 'r' && timing) {
      timing.repeats.push(value);
    } else if (type === 'a') {
      const attribute = parseAttribute(value);
      if (attribute.value === undefined && DIRECTIONS.has(attribute.name) && !desc.direction) {
        desc.direction = attribute.name as MediaDirection;
      } else {
        desc.attributes.push(attribute);
      }
    } else {
      keep();
    }
  }
  // Raw lines are held in their RFC 8866 §5 slot order (arrival order within a slot), the order
  // serializeSdp writes them in, so a round trip gives the same model.
  // Likewise repeats of typed attributes are held after the others, where they are written.
  desc.otherLines = inSlotOrder(desc.otherLines, SESSION_RANK, 13);
  desc.attributes = repeatsLast(desc.attributes, DIRECTIONS);
  for (const media of desc.media) {
    media.otherLines = inSlotOrder(media.otherLines, MEDIA_RANK, 6);
    media.attributes = repeatsLast(media.attributes, TYPED_MEDIA_ATTRIBUTES);
    media.rtpmap = inFormatOrder(media.rtpmap, media.formats);
    media.fmtp = inFormatOrder(media.fmtp, media.formats);
  }
  return desc;
}

/** rtpmap/fmtp sorted by their payload type's place on the m= line (unlisted ones last). */
function inFormatOrder<T extends { payloadType: number }>(entries: T[], formats: string[]): T[] {
  const place = (pt: number): number => {
    const i = formats.findIndex((f) => /^\d+$/.test(f) && Number(f) === pt);
    return i < 0 ? formats.length : i;
  };
  return inRankOrder(entries.map((e): [number, T] => [place(e.payloadType), e]));
}

function repeatsLast(attributes: SdpAttribute[], typed: ReadonlySet<string>): SdpAttribute[] {
  return [...attributes.filter((a) => !typed.has(a.name)), ...attributes.filter((a) => typed.has(a.name))];
}

function inSlotOrder(lines: SdpLine[], ranks: Readonly<Record<string, number>>, unknown: number): SdpLine[] {
  return inRankOrder(lines.map((line): [number, SdpLine] => [ranks[line.type] ?? unknown, line]));
}

function parseMediaLine(value: string, lineNo: number): MediaDescription {
  const fields = value.trim().split(/ +/);
  if (fields.length < 4) {
    throw sdpError(
      lineNo,
      `m= needs <media> <port> <proto> <fmt> ... (RFC 8866 §5.14), got ${quote('m=' + value)}`,
    );
  }
  const [media, portSpec, proto, ...formats] = fields;
  const m = /^(\d{1,5})(?:\/(\d{1,5}))?$/.exec(portSpec);
  if (!m || Number(m[1]) > 65535 || (m[2] !== undefined && Number(m[2]) < 1)) {
    throw sdpError(lineNo, `m= port ${quote(portSpec)} is not a number from 0 to 65535 (RFC 8866 §5.14)`);
  }
  const description: MediaDescription = {
    media,
    port: Number(m[1]),
    proto,
    formats,
    bandwidths: [],
    rtpmap: [],
    fmtp: [],
    attributes: [],
    otherLines: [],
  };
  if (m[2] !== undefined) description.portCount = Number(m[2]);
  return description;
}

/** One line inside an m= section (RFC 8866 §5: m i c b k a). */
function parseMediaLevel(media: MediaDescription, type: string, value: string): void {
  const keep = (): void => {
    media.otherLines.push({ type, value });
  };
  if (type === 'c' && !media.connection) {
    const connection = parseConnection(value);
    if (connection) media.connection = connection;
    else keep();
    return;
  }
  if (type === 'b') {
    const bandwidth = parseBandwidth(value);
    if (bandwidth) media.bandwidths.push(bandwidth);
    else keep();
    return;
  }
  if (type !== 'a') {
    keep();
    return;
  }
  const attribute = parseAttribute(value);
  const { name } = attribute;
  const attr = attribute.value ?? '';
  if (attribute.value === undefined && DIRECTIONS.has(name)) {
    if (!media.direction) {
      media.direction = name as MediaDirection;
      return;
    }
  } else if (name === 'rtpmap') {
    const m = /^(\d{1,3}) +([^/ ]+)\/(\d+)(?:\/(\d+))?$/.exec(attr);
    if (m) {
      const rtpmap: SdpRtpMap = { payloadType: Number(m[1]), encodingName: m[2], clockRate: Number(m[3]) };
      if (m[4] !== undefined) rtpmap.channels = Number(m[4]);
      media.rtpmap.push(rtpmap);
      return;
    }
  } else if (name === 'fmtp') {
    const m = /^(\d{1,3})(?: +(.*))?$/.exec(attr);
    if (m) {
      media.fmtp.push({ payloadType: Number(m[1]), parameters: m[2] ?? '' });
      return;
    }
  } else if ((name === 'ptime' || name === 'maxptime') && media[name] === undefined) {
    if (/^\d+(\.\d+)?$/.test(attr)) {
      media[name] = Number(attr);
      return;
    }
  } else if (name === 'rtcp' && !media.rtcp) {
    const m = /^(\d{1,5})(?: +(\S+) +(\S+) +(\S+))?$/.exec(attr);
    if (m && Number(m[1]) <= 65535) {
      media.rtcp = m[2] === undefined
        ? { port: Number(m[1]) }
        : { port: Number(m[1]), netType: m[2], addrType: m[3], address: m[4] };
      return;
    }
  }
  media.attributes.push(attribute);
}

function parseOrigin(value: string): SdpOrigin | undefined {
  const f = value.split(/ +/);
  if (f.length !== 6) return undefined;
  return { username: f[0], sessId: f[1], sessVersion: f[2], netType: f[3], addrType: f[4], address: f[5] };
}

function parseConnection(value: string): SdpConnection | undefined {
  const f = value.split(/ +/);
  if (f.length !== 3) return undefined;
  const [address, ...suffix] = f[2].split('/');
  if (address === '' || suffix.length > 2 || suffix.some((s) => !/^\d+$/.test(s))) return undefined;
  const connection: SdpConnection = { netType: f[0], addrType: f[1], address };
  if (f[1] === 'IP4' && suffix.length > 0) {
    connection.ttl = Number(suffix[0]);
    if (suffix.length === 2) connection.addressCount = Number(suffix[1]);
  } else if (suffix.length === 1) {
    connection.addressCount = Number(suffix[0]);
  } else if (suffix.length === 2) {
    return undefined; // only IP4 has a TTL (RFC 8866 §5.7)
  }
  return connection;
}

function parseBandwidth(value: string): SdpBandwidth | undefined {
  const m = /^([^:]+):(\d+)$/.exec(value);
  return m ? { type: m[1], bandwidth: Number(m[2]) } : undefined;
}

function parseAttribute(value: string): SdpAttribute {
  const colon = value.indexOf(':');
  return colon < 0 ? { name: value } : { name: value.slice(0, colon), value: value.slice(colon + 1) };
}

function sdpError(line: number, detail: string): SipParseError {
  return new SipParseError(`SDP line ${line}: ${detail}`, { code: 'ERR_SDP_PARSE', line });
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

// ---------------------------------------------------------------------------------------------
// Writer


/**
 * Write a session description with CRLF line ends (RFC 8866 §5) in the §5 order: session lines
 * `v o s i u e p c b t r z k a`, then each media section `m i c b k a`. Lines kept raw go in the
 * slot of their type letter, unknown letters last in their section. Within a media section the
 * attributes are rtpmap/fmtp per format in m= order, a=rtcp, the other attributes, ptime,
 * maxptime, then the direction, so `parseSdp(serializeSdp(parseSdp(x)))` equals `parseSdp(x)`.
 */
export function serializeSdp(desc: SessionDescription): string {
  const out: string[] = [];
  const session: [number, string][] = [[0, `v=${desc.version}`]];
  if (desc.origin) {
    const o = desc.origin;
    session.push([1, `o=${o.username} ${o.sessId} ${o.sessVersion} ${o.netType} ${o.addrType} ${o.address}`]);
  }
  // An empty name is written "s= " (RFC 8866 §5.3).
  session.push([2, `s=${desc.sessionName === '' ? ' ' : desc.sessionName}`]);
  if (desc.connection) session.push([7, connectionLine(desc.connection)]);
  for (const b of desc.bandwidths) session.push([8, `b=${b.type}:${b.bandwidth}`]);
  for (const t of desc.times) {
    session.push([9, `t=${t.start} ${t.stop}`]);
    for (const r of t.repeats) session.push([9, `r=${r}`]);
  }
  for (const a of desc.attributes) if (!DIRECTIONS.has(a.name)) session.push([12, attributeLine(a)]);
  if (desc.direction) session.push([12, `a=${desc.direction}`]);
  for (const a of desc.attributes) if (DIRECTIONS.has(a.name)) session.push([12, attributeLine(a)]);
  for (const l of desc.otherLines) session.push([SESSION_RANK[l.type] ?? 13, `${l.type}=${l.value}`]);
  out.push(...inRankOrder(session));

  for (const m of desc.media) {
    const port = m.portCount === undefined ? `${m.port}` : `${m.port}/${m.portCount}`;
    const media: [number, string][] = [[0, `m=${[m.media, port, m.proto, ...m.formats].join(' ')}`]];
    if (m.connection) media.push([2, connectionLine(m.connection)]);
    for (const b of m.bandwidths) media.push([3, `b=${b.type}:${b.bandwidth}`]);
    for (const line of formatAttributeLines(m)) media.push([5, line]);
    if (m.rtcp) {
      const r = m.rtcp;
      media.push([5, r.address === undefined ? `a=rtcp:${r.port}` : `a=rtcp:${r.port} ${r.netType} ${r.addrType} ${r.address}`]);
    }
    for (const a of m.attributes) if (!TYPED_MEDIA_ATTRIBUTES.has(a.name)) media.push([5, attributeLine(a)]);
    if (m.ptime !== undefined) media.push([5, `a=ptime:${m.ptime}`]);
    if (m.maxptime !== undefined) media.push([5, `a=maxptime:${m.maxptime}`]);
    if (m.direction) media.push([5, `a=${m.direction}`]);
    // Repeats of typed attributes go after the typed value, so it is still the first on re-reading.
    for (const a of m.attributes) if (TYPED_MEDIA_ATTRIBUTES.has(a.name)) media.push([5, attributeLine(a)]);
    for (const l of m.otherLines) media.push([MEDIA_RANK[l.type] ?? 6, `${l.type}=${l.value}`]);
    out.push(...inRankOrder(media));
  }
  return out.map((line) => `${line}\r\n`).join('');
}

/** a=rtpmap then a=fmtp for each payload type in m= order, then any for unlisted types. */
function formatAttributeLines(m: MediaDescription): string[] {
  const lines: string[] = [];
  const done = new Set<SdpRtpMap | SdpFmtp>();
  const emit = (pt: number | undefined): void => {
    for (const r of m.rtpmap) {
      if ((pt === undefined || r.payloadType === pt) && !done.has(r)) {
        done.add(r);
        const channels = r.channels === undefined ? '' : `/${r.channels}`;
        lines.push(`a=rtpmap:${r.payloadType} ${r.encodingName}/${r.clockRate}${channels}`);
      }
    }
    for (const f of m.fmtp) {
      if ((pt === undefined || f.payloadType === pt) && !done.has(f)) {
        done.add(f);
        lines.push(f.parameters === '' ? `a=fmtp:${f.payloadType}` : `a=fmtp:${f.payloadType} ${f.parameters}`);
      }
    }
  };
  for (const format of m.formats) if (/^\d+$/.test(format)) emit(Number(format));
  emit(undefined);
  return lines;
}

function connectionLine(c: SdpConnection): string {
  const ttl = c.ttl === undefined ? '' : `/${c.ttl}`;
  const count = c.addressCount === undefined ? '' : `/${c.addressCount}`;
  return `c=${c.netType} ${c.addrType} ${c.address}${ttl}${count}`;
}

function attributeLine(a: SdpAttribute): string {
  return a.value === undefined ? `a=${a.name}` : `a=${a.name}:${a.value}`;
}

/** Stable sort by rank. */
function inRankOrder<T>(entries: [number, T][]): T[] {
  return entries
    .map((entry, index) => ({ rank: entry[0], index, item: entry[1] }))
    .sort((x, y) => x.rank - y.rank || x.index - y.index)
    .map((entry) => entry.item);
}

// ---------------------------------------------------------------------------------------------
// Reading helpers for the RTP layer

/**
 * The codecs a media section offers, in m= order: `a=rtpmap` first, else the RFC 3551 §6 static
 * payload type table (0 PCMU, 3 GSM, 8 PCMA, 9 G722, 18 G729, …). Dynamic payload types without
 * an rtpmap are left out (they are still in {@link MediaEndpoint.payloadTypes}).
 */
export function mediaCodecs(media: MediaDescription): SdpCodec[] {
  const codecs: SdpCodec[] = [];
  for (const format of media.formats) {
    if (!/^\d+$/.test(format)) continue;
    const payloadType = Number(format);
    const explicit = media.rtpmap.find((r) => r.payloadType === payloadType);
    const known = explicit ?? STATIC_PAYLOAD_TYPES.get(payloadType);
    if (!known) continue;
    const codec: SdpCodec = {
      payloadType,
      encodingName: known.encodingName,
      clockRate: known.clockRate,
      source: explicit ? 'rtpmap' : 'static',
    };
    if (known.channels !== undefined) codec.channels = known.channels;
    const fmtp = media.fmtp.find((f) => f.payloadType === payloadType);
    if (fmtp) codec.parameters = fmtp.parameters;
    codecs.push(codec);
  }
  return codecs;
}

/**
 * The direction in force for media section `index`: its own attribute, else the session-level
 * one, else `sendrecv` (RFC 8866 §6.7; RFC 3264 §5.1).
 */
export function effectiveDirection(desc: SessionDescription, index = 0): MediaDirection {
  return mediaAt(desc, index).direction ?? desc.direction ?? 'sendrecv';
}

/**
 * Where RTP for media section `index` goes: the media-level `c=` over the session-level one
 * (RFC 8866 §5.7), the m= port (0 = rejected, RFC 3264 §6), the RTCP port from `a=rtcp` or RTP
 * port + 1 (RFC 3605, RFC 3550 §11), payload types and codecs, direction and ptime.
 *
 * @throws SipParseError (`ERR_SDP_PARSE`) when there is no such media section or no `c=` for it.
 */
export function mediaEndpoint(desc: SessionDescription, index = 0): MediaEndpoint {
  const media = mediaAt(desc, index);
  const connection = media.connection ?? desc.connection;
  if (!connection) {
    throw new SipParseError(
      `SDP media ${index} has no c= line and the session has none either (RFC 8866 §5.7)`,
      { code: 'ERR_SDP_PARSE' },
    );
  }
  const endpoint: MediaEndpoint = {
    address: connection.address,
    port: media.port,
    rtcpAddress: media.rtcp?.address ?? connection.address,
    rtcpPort: media.rtcp?.port ?? media.port + 1,
    payloadTypes: media.formats.filter((f) => /^\d+$/.test(f)).map(Number),
    codecs: mediaCodecs(media),
    direction: effectiveDirection(desc, index),
  };
  if (media.ptime !== undefined) endpoint.ptime = media.ptime;
  return endpoint;
}

function mediaAt(desc: SessionDescription, index: number): MediaDescription {
  const media = desc.media[index];
  if (!media) {
    throw new SipParseError(
      `SDP has no media section ${index} (it has ${desc.media.length})`,
      { code: 'ERR_SDP_PARSE' },
    );
  }
  return media;
}

// ---------------------------------------------------------------------------------------------
// Offer/answer (RFC 3264)

/** Options for {@link createOffer}. */
export interface OfferOptions {
  /** Our RTP address; an IPv6 address gives `IN IP6`. */
  address: string;
  port: number;
  /** Codec names, optionally `name/clockRate[/channels]`; default PCMU, PCMA, telephone-event. */
  codecs?: string[];
  /** Default: a random number. */
  sessionId?: string | number;
  /** Default: the session id (RFC 8866 §5.2 only asks that it increase on change). */
  sessionVersion?: string | number;
  /** `o=` username; default `-` (RFC 8866 §5.2). */
  username?: string;
  /** Default `sendrecv`; always written at media level. */
  direction?: MediaDirection;
  ptime?: number;
}

/** Options for {@link createAnswer}. */
export interface AnswerOptions {
  address: string;
  port: number;
  /** The codecs we accept, same form as {@link OfferOptions.codecs}; default PCMU, PCMA, telephone-event. */
  codecs?: string[];
  /** What we want to do; combined with the offer's direction (RFC 3264 §6.1). Default `sendrecv`. */
  direction?: MediaDirection;
  sessionId?: string | number;
  sessionVersion?: string | number;
  username?: string;
  /** Default: the offer's ptime, if any. */
  ptime?: number;
}

const DEFAULT_CODECS = ['PCMU', 'PCMA', 'telephone-event'];

/**
 * Build an initial offer with one audio stream over RTP/AVP (RFC 3264 §5). Static codecs keep
 * their RFC 3551 payload type; dynamic ones get 101 for the first telephone-event and 96 upward
 * otherwise (RFC 3551 §3). rtpmap is written for static payload types too. telephone-event gets
 * `a=fmtp:<pt> 0-16` (RFC 4733 §3.2: DTMF events 0-15 and flash).
 *
 * @throws UsageError for a codec name it does not know without a clock rate.
 */
export function createOffer(options: OfferOptions): SessionDescription {
  const codecs = (options.codecs ?? DEFAULT_CODECS).map(resolveCodecName);
  const used = new Set<number>();
  for (const c of codecs) if (c.payloadType !== undefined) used.add(c.payloadType);
  const rtpmap: SdpRtpMap[] = [];
  const fmtp: SdpFmtp[] = [];
  let nextDynamic = 96;
  for (const codec of codecs) {
    let payloadType = codec.payloadType;
    if (payloadType === undefined) {
      if (isTelephoneEvent(codec) && !used.has(101)) payloadType = 101;
      else {
        while (used.has(nextDynamic)) nextDynamic++;
        if (nextDynamic > 127) throw new UsageError('createOffer: more codecs than dynamic payload types 96-127');
        payloadType = nextDynamic;
      }
      used.add(payloadType);
    }
    const entry: SdpRtpMap = { payloadType, encodingName: codec.encodingName, clockRate: codec.clockRate };
    if (codec.channels !== undefined) entry.channels = codec.channels;
    rtpmap.push(entry);
    if (isTelephoneEvent(codec)) fmtp.push({ payloadType, parameters: SUPPORTED_EVENTS });
  }
  const media: MediaDescription = {
    media: 'audio',
    port: options.port,
    proto: 'RTP/AVP',
    formats: rtpmap.map((r) => String(r.payloadType)),
    bandwidths: [],
    rtpmap,
    fmtp,
    direction: options.direction ?? 'sendrecv',
    attributes: [],
    otherLines: [],
  };
  if (options.ptime !== undefined) media.ptime = options.ptime;
  return sessionSkeleton(options, [{ start: 0, stop: 0, repeats: [] }], [media]);
}

/**
 * Answer an offer (RFC 3264 §6): one m= line per offered one, in the same order, and the offer's
 * `t=` (§6). For the first audio RTP/AVP stream with a codec in common we list the shared codecs
 * with the offer's payload type numbers in the offer's order (§6.1 "SHOULD be used"), answer
 * telephone-event with the events both sides support, and set the direction from
 * {@link answerDirection}. Every other stream is rejected with port 0, keeping the offered
 * formats since at least one must be present (§6). A stream whose only shared codecs are
 * telephone-event or CN counts as having nothing in common.
 */
export function createAnswer(offer: SessionDescription | string | Buffer, options: AnswerOptions): SessionDescription {
  const offered = typeof offer === 'string' || Buffer.isBuffer(offer) ? parseSdp(offer) : offer;
  const wanted = (options.codecs ?? DEFAULT_CODECS).map(resolveCodecName);
  let accepted = false;
  const media = offered.media.map((m, index): MediaDescription => {
    const rejected: MediaDescription = {
      media: m.media,
      port: 0,
      proto: m.proto,
      formats: [...m.formats],
      bandwidths: [],
      rtpmap: [],
      fmtp: [],
      attributes: [],
      otherLines: [],
    };
    // A stream offered with port 0 is answered with port 0 (RFC 3264 §8.2); we run one RTP session.
    if (accepted || m.port === 0 || m.media !== 'audio' || m.proto.toUpperCase() !== 'RTP/AVP') return rejected;
    const rtpmap: SdpRtpMap[] = [];
    const fmtp: SdpFmtp[] = [];
    for (const codec of mediaCodecs(m)) {
      if (!wanted.some((w) => sameCodec(w, codec))) continue;
      let parameters = codec.parameters;
      if (isTelephoneEvent(codec)) {
        // No events list: read as DTMF 0-15, the RFC 2833 default that peers still assume.
        const events = intersectEvents(parameters ?? '0-15', SUPPORTED_EVENTS);
        if (events === '') continue;
        parameters = events;
      }
      const entry: SdpRtpMap = { payloadType: codec.payloadType, encodingName: codec.encodingName, clockRate: codec.clockRate };
      if (codec.channels !== undefined) entry.channels = codec.channels;
      rtpmap.push(entry);
      if (parameters !== undefined) fmtp.push({ payloadType: codec.payloadType, parameters });
    }
    if (!rtpmap.some((r) => !isTelephoneEvent(r) && r.encodingName.toUpperCase() !== 'CN')) return rejected;
    accepted = true;
    const answer: MediaDescription = {
      media: 'audio',
      port: options.port,
      proto: m.proto,
      formats: rtpmap.map((r) => String(r.payloadType)),
      bandwidths: [],
      rtpmap,
      fmtp,
      direction: answerDirection(effectiveDirection(offered, index), options.direction ?? 'sendrecv'),
      attributes: [],
      otherLines: [],
    };
    const ptime = options.ptime ?? m.ptime;
    if (ptime !== undefined) answer.ptime = ptime;
    return answer;
  });
  // "The t= line in the answer MUST equal that of the offer" (RFC 3264 §6).
  const times = offered.times.map((t) => ({ ...t, repeats: [...t.repeats] }));
  return sessionSkeleton(options, times, media);
}

/**
 * The answer's direction for an offered one (RFC 3264 §6.1): we send only if we want to and the
 * offerer receives, and receive only if we want to and the offerer sends. So sendonly is answered
 * recvonly, recvonly sendonly, inactive stays inactive, and sendrecv gets what we want.
 */
export function answerDirection(offered: MediaDirection, wanted: MediaDirection = 'sendrecv'): MediaDirection {
  const sends = (d: MediaDirection): boolean => d === 'sendrecv' || d === 'sendonly';
  const receives = (d: MediaDirection): boolean => d === 'sendrecv' || d === 'recvonly';
  const send = sends(wanted) && receives(offered);
  const receive = receives(wanted) && sends(offered);
  if (send && receive) return 'sendrecv';
  if (send) return 'sendonly';
  if (receive) return 'recvonly';
  return 'inactive';
}

function sessionSkeleton(
  options: OfferOptions | AnswerOptions,
  times: SdpTiming[],
  media: MediaDescription[],
): SessionDescription {
  const addrType = isIPv6(options.address) ? 'IP6' : 'IP4';
  const sessId = String(options.sessionId ?? randomInt(1, 2 ** 47));
  return {
    version: 0,
    origin: {
      username: options.username ?? '-',
      sessId,
      sessVersion: String(options.sessionVersion ?? sessId),
      netType: 'IN',
      addrType,
      address: options.address,
    },
    sessionName: '-',
    connection: { netType: 'IN', addrType, address: options.address },
    bandwidths: [],
    times,
    attributes: [],
    otherLines: [],
    media,
  };
}

interface CodecSpec {
  encodingName: string;
  clockRate: number;
  channels?: number;
  /** Set for RFC 3551 static payload types. */
  payloadType?: number;
}

/** `PCMU`, `g722`, `telephone-event/16000`, `opus/48000/2`, `foo/8000` → a codec. */
function resolveCodecName(spec: string): CodecSpec {
  const [name, rate, channels] = spec.split('/');
  const lower = name.toLowerCase();
  for (const [payloadType, known] of STATIC_PAYLOAD_TYPES) {
    if (known.encodingName.toLowerCase() !== lower) continue;
    if (rate !== undefined && Number(rate) !== known.clockRate) continue;
    if (channels !== undefined && Number(channels) !== (known.channels ?? 1)) continue;
    return { ...known, payloadType };
  }
  const dynamic = DYNAMIC_CODECS.get(lower);
  if (rate === undefined) {
    if (!dynamic) {
      throw new UsageError(`unknown codec ${quote(spec)}: write it as name/clockRate, e.g. "${name}/8000"`);
    }
    return { ...dynamic };
  }
  if (!/^\d+$/.test(rate) || (channels !== undefined && !/^\d+$/.test(channels))) {
    throw new UsageError(`codec ${quote(spec)} is not name/clockRate[/channels]`);
  }
  const codec: CodecSpec = { encodingName: dynamic?.encodingName ?? name, clockRate: Number(rate) };
  if (channels !== undefined) codec.channels = Number(channels);
  else if (dynamic?.channels !== undefined && dynamic.clockRate === codec.clockRate) codec.channels = dynamic.channels;
  return codec;
}

/** Encoding names are case-insensitive (RFC 8866 §6.6); absent channels mean 1. */
function sameCodec(a: CodecSpec | SdpCodec, b: CodecSpec | SdpCodec): boolean {
  return (
    a.encodingName.toLowerCase() === b.encodingName.toLowerCase() &&
    a.clockRate === b.clockRate &&
    (a.channels ?? 1) === (b.channels ?? 1)
  );
}

function isTelephoneEvent(codec: { encodingName: string }): boolean {
  return codec.encodingName.toLowerCase() === 'telephone-event';
}

/** Intersect two RFC 4733 §7.1.1 event lists (`0-15,32,36`), written back as ranges. */
function intersectEvents(a: string, b: string): string {
  const theirs = eventSet(a);
  const ours = eventSet(b);
  const both = [...theirs].filter((e) => ours.has(e)).sort((x, y) => x - y);
  const ranges: string[] = [];
  for (let i = 0; i < both.length; ) {
    let j = i;
    while (j + 1 < both.length && both[j + 1] === both[j] + 1) j++;
    ranges.push(i === j ? `${both[i]}` : `${both[i]}-${both[j]}`);
    i = j + 1;
  }
  return ranges.join(',');
}

function eventSet(list: string): Set<number> {
  const events = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) continue;
    const from = Number(m[1]);
    const to = Math.min(Number(m[2] ?? m[1]), 255);
    for (let e = from; e <= to; e++) events.add(e);
  }
  return events;
}

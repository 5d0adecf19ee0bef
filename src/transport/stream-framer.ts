/**
 * Message framing for SIP over a byte stream (TCP, TLS): RFC 3261 §18.3. On a stream the end
 * of a message is the blank line (CRLFCRLF) that ends its header block plus Content-Length
 * bytes of body. The framer is pure: it is fed chunks as they arrive and hands complete
 * messages, keep-alives and framing errors to a {@link FramerSink}. It never parses more of a
 * message than framing needs (the Content-Length header); the raw bytes go up unchanged.
 *
 * Cost: every byte is examined once. A message that lies within one chunk is handed up as a
 * zero-copy `subarray` of that chunk; only a message split across chunks is copied, once, into
 * a buffer that grows by doubling. Only the header block is scanned for CRLFCRLF, never the
 * body (a multipart body has blank lines of its own).
 */
import { SipParseError, UsageError } from '../errors.js';

/** Default limit of a header block, start line and terminating CRLFCRLF included. */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** Default limit of one header field (folded continuation lines included) or the start line. */
export const DEFAULT_MAX_HEADER_LINE_BYTES = 8 * 1024;
/** Default limit of a body, i.e. of the Content-Length value. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** What the framer knows about a message besides its bytes. */
export interface FrameInfo {
  /**
   * The message had no Content-Length header. Over a stream that breaks a MUST
   * (RFC 3261 §18.3, §20.14), but real equipment does it; the body is taken to be empty.
   */
  readonly missingContentLength: boolean;
}

/** `ping` is a CRLFCRLF, `pong` a single CRLF (RFC 5626 §3.5.1, §4.4.1). */
export type KeepAliveKind = 'ping' | 'pong';

/**
 * Receives what a {@link StreamFramer} finds in the stream, in stream order. Callbacks must not
 * call `push` on the same framer. If a callback throws, the exception leaves `push` and the
 * framer is broken (the rest of that chunk was not framed).
 */
export interface FramerSink {
  /**
   * One complete message, header block and body, exactly as received (leading CRLFs
   * excluded). `bytes` may be a view into the chunk passed to `push`; `info` is a shared
   * frozen object, do not keep it.
   */
  onMessage(bytes: Buffer, info: FrameInfo): void;
  /**
   * A keep-alive between messages (RFC 5626 §3.5.1). A server answers a `ping` with a CRLF
   * pong (RFC 5626 §4.4.1). CRLFs before a start line, which RFC 3261 §7.5 says to ignore,
   * are indistinguishable from keep-alives on the wire and are reported the same way.
   */
  onKeepAlive(kind: KeepAliveKind): void;
  /**
   * Framing is lost: the framer is already broken when this is called and ignores any further
   * input. The caller should close the connection. `err.status` is what a server would answer:
   * 400 Bad Request for a bad Content-Length (RFC 3261 §21.4.1), 413 Request Entity Too Large
   * for a body over the limit (§21.4.11), 513 Message Too Large for a header block or one
   * header over the limit (§21.5.7).
   */
  onError(err: SipParseError): void;
}

/** Limits; a peer that exceeds one gets {@link FramerSink.onError}. */
export interface StreamFramerOptions {
  /** Header block, start line to CRLFCRLF inclusive. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** One header field, folded continuation lines included, or the start line. Default 8 KiB. */
  maxHeaderLineBytes?: number;
  /** Body (Content-Length). Default 1 MiB. */
  maxBodyBytes?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LONE_CR = Buffer.from('\r', 'latin1');
const CONTENT_LENGTH = Buffer.from('content-length', 'latin1');
/** Content-Length values with more digits than this are certainly over any body limit. */
const MAX_LENGTH_DIGITS = 15;
const MIN_CAPACITY = 1024;
const EMPTY = Buffer.alloc(0);

const PRESENT: FrameInfo = Object.freeze({ missingContentLength: false });
const MISSING: FrameInfo = Object.freeze({ missingContentLength: true });

// Where the framer is in the current message.
const IDLE = 0; // between messages
const HEADER = 1; // header block started, its CRLFCRLF not yet seen
const BODY = 2; // header block complete, waiting for body bytes

// Keep-alive bytes seen between messages (RFC 5626 §3.5.1).
const KA_NONE = 0;
const KA_CR = 1; // "\r"
const KA_CRLF = 2; // "\r\n": a pong, unless a CR follows
const KA_CRLFCR = 3; // "\r\n\r": a ping, if a LF follows

/** Returned by {@link StreamFramer.inspect} when it has reported an error. */
const FAILED = -2;
/** Content-Length value meaning "no Content-Length header". */
const ABSENT = -1;

/**
 * Splits a SIP byte stream into messages: RFC 3261 §18.3 (framing), §7.5 (CRLFs before a
 * start line), RFC 5626 §3.5.1 (CRLF keep-alives). One framer per connection.
 *
 * A pong is reported as soon as a CRLF ends the data pushed so far, because the side that sent
 * a ping must see the pong within 10 s (RFC 5626 §4.4.1). So a ping split by the sender right
 * after its first CRLF is reported as two pongs; senders write the four bytes at once.
 */
export class StreamFramer {
  private readonly maxHeaderBytes: number;
  private readonly maxHeaderLineBytes: number;
  private readonly maxBodyBytes: number;

  /** The message in progress when it began in an earlier chunk; null otherwise. */
  private acc: Buffer | null = null;
  private accLen = 0;
  private phase = IDLE;
  /** HEADER: how much of CRLFCRLF the accumulated bytes end with (0..3). */
  private termState = 0;
  /** HEADER: offset in `acc` where the last (unfinished) line starts. */
  private lineStart = 0;
  /** BODY: length of the whole message. */
  private total = 0;
  private idleState = KA_NONE;
  /** Offset in the current chunk of the CR that the idle state ends with; -1: an earlier chunk. */
  private crPos = -1;
  private isBroken = false;

  // Scratch state of inspect(), kept in fields so that framing a message allocates nothing.
  private clValue = ABSENT;
  private clText = '';

  constructor(opts: StreamFramerOptions = {}) {
    this.maxHeaderBytes = limit('maxHeaderBytes', opts.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES, 1);
    this.maxHeaderLineBytes = limit('maxHeaderLineBytes', opts.maxHeaderLineBytes, DEFAULT_MAX_HEADER_LINE_BYTES, 1);
    this.maxBodyBytes = limit('maxBodyBytes', opts.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 0);
  }

  /** Bytes received but not yet handed up (a message in progress, a partial keep-alive). */
  get bufferedBytes(): number {
    return this.accLen + (this.idleState === KA_CR ? 1 : this.idleState === KA_CRLFCR ? 3 : 0);
  }

  /**
   * The bytes of a message begun but not complete (a view, valid until the next `push`); empty
   * between messages. Non-empty when the stream ends means the message was truncated
   * (RFC 3261 §18.3).
   */
  get partialMessage(): Buffer {
    return this.acc === null ? EMPTY : this.acc.subarray(0, this.accLen);
  }

  /** True once {@link FramerSink.onError} was called (or a sink callback threw). */
  get broken(): boolean {
    return this.isBroken;
  }

  /**
   * Feeds the next chunk of the stream. Complete messages and keep-alives in it are reported to
   * `sink` before this returns; a message still incomplete is kept for the next push.
   */
  push(chunk: Buffer, sink: FramerSink): void {
    if (this.isBroken || chunk.length === 0) return;
    this.crPos = -1;
    try {
      const end = chunk.length;
      let pos = 0;
      while (pos < end && !this.isBroken) {
        pos = this.acc === null ? this.frameInChunk(chunk, pos, sink) : this.feedAccumulated(chunk, pos, sink);
      }
      if (this.idleState === KA_CRLF && !this.isBroken) {
        // RFC 5626 §4.4.1: the pinger waits for this pong; do not hold it back for the next chunk.
        this.idleState = KA_NONE;
        sink.onKeepAlive('pong');
      }
    } catch (err) {
      this.breakOff();
      throw err;
    }
  }

  /** Frames messages that start in `chunk` (nothing accumulated). Returns where it stopped. */
  private frameInChunk(chunk: Buffer, pos: number, sink: FramerSink): number {
    const end = chunk.length;
    while (pos < end) {
      // Between messages: RFC 5626 §3.5.1 keep-alives, RFC 3261 §7.5 leading CRLFs.
      let msgStart = -1;
      while (pos < end) {
        const b = chunk[pos];
        const s = this.idleState;
        if (s === KA_NONE) {
          if (b !== CR) {
            msgStart = pos;
            break;
          }
          this.idleState = KA_CR;
          this.crPos = pos++;
        } else if (s === KA_CR) {
          if (b === LF) {
            this.idleState = KA_CRLF;
            pos++;
            continue;
          }
          // A CR that is not part of a CRLF starts a message (the parser will judge it).
          this.idleState = KA_NONE;
          if (this.crPos >= 0) {
            msgStart = this.crPos;
            break;
          }
          this.phase = HEADER;
          this.append(LONE_CR, 0, 1, this.maxHeaderBytes);
          this.termState = 1;
          this.lineStart = 0;
          return pos;
        } else if (s === KA_CRLF) {
          if (b === CR) {
            this.idleState = KA_CRLFCR;
            this.crPos = pos++;
          } else {
            this.idleState = KA_NONE;
            sink.onKeepAlive('pong');
          }
        } else if (b === LF) {
          this.idleState = KA_NONE;
          pos++;
          sink.onKeepAlive('ping');
        } else {
          // "\r\n\r" and no LF: the CRLF was a pong, the CR is looked at again.
          this.idleState = KA_CR;
          sink.onKeepAlive('pong');
        }
      }
      if (msgStart < 0) return end;
      pos = this.frameMessage(chunk, msgStart, sink);
    }
    return pos;
  }

  /** Frames the message starting at `msgStart` in `chunk`; returns the offset after it. */
  private frameMessage(chunk: Buffer, msgStart: number, sink: FramerSink): number {
    const end = chunk.length;
    const crlfcrlf = chunk.indexOf(CRLFCRLF, msgStart);
    if (crlfcrlf < 0) {
      this.stashHeader(chunk, msgStart, end, sink);
      return end;
    }
    const blockEnd = crlfcrlf + 4;
    const cl = this.inspect(chunk, msgStart, blockEnd, sink);
    if (cl === FAILED) return end;
    if (cl === ABSENT) {
      sink.onMessage(chunk.subarray(msgStart, blockEnd), MISSING);
      return blockEnd;
    }
    const msgEnd = blockEnd + cl;
    if (msgEnd <= end) {
      sink.onMessage(chunk.subarray(msgStart, msgEnd), PRESENT);
      return msgEnd;
    }
    // The body goes on in a later chunk.
    this.phase = BODY;
    this.total = msgEnd - msgStart;
    this.append(chunk, msgStart, end, this.total);
    return end;
  }

  /** Keeps the unfinished header block `chunk[start, end)` for the next chunk. */
  private stashHeader(chunk: Buffer, start: number, end: number, sink: FramerSink): void {
    if (end - start >= this.maxHeaderBytes) {
      this.fail(sink, headerBlockTooLarge(this.maxHeaderBytes));
      return;
    }
    const lf = lastLf(chunk, start, end);
    const lineStart = lf < 0 ? start : lf + 1;
    if (partialLineLength(chunk, lineStart, end) > this.maxHeaderLineBytes) {
      this.fail(sink, lineTooLarge(this.maxHeaderLineBytes));
      return;
    }
    this.phase = HEADER;
    this.append(chunk, start, end, this.maxHeaderBytes);
    this.termState = partialTerminator(chunk, start, end);
    this.lineStart = lineStart - start;
  }

  /** Continues the accumulated message with bytes from `chunk`; returns the offset after them. */
  private feedAccumulated(chunk: Buffer, pos: number, sink: FramerSink): number {
    const end = chunk.length;
    if (this.phase === HEADER) {
      // The CRLFCRLF may straddle the chunk boundary: continue the partial match first.
      let blockEnd = -1;
      let s = this.termState;
      if (s !== 0) {
        const lim = Math.min(end, pos + 3);
        for (let i = pos; i < lim; i++) {
          s = terminatorStep(s, chunk[i]);
          if (s === 4) {
            blockEnd = i + 1;
            break;
          }
        }
      }
      if (blockEnd < 0) {
        const i = chunk.indexOf(CRLFCRLF, pos);
        if (i >= 0) blockEnd = i + 4;
      }
      if (blockEnd < 0) {
        if (this.accLen + (end - pos) >= this.maxHeaderBytes) {
          this.fail(sink, headerBlockTooLarge(this.maxHeaderBytes));
          return end;
        }
        const lf = lastLf(chunk, pos, end);
        if (lf >= 0) this.lineStart = this.accLen + (lf + 1 - pos);
        this.append(chunk, pos, end, this.maxHeaderBytes);
        const acc = this.acc as Buffer;
        this.termState = partialTerminator(acc, 0, this.accLen);
        if (partialLineLength(acc, this.lineStart, this.accLen) > this.maxHeaderLineBytes) {
          this.fail(sink, lineTooLarge(this.maxHeaderLineBytes));
        }
        return end;
      }
      const headerLen = this.accLen + (blockEnd - pos);
      this.append(chunk, pos, blockEnd, this.maxHeaderBytes); // inspect() checks headerLen
      pos = blockEnd;
      const cl = this.inspect(this.acc as Buffer, 0, headerLen, sink);
      if (cl === FAILED) return end;
      if (cl <= 0) {
        this.emitAccumulated(sink, cl === ABSENT ? MISSING : PRESENT);
        return pos;
      }
      this.phase = BODY;
      this.total = headerLen + cl;
    }
    const take = Math.min(this.total - this.accLen, end - pos);
    this.append(chunk, pos, pos + take, this.total);
    pos += take;
    if (this.accLen === this.total) this.emitAccumulated(sink, PRESENT);
    return pos;
  }

  /**
   * Checks the complete header block `buf[start, end)` (it ends with CRLFCRLF) against the
   * limits and reads its Content-Length. Returns the body length, ABSENT, or FAILED after
   * reporting the error.
   */
  private inspect(buf: Buffer, start: number, end: number, sink: FramerSink): number {
    if (end - start > this.maxHeaderBytes) {
      this.fail(sink, headerBlockTooLarge(this.maxHeaderBytes, end - start));
      return FAILED;
    }
    this.clValue = ABSENT;
    this.clText = '';
    let fieldStart = -1;
    let fieldEnd = -1;
    let fieldLine = 0;
    let line = 0;
    let pos = start;
    while (pos < end) {
      line++;
      let lf = buf.indexOf(LF, pos);
      if (lf < 0 || lf >= end) lf = end;
      const contentEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      const b = buf[pos];
      if (fieldStart >= 0 && contentEnd > pos && (b === SP || b === HTAB)) {
        fieldEnd = contentEnd; // RFC 3261 §7.3.1: a folded continuation of the field above
      } else {
        if (fieldStart >= 0) {
          const err = this.checkField(buf, fieldStart, fieldEnd, fieldLine, fieldStart === start);
          if (err !== null) {
            this.fail(sink, err);
            return FAILED;
          }
        }
        fieldStart = contentEnd > pos ? pos : -1;
        fieldEnd = contentEnd;
        fieldLine = line;
      }
      pos = lf + 1;
    }
    if (fieldStart >= 0) {
      // Unreachable while blocks end with CRLFCRLF; kept so the function stands on its own.
      const err = this.checkField(buf, fieldStart, fieldEnd, fieldLine, fieldStart === start);
      if (err !== null) {
        this.fail(sink, err);
        return FAILED;
      }
    }
    if (this.clValue > this.maxBodyBytes) {
      this.fail(
        sink,
        new SipParseError(
          `Content-Length ${this.clText} is over the limit of ${this.maxBodyBytes} body bytes (RFC 3261 §21.4.11 413 Request Entity Too Large)`,
          { status: 413, code: 'ERR_SIP_TOO_LARGE' },
        ),
      );
      return FAILED;
    }
    return this.clValue;
  }

  /**
   * Checks one header field `buf[start, end)` (folded lines joined, no final CRLF): its size,
   * and if it is Content-Length (or compact `l`, any case, LWS before the colon: RFC 3261
   * §7.3.1, §7.3.3, §20.14), its value. Returns an error or null.
   */
  private checkField(buf: Buffer, start: number, end: number, line: number, startLine: boolean): SipParseError | null {
    if (end - start > this.maxHeaderLineBytes) {
      return new SipParseError(
        `${startLine ? 'start line' : 'header'} of ${end - start} bytes is over the limit of ${this.maxHeaderLineBytes}: ${quote(buf, start, end)}`,
        { status: 513, code: 'ERR_SIP_TOO_LARGE', line },
      );
    }
    if (startLine) return null;
    const c = buf[start] | 0x20;
    if (c !== 0x63 /* c */ && c !== 0x6c /* l */) return null;
    let colon = start;
    while (colon < end && buf[colon] !== COLON) colon++;
    if (colon === end) return null;
    let nameEnd = colon;
    while (nameEnd > start && (buf[nameEnd - 1] === SP || buf[nameEnd - 1] === HTAB)) nameEnd--;
    const nameLen = nameEnd - start;
    if (nameLen === 1) {
      if (c !== 0x6c) return null;
    } else if (nameLen !== CONTENT_LENGTH.length || !equalsLowerCase(buf, start, CONTENT_LENGTH)) {
      return null;
    }
    let vs = colon + 1;
    let ve = end;
    while (vs < ve && isLws(buf[vs])) vs++;
    while (ve > vs && isLws(buf[ve - 1])) ve--;
    const text = buf.toString('latin1', vs, ve);
    let digits = ve > vs;
    for (let i = vs; digits && i < ve; i++) digits = buf[i] >= 0x30 && buf[i] <= 0x39;
    if (!digits) {
      const what = text === '' ? 'is empty' : /^-\d+$/.test(text) ? 'is negative' : 'is not a number';
      return new SipParseError(
        `Content-Length ${JSON.stringify(text)} ${what}; RFC 3261 §20.14 wants 1*DIGIT, and without it the message boundary on a stream is lost (§18.3)`,
        { code: 'ERR_TRANSPORT_FRAMING', status: 400, line },
      );
    }
    const value = ve - vs > MAX_LENGTH_DIGITS ? Number.MAX_SAFE_INTEGER : Number(text);
    if (this.clValue !== ABSENT && this.clValue !== value) {
      return new SipParseError(
        `Content-Length appears twice with different values, ${JSON.stringify(this.clText)} and ${JSON.stringify(text)}; the message boundary is ambiguous (RFC 3261 §18.3)`,
        { code: 'ERR_TRANSPORT_FRAMING', status: 400, line },
      );
    }
    this.clValue = value;
    this.clText = text;
    return null;
  }

  /** Hands the accumulated message up and forgets it (the sink may keep the buffer). */
  private emitAccumulated(sink: FramerSink, info: FrameInfo): void {
    const bytes = (this.acc as Buffer).subarray(0, this.accLen);
    this.acc = null;
    this.accLen = 0;
    this.phase = IDLE;
    this.termState = 0;
    this.lineStart = 0;
    this.total = 0;
    sink.onMessage(bytes, info);
  }

  /** Appends `src[start, end)` to the accumulated message, growing by doubling up to `cap`. */
  private append(src: Buffer, start: number, end: number, cap: number): void {
    const need = this.accLen + (end - start);
    let acc = this.acc;
    if (acc === null || acc.length < need) {
      const doubled = Math.max(need, (acc === null ? 0 : acc.length) * 2, MIN_CAPACITY);
      const size = Math.max(need, Math.min(cap, doubled));
      const grown = Buffer.allocUnsafe(size);
      if (acc !== null) acc.copy(grown, 0, 0, this.accLen);
      this.acc = acc = grown;
    }
    src.copy(acc, this.accLen, start, end);
    this.accLen = need;
  }

  private fail(sink: FramerSink, err: SipParseError): void {
    this.breakOff();
    sink.onError(err);
  }

  private breakOff(): void {
    this.isBroken = true;
    this.acc = null;
    this.accLen = 0;
    this.phase = IDLE;
    this.idleState = KA_NONE;
  }
}

function limit(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`stream framer option ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function headerBlockTooLarge(max: number, size?: number): SipParseError {
  const what =
    size === undefined
      ? `no end of header block (CRLFCRLF) within ${max} bytes`
      : `header block of ${size} bytes is over the limit of ${max}`;
  return new SipParseError(`${what} (RFC 3261 §21.5.7 513 Message Too Large)`, {
    status: 513,
    code: 'ERR_SIP_TOO_LARGE',
  });
}

function lineTooLarge(max: number): SipParseError {
  return new SipParseError(`a header line runs over ${max} bytes without a line end (RFC 3261 §21.5.7 513 Message Too Large)`, {
    status: 513,
    code: 'ERR_SIP_TOO_LARGE',
  });
}

/** One step of matching CRLFCRLF: state = how many of its bytes were matched (4 = all). */
function terminatorStep(state: number, b: number): number {
  if (b === CR) return state === 2 ? 3 : 1;
  if (b === LF) return state === 1 ? 2 : state === 3 ? 4 : 0;
  return 0;
}

/** How many leading bytes of CRLFCRLF `buf[start, end)` ends with (it holds no whole one). */
function partialTerminator(buf: Buffer, start: number, end: number): number {
  const n = end - start;
  if (n >= 3 && buf[end - 3] === CR && buf[end - 2] === LF && buf[end - 1] === CR) return 3;
  if (n >= 2 && buf[end - 2] === CR && buf[end - 1] === LF) return 2;
  if (n >= 1 && buf[end - 1] === CR) return 1;
  return 0;
}

/** Offset of the last LF in `buf[start, end)`, or -1. */
function lastLf(buf: Buffer, start: number, end: number): number {
  for (let i = end - 1; i >= start; i--) if (buf[i] === LF) return i;
  return -1;
}

/** Length of an unfinished line, not counting a final CR that may be the start of its CRLF. */
function partialLineLength(buf: Buffer, lineStart: number, end: number): number {
  const n = end - lineStart;
  return n > 0 && buf[end - 1] === CR ? n - 1 : n;
}

function isLws(b: number): boolean {
  return b === SP || b === HTAB || b === CR || b === LF;
}

/** Compares `buf` at `start` with the lower-case ASCII `name`, ignoring the case of letters. */
function equalsLowerCase(buf: Buffer, start: number, name: Buffer): boolean {
  for (let i = 0; i < name.length; i++) {
    const t = name[i];
    const b = buf[start + i];
    if (b !== t && (t < 0x61 || t > 0x7a || (b | 0x20) !== t)) return false;
  }
  return true;
}

/** The first bytes of `buf[start, end)` as a quoted string for an error message. */
function quote(buf: Buffer, start: number, end: number): string {
  const max = 60;
  const text = JSON.stringify(buf.toString('latin1', start, Math.min(end, start + max)));
  return end - start > max ? `${text}…` : text;
}

/**
 * The SIP message model (RFC 3261 §7): a start line, headers in wire order, a body.
 *
 * Headers are stored as raw strings and parsed on demand: the transaction layer needs only the
 * top Via branch, CSeq and Call-ID, so nothing else is parsed on the hot path. Parsed forms are
 * cached per message and dropped when the header is changed.
 */
import { SipParseError } from '../errors.js';
import type { Finding } from './finding.js';
import { headerKey, canonicalName, isListHeader } from './headers.js';
import { parseVia, type Via } from './via.js';
import { parseNameAddr, splitHeaderList, type NameAddr } from './name-addr.js';
import { parseCSeq } from './cseq.js';
import { parseUri, type Uri } from './uri.js';

/** One header line as received or as it will be sent. */
export interface Header {
  /** Name as written on the wire (`v`, `VIA`, `Via`). */
  name: string;
  /** Look-up key: lower-cased full name (`via`). */
  key: string;
  /** Value with surrounding whitespace trimmed and folded lines joined by one space. */
  value: string;
}

/** Parsed CSeq (RFC 3261 §20.16). */
export interface CSeq {
  seq: number;
  method: string;
}

/** Transport facts about a received message, as plain data (the sip layer knows no sockets). */
export interface MessageOrigin {
  /** `udp`, `tcp`, … lower-case. */
  protocol: string;
  remoteHost: string;
  remotePort: number;
  localHost: string;
  localPort: number;
  /** Stream transports: the connection it arrived on, for sending responses back on it. */
  connectionId: number;
  /** Wall-clock receive time, ms since the epoch. */
  receivedAt: number;
}

const EMPTY_BODY = Buffer.alloc(0);

/** A SIP request or response. */
export class SipMessage {
  /** Request method, or '' for a response. */
  method = '';
  /** Request-URI as written, or '' for a response. */
  requestUri = '';
  /** Status code, or 0 for a request. */
  status = 0;
  reason = '';
  version = 'SIP/2.0';
  headers: Header[] = [];
  body: Buffer = EMPTY_BODY;
  /** The bytes this message was parsed from, kept for reports and pcap (undefined when built). */
  raw: Buffer | undefined = undefined;
  /** Deviations the tolerant parser accepted. */
  findings: Finding[] = [];
  /** Where a received message came from; set by the transport (undefined for built messages). */
  origin: MessageOrigin | undefined = undefined;

  private cache: Map<string, unknown> | undefined = undefined;

  get isRequest(): boolean {
    return this.status === 0;
  }

  get isResponse(): boolean {
    return this.status !== 0;
  }

  /** First value of a header by any spelling (`Call-ID`, `i`, `call-id`). */
  get(name: string): string | undefined {
    const key = headerKey(name);
    const hs = this.headers;
    for (let i = 0; i < hs.length; i++) if (hs[i].key === key) return hs[i].value;
    return undefined;
  }

  /** True when the header occurs at least once. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /**
   * Every value of a header, in order. For list headers (Via, Contact, Route…) comma-separated
   * values are split into elements (RFC 3261 §7.3.1); other headers are returned line by line.
   */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    const split = isListHeader(key);
    for (const h of this.headers) {
      if (h.key !== key) continue;
      if (split && h.value.includes(',')) out.push(...splitHeaderList(h.value));
      else out.push(h.value);
    }
    return out;
  }

  /** Replace every occurrence of a header with one value (appended where the first one stood). */
  set(name: string, value: string): this {
    const key = headerKey(name);
    const idx = this.headers.findIndex((h) => h.key === key);
    const header: Header = { name: idx >= 0 ? this.headers[idx].name : canonicalName(name), key, value };
    if (idx < 0) {
      this.headers.push(header);
    } else {
      this.headers[idx] = header;
      this.headers = this.headers.filter((h, i) => i === idx || h.key !== key);
    }
    this.invalidate(key);
    return this;
  }

  /** Add a header line after the existing ones. */
  append(name: string, value: string): this {
    const key = headerKey(name);
    this.headers.push({ name: canonicalName(name), key, value });
    this.invalidate(key);
    return this;
  }

  /** Add a header line before every other header of the same name (a new top Via, RFC 3261 §16.6). */
  prepend(name: string, value: string): this {
    const key = headerKey(name);
    const idx = this.headers.findIndex((h) => h.key === key);
    const header = { name: canonicalName(name), key, value };
    if (idx < 0) this.headers.push(header);
    else this.headers.splice(idx, 0, header);
    this.invalidate(key);
    return this;
  }

  /** Remove every occurrence of a header. */
  remove(name: string): this {
    const key = headerKey(name);
    this.headers = this.headers.filter((h) => h.key !== key);
    this.invalidate(key);
    return this;
  }

  // ---- parsed accessors (lazy, cached) ----

  /** Call-ID value (RFC 3261 §20.8), '' when absent. */
  get callId(): string {
    return this.get('call-id') ?? '';
  }

  /** Parsed CSeq; throws SipParseError when missing or malformed. */
  get cseq(): CSeq {
    return this.cached('cseq', () => parseCSeq(this.required('cseq')));
  }

  /** The top Via (the first element of the first Via header). */
  get topVia(): Via {
    return this.cached('via', () => {
      const first = this.required('via');
      const top = first.includes(',') ? splitHeaderList(first)[0] : first;
      return parseVia(top, this.findings);
    });
  }

  /** All Via elements, top first. */
  get vias(): Via[] {
    return this.cached('via*', () => this.getAll('via').map((v) => parseVia(v, this.findings)));
  }

  get from(): NameAddr {
    return this.cached('from', () => parseNameAddr(this.required('from'), this.findings));
  }

  get to(): NameAddr {
    return this.cached('to', () => parseNameAddr(this.required('to'), this.findings));
  }

  get fromTag(): string | undefined {
    return this.from.params.get('tag') ?? undefined;
  }

  get toTag(): string | undefined {
    return this.to.params.get('tag') ?? undefined;
  }

  /** Parsed Contact elements (empty when absent). */
  get contacts(): NameAddr[] {
    return this.cached('contact', () => this.getAll('contact').map((c) => parseNameAddr(c, this.findings)));
  }

  /** Parsed Request-URI. */
  get uri(): Uri {
    return this.cached('ruri', () => parseUri(this.requestUri, this.findings));
  }

  /** The method this message is about: the request's own, or the CSeq method of a response. */
  get transactionMethod(): string {
    return this.isRequest ? this.method : this.cseq.method;
  }

  /** First line as written on the wire, without CRLF. */
  get startLine(): string {
    return this.isRequest
      ? `${this.method} ${this.requestUri} ${this.version}`
      : `${this.version} ${this.status} ${this.reason}`;
  }

  /** A deep-enough copy to modify and send again (headers copied, body shared, caches dropped). */
  clone(): SipMessage {
    const m = new SipMessage();
    m.method = this.method;
    m.requestUri = this.requestUri;
    m.status = this.status;
    m.reason = this.reason;
    m.version = this.version;
    m.headers = this.headers.map((h) => ({ ...h }));
    m.body = this.body;
    return m;
  }

  private required(key: string): string {
    const v = this.get(key);
    if (v === undefined) throw missingHeader(key);
    return v;
  }

  private cached<T>(key: string, compute: () => T): T {
    if (this.cache === undefined) this.cache = new Map();
    else if (this.cache.has(key)) return this.cache.get(key) as T;
    const v = compute();
    this.cache.set(key, v);
    return v;
  }

  private invalidate(key: string): void {
    if (this.cache === undefined) return;
    this.cache.delete(key);
    if (key === 'via') this.cache.delete('via*');
    if (key === 'contact') this.cache.delete('contact');
  }
}


function missingHeader(key: string): SipParseError {
  return new SipParseError(`missing mandatory header ${canonicalName(key)}`, { code: 'ERR_SIP_HEADER' });
}

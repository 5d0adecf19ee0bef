/**
 * The SIP message model (RFC 3261 §7): a start line, headers in wire order, a body.
 *
 * Headers are stored as raw strings and parsed on demand: the transaction layer needs only the
 * top Via branch, CSeq, Call-ID and the tags, so nothing else is parsed on the hot path. Parsed
 * forms are cached per message together with the header text they came from; an accessor whose
 * header text has changed (through the methods here or by editing `headers` directly) parses
 * again. No closures or maps are allocated per message.
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
  /**
   * HCOLON as received (RFC 3261 §25.1: `*( SP / HTAB ) ":" SWS`), e.g. `':'` for
   * `Via:SIP/2.0/UDP`; the serializer writes it back. Absent (`': '` is written) for headers
   * built in code.
   */
  hcolon?: string;
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

  // Parsed forms, each kept with the exact header text it was parsed from. An accessor compares
  // that text with the current header value, so a cache can never go stale, even when code
  // edits `headers` or `requestUri` directly rather than through set/append/prepend/remove.
  private cseqText: string | undefined = undefined;
  private cseqValue: CSeq | undefined = undefined;
  private topViaText: string | undefined = undefined;
  private topViaValue: Via | undefined = undefined;
  private fromText: string | undefined = undefined;
  private fromValue: NameAddr | undefined = undefined;
  private toText: string | undefined = undefined;
  private toValue: NameAddr | undefined = undefined;
  private uriText: string | undefined = undefined;
  private uriValue: Uri | undefined = undefined;
  private viasTexts: string[] | undefined = undefined;
  private viasValue: Via[] | undefined = undefined;
  private contactTexts: string[] | undefined = undefined;
  private contactValue: NameAddr[] | undefined = undefined;

  get isRequest(): boolean {
    return this.status === 0;
  }

  get isResponse(): boolean {
    return this.status !== 0;
  }

  /** First value of a header by any spelling (`Call-ID`, `i`, `call-id`). */
  get(name: string): string | undefined {
    return this.valueOf(headerKey(name));
  }

  /** True when the header occurs at least once. */
  has(name: string): boolean {
    return this.valueOf(headerKey(name)) !== undefined;
  }

  /**
   * Every value of a header, in order. For list headers (Via, Contact, Route…) comma-separated
   * values are split into elements (RFC 3261 §7.3.1); other headers are returned line by line
   * (a `Date: Fri, 02 Jul 2010 …` stays whole).
   */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    const split = isListHeader(key);
    const hs = this.headers;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i];
      if (h.key !== key) continue;
      if (split && h.value.indexOf(',') >= 0) {
        const parts = splitHeaderList(h.value);
        for (let j = 0; j < parts.length; j++) out.push(parts[j]);
      } else out.push(h.value);
    }
    return out;
  }

  /**
   * Replace every occurrence of a header with one value, at the place of the first occurrence
   * and with its spelling; appended with the canonical spelling when there was none.
   */
  set(name: string, value: string): this {
    const key = headerKey(name);
    const hs = this.headers;
    const idx = this.indexOfKey(key);
    if (idx < 0) {
      hs.push({ name: canonicalName(name), key, value });
      return this;
    }
    const old = hs[idx];
    const header: Header = { name: old.name, key, value };
    if (old.hcolon !== undefined) header.hcolon = old.hcolon;
    const kept: Header[] = [];
    for (let i = 0; i < hs.length; i++) {
      if (i === idx) kept.push(header);
      else if (hs[i].key !== key) kept.push(hs[i]);
    }
    this.headers = kept;
    return this;
  }

  /** Add a header line after the existing ones. */
  append(name: string, value: string): this {
    this.headers.push({ name: canonicalName(name), key: headerKey(name), value });
    return this;
  }

  /** Add a header line before every other header of the same name (a new top Via, RFC 3261 §16.6). */
  prepend(name: string, value: string): this {
    const key = headerKey(name);
    const idx = this.indexOfKey(key);
    const header: Header = { name: canonicalName(name), key, value };
    if (idx < 0) this.headers.push(header);
    else this.headers.splice(idx, 0, header);
    return this;
  }

  /** Remove every occurrence of a header. */
  remove(name: string): this {
    const key = headerKey(name);
    if (this.indexOfKey(key) < 0) return this;
    const kept: Header[] = [];
    const hs = this.headers;
    for (let i = 0; i < hs.length; i++) if (hs[i].key !== key) kept.push(hs[i]);
    this.headers = kept;
    return this;
  }

  // ---- parsed accessors (lazy, cached per header text) ----

  /** Call-ID value (RFC 3261 §20.8), '' when absent. */
  get callId(): string {
    return this.valueOf('call-id') ?? '';
  }

  /** Parsed CSeq; throws SipParseError when missing or malformed. */
  get cseq(): CSeq {
    const text = this.required('cseq');
    if (text !== this.cseqText || this.cseqValue === undefined) {
      this.cseqValue = parseCSeq(text);
      this.cseqText = text;
    }
    return this.cseqValue;
  }

  /** The top Via (the first element of the first Via header). */
  get topVia(): Via {
    const text = this.required('via');
    if (text !== this.topViaText || this.topViaValue === undefined) {
      const top = text.indexOf(',') >= 0 ? splitHeaderList(text)[0] ?? text : text;
      this.topViaValue = parseVia(top, this.findings);
      this.topViaText = text;
    }
    return this.topViaValue;
  }

  /** All Via elements, top first. */
  get vias(): Via[] {
    if (this.viasValue === undefined || !this.sameValues('via', this.viasTexts)) {
      const texts = this.valuesOf('via');
      const elements = this.getAll('via');
      const vias: Via[] = new Array(elements.length);
      for (let i = 0; i < elements.length; i++) vias[i] = parseVia(elements[i], this.findings);
      this.viasValue = vias;
      this.viasTexts = texts;
    }
    return this.viasValue;
  }

  get from(): NameAddr {
    const text = this.required('from');
    if (text !== this.fromText || this.fromValue === undefined) {
      this.fromValue = parseNameAddr(text, this.findings);
      this.fromText = text;
    }
    return this.fromValue;
  }

  get to(): NameAddr {
    const text = this.required('to');
    if (text !== this.toText || this.toValue === undefined) {
      this.toValue = parseNameAddr(text, this.findings);
      this.toText = text;
    }
    return this.toValue;
  }

  /** The From tag (RFC 3261 §19.3), undefined when absent. */
  get fromTag(): string | undefined {
    return this.from.params.get('tag') ?? undefined;
  }

  /** The To tag (RFC 3261 §19.3), undefined when absent. */
  get toTag(): string | undefined {
    return this.to.params.get('tag') ?? undefined;
  }

  /** Parsed Contact elements (empty when absent). */
  get contacts(): NameAddr[] {
    if (this.contactValue === undefined || !this.sameValues('contact', this.contactTexts)) {
      const texts = this.valuesOf('contact');
      const elements = this.getAll('contact');
      const contacts: NameAddr[] = new Array(elements.length);
      for (let i = 0; i < elements.length; i++) contacts[i] = parseNameAddr(elements[i], this.findings);
      this.contactValue = contacts;
      this.contactTexts = texts;
    }
    return this.contactValue;
  }

  /** Parsed Request-URI. */
  get uri(): Uri {
    const text = this.requestUri;
    if (text !== this.uriText || this.uriValue === undefined) {
      this.uriValue = parseUri(text, this.findings);
      this.uriText = text;
    }
    return this.uriValue;
  }

  /** The method this message is about: the request's own, or the CSeq method of a response. */
  get transactionMethod(): string {
    return this.isRequest ? this.method : this.cseq.method;
  }

  /** First line as written on the wire, without CRLF. */
  get startLine(): string {
    return this.isRequest
      ? this.method + ' ' + this.requestUri + ' ' + this.version
      : this.version + ' ' + this.status + ' ' + this.reason;
  }

  /**
   * A copy to modify and send again: header objects copied (changing one does not change the
   * other message), body shared (Buffers are not modified in place), caches, raw bytes,
   * findings and origin dropped.
   */
  clone(): SipMessage {
    const m = new SipMessage();
    m.method = this.method;
    m.requestUri = this.requestUri;
    m.status = this.status;
    m.reason = this.reason;
    m.version = this.version;
    const hs = this.headers;
    const copy: Header[] = new Array(hs.length);
    for (let i = 0; i < hs.length; i++) copy[i] = { ...hs[i] };
    m.headers = copy;
    m.body = this.body;
    return m;
  }

  /** First value for a look-up key (already lower-cased and expanded). */
  private valueOf(key: string): string | undefined {
    const hs = this.headers;
    for (let i = 0; i < hs.length; i++) if (hs[i].key === key) return hs[i].value;
    return undefined;
  }

  private indexOfKey(key: string): number {
    const hs = this.headers;
    for (let i = 0; i < hs.length; i++) if (hs[i].key === key) return i;
    return -1;
  }

  /** Every raw value for a key, one per header line. */
  private valuesOf(key: string): string[] {
    const out: string[] = [];
    const hs = this.headers;
    for (let i = 0; i < hs.length; i++) if (hs[i].key === key) out.push(hs[i].value);
    return out;
  }

  /** True when the header lines for `key` still have exactly the values in `texts`. */
  private sameValues(key: string, texts: string[] | undefined): boolean {
    if (texts === undefined) return false;
    const hs = this.headers;
    let n = 0;
    for (let i = 0; i < hs.length; i++) {
      if (hs[i].key !== key) continue;
      if (n >= texts.length || hs[i].value !== texts[n]) return false;
      n++;
    }
    return n === texts.length;
  }

  private required(key: string): string {
    const v = this.valueOf(key);
    if (v === undefined) throw missingHeader(key);
    return v;
  }
}

function missingHeader(key: string): SipParseError {
  return new SipParseError(`missing mandatory header ${canonicalName(key)}`, { code: 'ERR_SIP_HEADER' });
}

/**
 * The message model (src/sip/message.ts): header edits keep wire order, parsed accessors follow
 * every change, clones are independent.
 */
import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../src/errors.js';
import { SipMessage } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parse.js';
import { serializeMessage } from '../../src/sip/serialize.js';

const INVITE = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKtop',
  'Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKsecond',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'f: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
  'Date: Sat, 13 Nov 2010 23:29:00 GMT',
  'Content-Length: 0',
];

function invite(): SipMessage {
  return parseMessage(Buffer.from(INVITE.join('\r\n') + '\r\n\r\n'));
}

const names = (m: SipMessage) => m.headers.map((h) => h.name);

describe('header edits keep wire order (RFC 3261 §7.3.1: the order of same-name headers is significant)', () => {
  it('set replaces every occurrence at the place of the first, with its spelling', () => {
    const m = invite();
    m.set('v', 'SIP/2.0/TCP proxy.example.com;branch=z9hG4bKnew');
    expect(names(m)).toEqual(['Via', 'Max-Forwards', 'To', 'f', 'Call-ID', 'CSeq', 'Contact', 'Date', 'Content-Length']);
    expect(m.getAll('via')).toEqual(['SIP/2.0/TCP proxy.example.com;branch=z9hG4bKnew']);
    m.set('From', 'Carol <sip:carol@chicago.example.com>;tag=c1');
    expect(m.headers[3]).toMatchObject({ name: 'f', key: 'from', value: 'Carol <sip:carol@chicago.example.com>;tag=c1' });
  });

  it('set of an absent header appends it with the canonical spelling', () => {
    const m = invite();
    m.set('call-info', '<http://www.example.com/alice/photo.jpg>;purpose=icon');
    expect(m.headers.at(-1)).toMatchObject({ name: 'Call-Info', key: 'call-info' });
  });

  it('append adds after every other header; prepend before the first of its name (a new top Via, §16.6)', () => {
    const m = invite();
    m.append('Record-Route', '<sip:p2.example.com;lr>');
    m.append('record-route', '<sip:p1.example.com;lr>');
    m.prepend('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy');
    expect(names(m).slice(0, 3)).toEqual(['Via', 'Via', 'Via']);
    expect(m.getAll('Via').map((v) => v.split(';branch=')[1])).toEqual(['z9hG4bKproxy', 'z9hG4bKtop', 'z9hG4bKsecond']);
    expect(m.getAll('Record-Route')).toEqual(['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>']);
    expect(names(m).slice(-2)).toEqual(['Record-Route', 'Record-Route']);
  });

  it('prepend of an absent header appends it', () => {
    const m = invite();
    m.prepend('Route', '<sip:p1.example.com;lr>');
    expect(names(m).at(-1)).toBe('Route');
  });

  it('remove drops every occurrence and nothing else', () => {
    const m = invite();
    m.remove('VIA').remove('X-Absent');
    expect(names(m)).toEqual(['Max-Forwards', 'To', 'f', 'Call-ID', 'CSeq', 'Contact', 'Date', 'Content-Length']);
    expect(m.has('via')).toBe(false);
  });
});

describe('parsed accessors follow every change (no stale cache)', () => {
  it('changing the Via changes topVia and vias', () => {
    const m = invite();
    expect(m.topVia.branch).toBe('z9hG4bKtop');
    expect(m.vias).toHaveLength(2);
    m.prepend('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy');
    expect(m.topVia.branch).toBe('z9hG4bKproxy');
    expect(m.vias.map((v) => v.branch)).toEqual(['z9hG4bKproxy', 'z9hG4bKtop', 'z9hG4bKsecond']);
    m.remove('Via');
    m.append('Via', 'SIP/2.0/TCP x.example.com;branch=z9hG4bKx');
    expect(m.topVia.transport).toBe('TCP');
    expect(m.vias).toHaveLength(1);
  });

  it('set on CSeq, From, To and Contact is seen by cseq, fromTag, toTag and contacts', () => {
    const m = invite();
    expect([m.cseq.seq, m.fromTag, m.toTag, m.contacts.length]).toEqual([314159, '1928301774', undefined, 1]);
    m.set('CSeq', '314160 INVITE');
    m.set('From', '<sip:alice@atlanta.example.com>;tag=new');
    m.set('To', '<sip:bob@biloxi.example.com>;tag=bobs');
    m.append('Contact', '<sip:alice@192.0.2.1>');
    expect([m.cseq.seq, m.fromTag, m.toTag, m.contacts.length]).toEqual([314160, 'new', 'bobs', 2]);
  });

  it('editing the headers array or a header value directly is seen too', () => {
    const m = invite();
    expect(m.topVia.host).toBe('pc33.atlanta.example.com');
    m.headers.find((h) => h.key === 'via')!.value = 'SIP/2.0/UDP moved.example.com;branch=z9hG4bKm';
    expect(m.topVia.host).toBe('moved.example.com');
    m.headers.push({ name: 'Contact', key: 'contact', value: '<sip:x@192.0.2.2>' });
    expect(m.contacts).toHaveLength(2);
  });

  it('assigning requestUri re-parses uri', () => {
    const m = invite();
    expect(m.uri.user).toBe('bob');
    m.requestUri = 'sip:carol@chicago.example.com';
    expect(m.uri.user).toBe('carol');
  });

  it('an accessor read twice without a change returns the same parsed object', () => {
    const m = invite();
    expect(m.topVia).toBe(m.topVia);
    expect(m.from).toBe(m.from);
    expect(m.cseq).toBe(m.cseq);
    expect(m.vias).toBe(m.vias);
  });

  it('a missing mandatory header throws SipParseError (ERR_SIP_HEADER) naming it', () => {
    const m = invite().remove('CSeq').remove('To');
    expect(() => m.cseq).toThrow(new SipParseError('missing mandatory header CSeq', { code: 'ERR_SIP_HEADER' }));
    expect(() => m.toTag).toThrow(new SipParseError('missing mandatory header To', { code: 'ERR_SIP_HEADER' }));
    expect(m.callId).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    expect(invite().remove('Call-ID').callId).toBe('');
  });
});

describe('clone', () => {
  it('a clone is independent: header edits on either side do not reach the other', () => {
    const original = invite();
    void original.topVia;
    const copy = original.clone();
    copy.set('Via', 'SIP/2.0/UDP other.example.com;branch=z9hG4bKother');
    copy.headers.find((h) => h.key === 'call-id')!.value = 'changed@example.com';
    copy.requestUri = 'sip:carol@chicago.example.com';
    expect(original.topVia.branch).toBe('z9hG4bKtop');
    expect(original.callId).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    expect(original.requestUri).toBe('sip:bob@biloxi.example.com');
    expect(copy.topVia.branch).toBe('z9hG4bKother');
    original.append('Subject', 'only in the original');
    expect(copy.has('subject')).toBe(false);
  });

  it('a clone keeps start line, headers (spelling included) and body; drops raw bytes, findings and origin', () => {
    const original = parseMessage(Buffer.from(INVITE.join('\n') + '\n\n'));
    expect(original.findings).toHaveLength(1);
    const copy = original.clone();
    expect(copy.startLine).toBe(original.startLine);
    expect(copy.headers).toEqual(original.headers);
    expect(copy.raw).toBeUndefined();
    expect(copy.findings).toEqual([]);
    expect(copy.origin).toBeUndefined();
    expect(serializeMessage(copy).equals(serializeMessage(original))).toBe(true);
  });
});

describe('getAll on list and non-list headers', () => {
  it('a list header (Allow, Supported) is split at commas and trimmed', () => {
    const m = invite().append('Allow', 'INVITE, ACK,CANCEL').append('k', 'timer, 100rel');
    expect(m.getAll('allow')).toEqual(['INVITE', 'ACK', 'CANCEL']);
    expect(m.getAll('Supported')).toEqual(['timer', '100rel']);
  });

  it('a Date header with a comma is not split (RFC 3261 §20.17: rfc1123-date)', () => {
    expect(invite().getAll('Date')).toEqual(['Sat, 13 Nov 2010 23:29:00 GMT']);
  });

  it('WWW-Authenticate with commas between its parameters stays one value per line', () => {
    const m = invite()
      .append('WWW-Authenticate', 'Digest realm="atlanta.example.com", nonce="84a4cc6f", algorithm=MD5')
      .append('WWW-Authenticate', 'Digest realm="b.example.com", nonce="1"');
    expect(m.getAll('www-authenticate')).toHaveLength(2);
  });

  it('an unknown header is kept line by line, unsplit', () => {
    const m = invite().append('X-Thing', 'a, b').append('x-thing', 'c');
    expect(m.getAll('X-THING')).toEqual(['a, b', 'c']);
    expect(m.get('x-thing')).toBe('a, b');
  });

  it('getAll of an absent header is empty', () => {
    expect(invite().getAll('Route')).toEqual([]);
  });
});

describe('transactionMethod (RFC 3261 §17.1.3: a response matches by the CSeq method)', () => {
  it.each([
    ['INVITE sip:b@example.com SIP/2.0', 'CSeq: 1 INVITE', 'INVITE'],
    ['ACK sip:b@example.com SIP/2.0', 'CSeq: 1 ACK', 'ACK'],
    ['SIP/2.0 200 OK', 'CSeq: 2 BYE', 'BYE'],
    ['SIP/2.0 487 Request Terminated', 'CSeq: 1 INVITE', 'INVITE'],
    ['SIP/2.0 200 OK', 'CSeq: 1 CANCEL', 'CANCEL'],
  ])('%s with %s is about %s', (startLine, cseq, method) => {
    const m = parseMessage(Buffer.from(`${startLine}\r\n${cseq}\r\n\r\n`));
    expect(m.transactionMethod).toBe(method);
  });
});

describe('a message built in code', () => {
  it('starts empty, is a request until given a status, and writes a canonical start line', () => {
    const m = new SipMessage();
    m.method = 'OPTIONS';
    m.requestUri = 'sip:carol@chicago.example.com';
    expect([m.isRequest, m.isResponse, m.startLine]).toEqual([true, false, 'OPTIONS sip:carol@chicago.example.com SIP/2.0']);
    const r = new SipMessage();
    r.status = 404;
    r.reason = 'Not Found';
    expect([r.isRequest, r.isResponse, r.startLine]).toEqual([false, true, 'SIP/2.0 404 Not Found']);
  });

  it('append with a compact or lower-case name writes the canonical one (call-id → Call-ID)', () => {
    const m = new SipMessage().append('call-id', 'x@y').append('i', 'z').append('x-asterisk-hangupcause', 'Normal');
    expect(names(m)).toEqual(['Call-ID', 'Call-ID', 'X-Asterisk-Hangupcause']);
    expect(m.getAll('i')).toEqual(['x@y', 'z']);
  });
});

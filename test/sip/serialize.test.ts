/**
 * The serializer (src/sip/serialize.ts): Content-Length made right by default (RFC 3261 §20.14),
 * left alone with `contentLength: 'keep'`, header order and spelling as they are.
 */
import { describe, expect, it } from 'vitest';
import { SipMessage } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parse.js';
import { messageText, serializeMessage } from '../../src/sip/serialize.js';

function bye(): SipMessage {
  const m = new SipMessage();
  m.method = 'BYE';
  m.requestUri = 'sip:alice@192.0.2.1';
  m.append('Via', 'SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds7');
  m.append('Max-Forwards', '70');
  m.append('From', 'Bob <sip:bob@biloxi.example.com>;tag=a6c85cf');
  m.append('To', 'Alice <sip:alice@atlanta.example.com>;tag=1928301774');
  m.append('Call-ID', 'a84b4c76e66710');
  m.append('CSeq', '231 BYE');
  return m;
}

const HEAD = [
  'BYE sip:alice@192.0.2.1 SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds7',
  'Max-Forwards: 70',
  'From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf',
  'To: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710',
  'CSeq: 231 BYE',
].join('\r\n');

describe('Content-Length (RFC 3261 §20.14: MUST over streams, SHOULD over UDP; counts octets)', () => {
  it('auto: a message without Content-Length gets "Content-Length: 0" at the end of the headers', () => {
    expect(serializeMessage(bye()).toString()).toBe(`${HEAD}\r\nContent-Length: 0\r\n\r\n`);
  });

  it('auto: a wrong Content-Length is corrected in place, with its spelling', () => {
    const m = bye().append('Subject', 'x');
    m.headers.splice(2, 0, { name: 'l', key: 'content-length', value: '99' });
    m.body = Buffer.from('hello');
    const text = serializeMessage(m).toString();
    expect(text.split('\r\n')[3]).toBe('l: 5');
    expect(text.match(/^(l|Content-Length):/gm)).toEqual(['l:']);
    expect(text.endsWith('\r\nSubject: x\r\n\r\nhello')).toBe(true);
  });

  it('auto: duplicate Content-Length headers collapse to the first one', () => {
    const m = bye().append('Content-Length', '3').append('Content-Length', '4');
    m.body = Buffer.from('abc');
    expect(serializeMessage(m).toString()).toBe(`${HEAD}\r\nContent-Length: 3\r\n\r\nabc`);
  });

  it("keep: a wrong Content-Length is sent as it is (to reproduce a broken peer)", () => {
    const m = bye().append('Content-Length', '99');
    m.body = Buffer.from('hello');
    expect(serializeMessage(m, { contentLength: 'keep' }).toString()).toBe(`${HEAD}\r\nContent-Length: 99\r\n\r\nhello`);
  });

  it('keep: no Content-Length is added when there is none', () => {
    expect(serializeMessage(bye(), { contentLength: 'keep' }).toString()).toBe(`${HEAD}\r\n\r\n`);
  });

  it('keep: duplicate Content-Length headers are all sent', () => {
    const m = bye().append('Content-Length', '0');
    m.headers.push({ name: 'l', key: 'content-length', value: '0' });
    expect(serializeMessage(m, { contentLength: 'keep' }).toString()).toBe(`${HEAD}\r\nContent-Length: 0\r\nl: 0\r\n\r\n`);
  });

  it('a UTF-8 body is counted in bytes, not characters', () => {
    const m = bye().append('Content-Type', 'text/plain;charset=UTF-8');
    m.body = Buffer.from('会議は3時から', 'utf8');
    const out = serializeMessage(m);
    expect(out.toString()).toContain('\r\nContent-Length: 19\r\n');
    expect(out.subarray(out.length - 19).toString('utf8')).toBe('会議は3時から');
    const back = parseMessage(out);
    expect(back.body.toString('utf8')).toBe('会議は3時から');
  });

  it('UTF-8 header text is written as UTF-8 and the body follows it exactly', () => {
    const m = bye().append('Subject', '日本語').append('Content-Type', 'text/plain');
    m.body = Buffer.from([0x00, 0xff, 0x0d, 0x0a]);
    const out = serializeMessage(m);
    expect(out.subarray(out.length - 4)).toEqual(Buffer.from([0x00, 0xff, 0x0d, 0x0a]));
    expect(parseMessage(out).get('subject')).toBe('日本語');
  });
});

describe('header order and spelling', () => {
  it('headers go out in their order, names as given, separator ": " for built headers', () => {
    const m = new SipMessage();
    m.status = 180;
    m.reason = 'Ringing';
    m.append('v', 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1').append('X-B', '2').append('X-A', '1');
    expect(serializeMessage(m).toString()).toBe(
      'SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nX-B: 2\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('a parsed header keeps the separator it came with, even after its value is changed', () => {
    const m = parseMessage(Buffer.from('SIP/2.0 200 OK\r\nTo:<sip:b@example.com>\r\nCSeq: 1 BYE\r\n\r\n'));
    m.headers[0].value = '<sip:b@example.com>;tag=x';
    expect(serializeMessage(m, { contentLength: 'keep' }).toString()).toBe(
      'SIP/2.0 200 OK\r\nTo:<sip:b@example.com>;tag=x\r\nCSeq: 1 BYE\r\n\r\n',
    );
  });

  it('messageText gives the received bytes for a parsed message, the serialized ones for a built one', () => {
    const raw = Buffer.from('\r\nOPTIONS sip:a@example.com SIP/2.0\r\nCSeq:  1 OPTIONS \r\n\r\n');
    expect(messageText(parseMessage(raw))).toBe(raw.toString());
    expect(messageText(bye())).toBe(`${HEAD}\r\nContent-Length: 0\r\n\r\n`);
  });
});

import { describe, expect, it } from 'vitest';
import { formatLadder, formatOffset, ladderLines, ladderRows, shortCallId } from '../../src/report/ladder.js';
import { createRedactor } from '../../src/report/redact.js';
import { AUTHORIZATION, BUSY, busyLadder, entry, INVITE, PASSWORD, sip } from './fixtures.js';

const redact = createRedactor([PASSWORD]);

describe('ladderLines', () => {
  it('draws one aligned line per message: offset, party, arrow, remote, protocol, start line, short Call-ID', () => {
    expect(ladderLines(busyLadder(), { redact })).toEqual([
      '+0.000s  alice → 127.0.0.1:5070  UDP  INVITE sip:bob@127.0.0.1:5070 SIP/2.0  [a84b4c76…]',
      '+0.004s  alice ← 127.0.0.1:5070  UDP  SIP/2.0 100 Trying                     [a84b4c76…]',
      '+0.120s  alice ← 127.0.0.1:5070  UDP  SIP/2.0 180 Ringing                    [a84b4c76…]',
      '+1.350s  alice ← 127.0.0.1:5070  UDP  SIP/2.0 486 Busy Here                  [a84b4c76…]',
      '+1.352s  alice → 127.0.0.1:5070  UDP  ACK sip:bob@127.0.0.1:5070 SIP/2.0     [a84b4c76…]',
    ]);
  });

  it('uses ASCII arrows and ellipsis when asked', () => {
    const [first, second] = ladderLines(busyLadder(), { ascii: true });
    expect(first).toContain('alice -> 127.0.0.1:5070');
    expect(first).toContain('[a84b4c76...]');
    expect(second).toContain('alice <- 127.0.0.1:5070');
  });

  it('puts messages in time order, relative to the earliest, even when captured out of order', () => {
    const [invite, trying, , busy] = busyLadder();
    const lines = ladderLines([busy!, trying!, invite!]);
    expect(lines.map((l) => l.slice(0, 7))).toEqual(['+0.000s', '+0.004s', '+1.350s']);
    expect(lines[0]).toContain('INVITE');
  });

  it('is empty for an empty ladder', () => {
    expect(ladderLines([])).toEqual([]);
    expect(formatLadder([])).toBe('');
  });
});

describe('formatLadder', () => {
  const text = formatLadder(busyLadder(), { redact });

  it('has the summary lines, a separator, then each full message under its header line', () => {
    const lines = text.split('\n');
    expect(lines[5]).toBe('─'.repeat(80));
    expect(lines[6]).toBe(`--- #1 +0.000s alice → 127.0.0.1:5070 UDP (local 127.0.0.1:5060, ${INVITE.length} bytes) ---`);
    expect(lines[7]).toBe('INVITE sip:bob@127.0.0.1:5070 SIP/2.0');
    expect(text).toContain(`--- #4 +1.350s alice ← 127.0.0.1:5070 UDP (local 127.0.0.1:5060, ${BUSY.length} bytes) ---\nSIP/2.0 486 Busy Here\n`);
    expect(text.match(/^--- #\d /gm)).toHaveLength(5);
  });

  it('keeps every line of every message, the SDP body included, with \\n line endings', () => {
    expect(text).not.toContain('\r');
    for (const line of BUSY.toString('utf8').split('\r\n').filter((l) => l !== '')) expect(text).toContain(line);
    expect(text).toContain('m=audio 49170 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n');
    expect(text.endsWith('Content-Length: 0\n')).toBe(true);
  });

  it('redacts the password in every form and keeps the Authorization header', () => {
    expect(text).not.toContain('sw0rd');
    expect(text).toContain('X-Debug: pass=*** quoted="***" uri=sip:alice:***@example.com');
    expect(text).toContain(AUTHORIZATION);
  });

  it('can leave out the full messages', () => {
    expect(formatLadder(busyLadder(), { full: false }).split('\n')).toHaveLength(6);
  });
});

describe('ladderRows', () => {
  it('gives the columns an HTML ladder needs: from/to, label, times, Call-ID', () => {
    const rows = ladderRows(busyLadder(), { redact });
    expect(rows.map((r) => [r.index, r.offsetMs, r.from, r.to, r.kind, r.label])).toEqual([
      [1, 0, 'alice', '127.0.0.1:5070', 'request', 'INVITE sip:bob@127.0.0.1:5070 SIP/2.0'],
      [2, 4, '127.0.0.1:5070', 'alice', 'response', 'SIP/2.0 100 Trying'],
      [3, 120, '127.0.0.1:5070', 'alice', 'response', 'SIP/2.0 180 Ringing'],
      [4, 1350, '127.0.0.1:5070', 'alice', 'response', 'SIP/2.0 486 Busy Here'],
      [5, 1352, 'alice', '127.0.0.1:5070', 'request', 'ACK sip:bob@127.0.0.1:5070 SIP/2.0'],
    ]);
    expect(rows[0]).toMatchObject({ method: 'INVITE', callId: 'a84b4c76e66710@127.0.0.1', callIdShort: 'a84b4c76…' });
    expect(rows[3]).toMatchObject({ status: 486, bytes: BUSY.length, local: '127.0.0.1:5060', protocol: 'UDP' });
    expect(rows[0]!.text).toContain('\r\n'); // rows keep the line endings of the wire
    expect(rows[0]!.text).not.toContain('sw0rd');
  });

  it('reads the compact Call-ID header `i` (RFC 3261 §7.3.3)', () => {
    const [row] = ladderRows([entry(0, 'in', sip(['OPTIONS sip:a@b SIP/2.0', 'i: short-id']))]);
    expect(row).toMatchObject({ callId: 'short-id', callIdShort: 'short-id', method: 'OPTIONS' });
  });

  it('redacts a password in the request-URI userinfo (RFC 3261 §19.1.1) of the label', () => {
    const bytes = sip([`REGISTER sip:alice:${PASSWORD}@example.com SIP/2.0`, 'Call-ID: x']);
    const [row] = ladderRows([entry(0, 'out', bytes)], { redact });
    expect(row!.label).toBe('REGISTER sip:alice:***@example.com SIP/2.0');
  });

  it('describes keep-alives (RFC 5626 §3.5.1), binary data and garbage instead of failing', () => {
    const rows = ladderRows([
      entry(0, 'out', Buffer.from('\r\n\r\n')),
      entry(1, 'in', Buffer.from('\r\n')),
      entry(2, 'in', Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42])),
      entry(3, 'in', Buffer.from('HELLO\r\n')),
      entry(4, 'in', Buffer.alloc(0)),
    ]);
    expect(rows.map((r) => [r.kind, r.label])).toEqual([
      ['keep-alive', '(keep-alive CRLFCRLF)'],
      ['keep-alive', '(keep-alive CRLF)'],
      ['binary', '(binary, 8 bytes)'],
      ['other', 'HELLO'],
      ['other', '(empty)'],
    ]);
    expect(rows.every((r) => r.callId === undefined)).toBe(true);
  });
});

describe('helpers', () => {
  it('formatOffset gives seconds with milliseconds', () => {
    expect(formatOffset(0)).toBe('+0.000s');
    expect(formatOffset(1234)).toBe('+1.234s');
    expect(formatOffset(61_000.4)).toBe('+61.000s');
  });

  it('shortCallId keeps short ids whole', () => {
    expect(shortCallId('abc')).toBe('abc');
    expect(shortCallId('0123456789a')).toBe('0123456789a');
    expect(shortCallId('0123456789ab')).toBe('01234567…');
    expect(shortCallId('0123456789ab', true)).toBe('01234567...');
  });
});

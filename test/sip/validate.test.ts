/**
 * Messages that parse but must be rejected ({@link essentialProblem}: the receive path answers
 * 400 or drops them) and the strict validator's findings ({@link validateMessage}).
 */
import { describe, expect, it } from 'vitest';
import { SipMessage } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parse.js';
import { essentialProblem, validateMessage } from '../../src/sip/validate.js';
import { loadSeedFixtures } from '../fixtures/load-fixture.js';

const SDP = 'v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n';

/** RFC 3261 §24.2 F1, with a real body: nothing to complain about. */
const INVITE = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
  'Content-Type: application/sdp',
  `Content-Length: ${SDP.length}`,
];

/** The 200 OK to it (RFC 3261 §24.2 F9 shape). */
const OK = [
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1',
  'To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:bob@192.0.2.4>',
  'Content-Length: 0',
];

type Edit = { drop?: string[]; replace?: Record<string, string>; add?: string[]; startLine?: string };

/** The message with header lines dropped (by name), values replaced, lines added at the end. */
function edited(lines: string[], edit: Edit, body: string): SipMessage {
  const name = (l: string) => l.slice(0, l.indexOf(':')).toLowerCase();
  const out = [edit.startLine ?? lines[0]];
  for (const l of lines.slice(1)) {
    const n = name(l);
    if (edit.drop?.some((d) => d.toLowerCase() === n)) continue;
    const r = Object.entries(edit.replace ?? {}).find(([k]) => k.toLowerCase() === n);
    out.push(r ? `${l.slice(0, l.indexOf(':'))}: ${r[1]}` : l);
  }
  out.push(...(edit.add ?? []));
  return parseMessage(Buffer.from(out.join('\r\n') + '\r\n\r\n' + body));
}
const invite = (edit: Edit = {}, body = SDP) => edited(INVITE, edit, body);
const ok = (edit: Edit = {}, body = '') => edited(OK, edit, body);

const violations = (m: SipMessage) => validateMessage(m).filter((f) => f.severity === 'violation');

describe('clean messages', () => {
  it('an RFC 3261 §24.2 INVITE with SDP has no essential problem and zero findings', () => {
    expect(essentialProblem(invite())).toBeUndefined();
    expect(validateMessage(invite())).toEqual([]);
  });

  it('its 200 OK has zero findings', () => {
    expect(essentialProblem(ok())).toBeUndefined();
    expect(validateMessage(ok())).toEqual([]);
  });

  it('a 100 Trying without To tag is fine (RFC 3261 §8.2.6.2: a tag MAY be present)', () => {
    expect(violations(ok({ startLine: 'SIP/2.0 100 Trying', replace: { To: 'Bob <sip:bob@biloxi.example.com>' } }))).toEqual([]);
  });
});

/** Parses, but the receive path must reject it: [case, message, exact problem]. */
const MUST_REJECT: Array<[string, SipMessage, string]> = [
  ['a request without Call-ID', invite({ drop: ['Call-ID'] }), 'missing Call-ID header'],
  ['a request with an empty Call-ID (callid = word ["@" word])', invite({ replace: { 'Call-ID': '' } }), 'empty Call-ID header'],
  ['a request without CSeq', invite({ drop: ['CSeq'] }), 'missing CSeq header'],
  [
    'a request whose CSeq method is not the request method (RFC 3261 §8.1.1.5)',
    invite({ replace: { CSeq: '314159 BYE' } }),
    'CSeq method BYE does not match request method INVITE',
  ],
  [
    'a CSeq whose number is not a number',
    invite({ replace: { CSeq: 'abc INVITE' } }),
    'CSeq "abc INVITE" does not start with a sequence number',
  ],
  [
    'a CSeq number of 2**31 (MUST be less than 2**31, §8.1.1.5)',
    invite({ replace: { CSeq: '2147483648 INVITE' } }),
    'CSeq sequence number 2147483648 is too large: it MUST be less than 2**31 (RFC 3261 §8.1.1.5)',
  ],
  ['a CSeq without method', invite({ replace: { CSeq: '1' } }), 'CSeq "1" has no method'],
  ['a request without Via', invite({ drop: ['Via'] }), 'missing Via header'],
  ['a request without From', invite({ drop: ['From'] }), 'missing From header'],
  ['a request without To', invite({ drop: ['To'] }), 'missing To header'],
  ['a response without Via', ok({ drop: ['Via'] }), 'missing Via header'],
  ['a response without CSeq', ok({ drop: ['CSeq'] }), 'missing CSeq header'],
];

describe('messages that parse but must be rejected (essentialProblem, RFC 3261 §8.1.1, §8.2)', () => {
  it.each(MUST_REJECT)('%s', (_, msg, problem) => {
    expect(essentialProblem(msg)).toBe(problem);
    expect(validateMessage(msg)[0]).toEqual({
      code: 'essential-header',
      message: problem,
      severity: 'violation',
      rfc: 'RFC 3261 §8.1.1',
    });
  });
});

/** [case, message, the violation codes validateMessage reports, in order]. */
const VIOLATIONS: Array<[string, SipMessage, string[]]> = [
  ['a request MUST carry Max-Forwards (§8.1.1.6)', invite({ drop: ['Max-Forwards'] }), ['missing-max-forwards']],
  ['Max-Forwards is an integer 0-255: 256 is not (§20.22)', invite({ replace: { 'Max-Forwards': '256' } }), ['bad-max-forwards']],
  ['Max-Forwards "seventy" is not an integer', invite({ replace: { 'Max-Forwards': 'seventy' } }), ['bad-max-forwards']],
  ['an INVITE MUST carry a Contact (§8.1.1.8)', invite({ drop: ['Contact'] }), ['missing-contact']],
  [
    'the UAC MUST add a From tag (§8.1.1.3)',
    invite({ replace: { From: 'Alice <sip:alice@atlanta.example.com>' } }),
    ['missing-from-tag'],
  ],
  ['a 2xx MUST carry a To tag (§8.2.6.2)', ok({ replace: { To: 'Bob <sip:bob@biloxi.example.com>' } }), ['missing-to-tag']],
  [
    'a 180 MUST carry a To tag too: only 100 is exempt (§8.2.6.2)',
    ok({ startLine: 'SIP/2.0 180 Ringing', replace: { To: 'Bob <sip:bob@biloxi.example.com>' } }),
    ['missing-to-tag'],
  ],
  [
    'the branch MUST start with the magic cookie z9hG4bK (§8.1.1.7)',
    invite({ replace: { Via: 'SIP/2.0/UDP pc33.atlanta.example.com;branch=776asdhds' } }),
    ['branch-cookie'],
  ],
  ['the top Via MUST carry a branch (§8.1.1.7)', invite({ replace: { Via: 'SIP/2.0/UDP pc33.atlanta.example.com' } }), ['missing-branch']],
  [
    'Content-Length MUST be the size of the body: more bytes than it says (§20.14)',
    invite({}, SDP + 'extra'),
    ['content-length-mismatch'],
  ],
  [
    'a body without Content-Type (§20.15)',
    invite({ drop: ['Content-Type'] }),
    ['missing-content-type'],
  ],
  [
    'Content-Length more than once (§7.3.1: not a list header)',
    ok({ add: ['Content-Length: 0'] }),
    ['duplicate-content-length'],
  ],
  [
    'an essential problem also shows up as a violation',
    invite({ drop: ['Call-ID', 'Max-Forwards'] }),
    ['essential-header', 'missing-max-forwards'],
  ],
];

describe('the strict validator (validateMessage)', () => {
  it.each(VIOLATIONS)('%s', (_, msg, expected) => {
    expect(violations(msg).map((f) => f.code)).toEqual(expected);
    for (const f of violations(msg)) expect(f.rfc).toMatch(/^RFC 3261 §/);
  });

  it('the Content-Length mismatch names both numbers', () => {
    const [f] = violations(invite({}, SDP + 'extra'));
    expect(f.message).toBe(`Content-Length ${SDP.length} but 5 bytes after the ${SDP.length}-byte body were ignored`);
  });

  it('a built message whose Content-Length does not match its body', () => {
    const m = ok();
    m.body = Buffer.from('hello');
    m.set('Content-Type', 'text/plain');
    expect(violations(m)).toEqual([
      {
        code: 'content-length-mismatch',
        message: 'Content-Length 0 but body is 5 bytes',
        severity: 'violation',
        rfc: 'RFC 3261 §20.14',
      },
    ]);
  });

  it('quirks the parser tolerated are reported after the violations', () => {
    const m = parseMessage(Buffer.from([...INVITE.slice(0, -2), 'Content-Length: 0'].join('\n') + '\n\n'));
    expect(validateMessage(m).map((f) => [f.code, f.severity])).toEqual([['bare-lf', 'quirk']]);
  });

  it('seed 3.5.3: the PBX\'s 486 without To tag is flagged', () => {
    const busy = loadSeedFixtures('000').find((f) => f.entry.section === '3.5.3')!;
    const msg = parseMessage(busy.bytes);
    expect(essentialProblem(msg)).toBeUndefined();
    expect(violations(msg).map((f) => f.code)).toEqual(['missing-to-tag']);
  });

  it('every seed message is processable (essentialProblem is undefined)', () => {
    for (const seed of ['000', '003'] as const) {
      for (const f of loadSeedFixtures(seed)) expect(essentialProblem(parseMessage(f.bytes)), f.entry.file).toBeUndefined();
    }
  });
});

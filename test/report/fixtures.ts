/**
 * Hand-built results for the reporter tests: a passing call, a call that failed on a 486
 * (INVITE with digest credentials, 100, 180, 486, ACK), a harness error and a skipped test.
 */
import type { LadderEntry, RunResult, TestResult } from '../../src/scenario/result.js';

/** 2025-01-15T10:00:00.000Z */
export const T0 = Date.UTC(2025, 0, 15, 10, 0, 0);

/** The password the failing test used. It contains characters that get escaped or encoded. */
export const PASSWORD = 'sw0rd"fish/@9';
/** Its forms on the wire: quoted-string (quoted-pair for `"`) and percent-encoded (lower case). */
export const PASSWORD_QUOTED = '"sw0rd\\"fish/@9"';
export const PASSWORD_URLENCODED = 'sw0rd%22fish%2f%409';

export const ALICE = '127.0.0.1:5060';
export const SUT = '127.0.0.1:5070';
export const CALL_ID = 'a84b4c76e66710@127.0.0.1';

/** A SIP message with CRLF line endings and a correct Content-Length. */
export function sip(head: string[], body = ''): Buffer {
  const bodyBytes = Buffer.from(body, 'utf8');
  return Buffer.concat([
    Buffer.from([...head, `Content-Length: ${bodyBytes.length}`, '', ''].join('\r\n'), 'utf8'),
    bodyBytes,
  ]);
}

export function entry(
  offsetMs: number,
  direction: 'in' | 'out',
  bytes: Buffer,
  over: Partial<LadderEntry> = {},
): LadderEntry {
  return { at: T0 + 1000 + offsetMs, direction, party: 'alice', protocol: 'UDP', local: ALICE, remote: SUT, bytes, ...over };
}

const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 49170 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

const DIALOG = [
  'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK776asdhds;rport',
  'From: "Alice" <sip:alice@127.0.0.1:5060>;tag=1928301774',
];

export const AUTHORIZATION =
  'Authorization: Digest username="alice", realm="sipwright.test", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
  'uri="sip:bob@127.0.0.1:5070", response="6629fae49393a05397450978507c4ef1", algorithm=MD5';

export const INVITE = sip(
  [
    'INVITE sip:bob@127.0.0.1:5070 SIP/2.0',
    DIALOG[0]!,
    'Max-Forwards: 70',
    'To: <sip:bob@127.0.0.1:5070>',
    DIALOG[1]!,
    `Call-ID: ${CALL_ID}`,
    'CSeq: 2 INVITE',
    'Contact: <sip:alice@127.0.0.1:5060>',
    AUTHORIZATION,
    `X-Debug: pass=${PASSWORD} quoted=${PASSWORD_QUOTED} uri=sip:alice:${PASSWORD_URLENCODED}@example.com`,
    'Content-Type: application/sdp',
  ],
  SDP,
);

function response(status: string, toTag = ''): Buffer {
  return sip([
    `SIP/2.0 ${status}`,
    // RFC 3581 §4: the server fills in rport and adds received.
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK776asdhds;rport=5060;received=127.0.0.1',
    `To: <sip:bob@127.0.0.1:5070>${toTag}`,
    DIALOG[1]!,
    `Call-ID: ${CALL_ID}`,
    'CSeq: 2 INVITE',
  ]);
}

export const TRYING = response('100 Trying');
export const RINGING = response('180 Ringing', ';tag=a6c85cf');
export const BUSY = response('486 Busy Here', ';tag=a6c85cf');
/** RFC 3261 §17.1.1.3: the ACK for a non-2xx has the branch of the INVITE and the To tag of the response. */
export const ACK = sip([
  'ACK sip:bob@127.0.0.1:5070 SIP/2.0',
  DIALOG[0]!,
  'Max-Forwards: 70',
  'To: <sip:bob@127.0.0.1:5070>;tag=a6c85cf',
  DIALOG[1]!,
  `Call-ID: ${CALL_ID}`,
  'CSeq: 2 ACK',
]);

export function busyLadder(): LadderEntry[] {
  return [
    entry(0, 'out', INVITE),
    entry(4, 'in', TRYING),
    entry(120, 'in', RINGING),
    entry(1350, 'in', BUSY),
    entry(1352, 'out', ACK),
  ];
}

export function passedTest(): TestResult {
  return {
    suite: 'basic',
    name: 'Basic call',
    file: 'basic/uac-call.yaml',
    verdict: 'passed',
    startedAt: T0,
    durationMs: 1234,
    ladder: [entry(0, 'out', INVITE), entry(30, 'in', response('200 OK', ';tag=99'))],
    findings: [],
    secrets: [],
  };
}

export function failedTest(): TestResult {
  return {
    suite: 'basic',
    name: 'Busy callee',
    file: 'basic/uac-busy.yaml',
    verdict: 'failed',
    startedAt: T0 + 1000,
    durationMs: 1352,
    failure: {
      message: 'expected 200, received 486 Busy Here',
      step: 'expect: 200',
      pos: { file: 'basic/uac-busy.yaml', line: 14, column: 7 },
      expected: '200',
      received: '486 Busy Here',
      header: 'To',
    },
    ladder: busyLadder(),
    findings: [
      {
        code: 'contact-missing',
        message: '180 Ringing creates an early dialog but has no Contact header',
        severity: 'violation',
        rfc: 'RFC 3261 §12.1.1',
      },
    ],
    secrets: [PASSWORD],
  };
}

export function errorTest(): TestResult {
  return {
    suite: 'transport',
    name: 'TCP bind',
    file: 'transport/tcp-bind.yaml',
    verdict: 'error',
    startedAt: T0 + 2500,
    durationMs: 12,
    error: {
      message: 'cannot bind 127.0.0.1:5060/TCP: address already in use',
      code: 'ERR_TRANSPORT_BIND',
      stack:
        'SipwrightError: cannot bind 127.0.0.1:5060/TCP: address already in use\n' +
        '    at TcpTransport.listen (src/transport/tcp.ts:88:13)',
    },
    ladder: [],
    findings: [],
    secrets: [],
  };
}

export function skippedTest(): TestResult {
  return {
    suite: 'transport',
    name: 'TLS call',
    file: 'transport/tls.yaml',
    verdict: 'skipped',
    startedAt: T0 + 2600,
    durationMs: 0,
    skipReason: 'interrupted',
    ladder: [],
    findings: [],
    secrets: [],
  };
}

export function sampleRun(over: Partial<RunResult> = {}): RunResult {
  return {
    startedAt: T0,
    durationMs: 2500,
    tests: [passedTest(), failedTest(), errorTest(), skippedTest()],
    interrupted: false,
    ...over,
  };
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ScenarioError, UsageError } from '../../src/errors.js';
import { discoverScenarios } from '../../src/scenario/discover.js';
import { parseDuration } from '../../src/scenario/duration.js';
import { loadScenario, loadScenarioText } from '../../src/scenario/loader.js';
import { DEFAULT_AUTO, type PartySpec, type Scenario, type Step } from '../../src/scenario/model.js';

const GOOD = fileURLToPath(new URL('../fixtures/scenarios/good/', import.meta.url));
/** The fixture path as a user in the repository root would type it. */
const good = (name: string) => relative(process.cwd(), join(GOOD, name));

/** Position in `t.yaml`. */
const at = (line: number, column: number, file = 't.yaml') => ({ file, line, column });

/** Strip the common indentation of a template literal (and its first and last newline). */
function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').replace(/\n\s*$/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n') + '\n';
}

/**
 * Steps under a fixed 3-line header (the party has credentials so `auth` may be used):
 * the first step item is at line 4, column 5.
 */
function loadSteps(steps: string, knownVars?: string[]): Step[] {
  const text = `name: t\ncredentials: { username: u, password: "\${env.P}" }\nsteps:\n${dedent(steps).replace(/^/gm, '  ')}`;
  return loadScenarioText(text, 't.yaml', { knownVars }).steps;
}

// [case, steps YAML (first item at 4:5), the model produced]
const STEP_CASES: Array<[string, string, Step[]]> = [
  [
    'send: METHOD is a send-request with every option',
    `
    - send: INVITE
      uri: "sip:\${target}"
      from: '"PBX" <sip:0312123434@x>'
      to: <sip:bob@x>
      headers: { Alert-Info: "<http://x/1>", Route: ["<sip:a>", "<sip:b>"], Expires: 60 }
      sdp: offer
      auth: true
      party: uac
      call: leg1
    `,
    [
      {
        kind: 'send-request', pos: at(4, 5), party: 'uac', call: 'leg1', method: 'INVITE', uri: 'sip:${target}',
        from: '"PBX" <sip:0312123434@x>', to: '<sip:bob@x>',
        headers: [['Alert-Info', '<http://x/1>'], ['Route', '<sip:a>'], ['Route', '<sip:b>'], ['Expires', '60']],
        body: { kind: 'sdp-offer' }, auth: true,
      },
    ],
  ],
  [
    'send: METHOD with nothing else defaults headers to none and auth to false',
    '- send: OPTIONS',
    [{ kind: 'send-request', pos: at(4, 5), method: 'OPTIONS', headers: [], auth: false }],
  ],
  [
    'a text body carries its content-type',
    '- { send: MESSAGE, body: "hello", content-type: text/plain }',
    [{ kind: 'send-request', pos: at(4, 5), method: 'MESSAGE', headers: [], body: { kind: 'text', text: 'hello', contentType: 'text/plain' }, auth: false }],
  ],
  [
    'send: CODE is a send-response with reason, headers, body and the method it answers',
    `
    - send: 486
      reason: Busy Here
      headers: { Retry-After: "60" }
      to: INVITE
    - send: "200"
      sdp: answer
    `,
    [
      { kind: 'send-response', pos: at(4, 5), status: 486, reason: 'Busy Here', headers: [['Retry-After', '60']], to: 'INVITE' },
      { kind: 'send-response', pos: at(8, 5), status: 200, headers: [], body: { kind: 'sdp-answer' } },
    ],
  ],
  [
    'send: raw keeps the text as written, with its destination',
    `
    - send: raw
      dest: "127.0.0.1:5060"
      raw: |
        OPTIONS sip:x SIP/2.0
        Max-Forwards: 70
    `,
    [{ kind: 'send-raw', pos: at(4, 5), dest: '127.0.0.1:5060', raw: 'OPTIONS sip:x SIP/2.0\nMax-Forwards: 70\n' }],
  ],
  [
    'expect: CODE with header checks (shorthands and operators), sdp checks and captures',
    `
    - expect: 200
      optional: true
      timeout: 5s
      headers:
        Contact: present
        X-Foo: absent
        Server: exact text
        Expires: { gte: 60, lte: "3600" }
        From: { matches: '<sip:0312345678@' }
        Alert-Info: { contains: "0312345678", present: true }
        Max-Forwards: 70
        X-Gone: { present: false }
      sdp: { present: true, codecs: [PCMU, telephone-event], direction: sendrecv, port: nonzero }
      capture:
        remote_tag: { from: To, param: tag }
        ext: { from: Contact, regex: 'sip:(\\d+)@' }
        code: status
    `,
    [
      {
        kind: 'expect-response', pos: at(4, 5), status: [200], optional: true, timeoutMs: 5000,
        headers: [
          { name: 'Contact', op: 'present', pos: at(8, 7) },
          { name: 'X-Foo', op: 'absent', pos: at(9, 7) },
          { name: 'Server', op: 'equals', value: 'exact text', pos: at(10, 7) },
          { name: 'Expires', op: 'gte', value: '60', pos: at(11, 18) },
          { name: 'Expires', op: 'lte', value: '3600', pos: at(11, 27) },
          { name: 'From', op: 'matches', value: '<sip:0312345678@', pos: at(12, 15) },
          { name: 'Alert-Info', op: 'contains', value: '0312345678', pos: at(13, 21) },
          { name: 'Alert-Info', op: 'present', pos: at(13, 45) },
          { name: 'Max-Forwards', op: 'equals', value: '70', pos: at(14, 7) },
          { name: 'X-Gone', op: 'absent', pos: at(15, 17) },
        ],
        sdp: { present: true, codecs: ['PCMU', 'telephone-event'], direction: 'sendrecv', portNonZero: true, pos: at(16, 5) },
        capture: [
          { variable: 'remote_tag', from: 'To', param: 'tag', pos: at(18, 7) },
          { variable: 'ext', from: 'Contact', regex: 'sip:(\\d+)@', pos: at(19, 7) },
          { variable: 'code', from: 'status', pos: at(20, 7) },
        ],
      },
    ],
  ],
  [
    'expect takes a list of codes and classes; a bare expect is required, not optional',
    `
    - expect: [180, 183]
    - expect: 2XX
    - { expect: 4xx, sdp: false }
    `,
    [
      { kind: 'expect-response', pos: at(4, 5), status: [180, 183], optional: false, headers: [], capture: [] },
      { kind: 'expect-response', pos: at(5, 5), status: ['2xx'], optional: false, headers: [], capture: [] },
      { kind: 'expect-response', pos: at(6, 5), status: ['4xx'], optional: false, headers: [], sdp: { present: false, pos: at(6, 20) }, capture: [] },
    ],
  ],
  [
    'expect: METHOD is an expect-request with the same options',
    `
    - expect: INVITE
      timeout: 30s
      sdp: true
      capture: { caller: { from: From, regex: 'sip:([^@]+)@' } }
      party: uac
    `,
    [
      {
        kind: 'expect-request', pos: at(4, 5), party: 'uac', method: 'INVITE', optional: false, timeoutMs: 30_000, headers: [],
        sdp: { present: true, pos: at(6, 5) }, capture: [{ variable: 'caller', from: 'From', regex: 'sip:([^@]+)@', pos: at(7, 16) }],
      },
    ],
  ],
  [
    'auth bare, or with its own credentials',
    `
    - auth
    - auth: { credentials: { username: bob, password: secret, realm: example.com } }
    - { auth: , call: leg2 }
    `,
    [
      { kind: 'auth', pos: at(4, 5) },
      { kind: 'auth', pos: at(5, 5), credentials: { username: 'bob', password: 'secret', realm: 'example.com' } },
      { kind: 'auth', pos: at(6, 5), call: 'leg2' },
    ],
  ],
  [
    'pause takes units or seconds; cancel and hangup are bare words or hangup has a timeout',
    `
    - pause: 2s
    - pause: 0.5
    - pause: 250ms
    - cancel
    - hangup
    - hangup: { timeout: 5s }
    `,
    [
      { kind: 'pause', pos: at(4, 5), ms: 2000 },
      { kind: 'pause', pos: at(5, 5), ms: 500 },
      { kind: 'pause', pos: at(6, 5), ms: 250 },
      { kind: 'cancel', pos: at(7, 5) },
      { kind: 'hangup', pos: at(8, 5) },
      { kind: 'hangup', pos: at(9, 5), timeoutMs: 5000 },
    ],
  ],
  [
    'register defaults expires to 3600 and expect to 200; every option is taken',
    `
    - register
    - register:
        uri: "sip:\${target}"
        aor: sip:alice@example.com
        expires: 120
        credentials: { username: alice, password: "\${env.ALICE}" }
        expect: [200, 202]
        timeout: 3s
        headers: { User-Agent: sipwright }
    `,
    [
      { kind: 'register', pos: at(4, 5), expires: 3600, expect: [200], headers: [] },
      {
        kind: 'register', pos: at(5, 5), uri: 'sip:${target}', aor: 'sip:alice@example.com', expires: 120,
        credentials: { username: 'alice', password: '${env.ALICE}' }, expect: [200, 202], timeoutMs: 3000, headers: [['User-Agent', 'sipwright']],
      },
    ],
  ],
  [
    'unregister bare or with options; refresh with every or margin, in seconds',
    `
    - unregister
    - unregister: { uri: "sip:r", aor: "sip:a@r", expect: 2xx, timeout: 1s }
    - refresh: { every: 20m }
    - refresh: { margin: 15 }
    `,
    [
      { kind: 'unregister', pos: at(4, 5), expect: [200] },
      { kind: 'unregister', pos: at(5, 5), uri: 'sip:r', aor: 'sip:a@r', expect: ['2xx'], timeoutMs: 1000 },
      { kind: 'refresh', pos: at(6, 5), everyS: 1200 },
      { kind: 'refresh', pos: at(7, 5), marginS: 15 },
    ],
  ],
  [
    'parallel branches keep their steps and positions; party and call are inherited',
    `
    - parallel:
        - - send: OPTIONS
          - expect: 200
        - - pause: 1s
      call: leg1
    `,
    [
      {
        kind: 'parallel', pos: at(4, 5), call: 'leg1',
        branches: [
          [
            { kind: 'send-request', pos: at(5, 11), call: 'leg1', method: 'OPTIONS', headers: [], auth: false },
            { kind: 'expect-response', pos: at(6, 11), call: 'leg1', status: [200], optional: false, headers: [], capture: [] },
          ],
          [{ kind: 'pause', pos: at(7, 11), call: 'leg1', ms: 1000 }],
        ],
      },
    ],
  ],
  [
    'parallel with count makes count copies of its steps',
    '- parallel: { count: 3, steps: [ { pause: 1s } ] }',
    [
      {
        kind: 'parallel', pos: at(4, 5),
        branches: [1, 2, 3].map(() => [{ kind: 'pause', pos: at(4, 36), ms: 1000 }] as Step[]),
      },
    ],
  ],
  [
    'repeat runs its steps count times; set holds templates',
    `
    - repeat:
        count: 2
        steps:
          - set: { n: "\${iteration}", uri: "sip:\${n}@x" }
          - send: OPTIONS
            uri: "\${uri}"
      party: uac
    `,
    [
      {
        kind: 'repeat', pos: at(4, 5), party: 'uac', count: 2,
        steps: [
          { kind: 'set', pos: at(7, 11), party: 'uac', vars: { n: '${iteration}', uri: 'sip:${n}@x' } },
          { kind: 'send-request', pos: at(8, 11), party: 'uac', method: 'OPTIONS', uri: '${uri}', headers: [], auth: false },
        ],
      },
    ],
  ],
];

describe('loader: every step kind loads into the model', () => {
  it.each(STEP_CASES)('%s', (_name, yaml, expected) => {
    expect(loadSteps(yaml)).toEqual(expected);
  });
});

describe('loader: the scenario and its parties', () => {
  const uacParty = (pos = at(1, 1)): PartySpec => ({ name: 'uac', role: 'uac', auto: { ...DEFAULT_AUTO }, pos });

  it('applies the defaults: one uac party, 10 s timeout, no tags, no vars', () => {
    const s = loadScenarioText('name: Ping\nsteps:\n  - send: OPTIONS\n', 't.yaml');
    expect(s).toEqual<Scenario>({
      file: 't.yaml', name: 'Ping', tags: [], parties: [uacParty()], vars: {}, timeoutMs: 10_000, pos: at(1, 1),
      steps: [{ kind: 'send-request', pos: at(3, 5), method: 'OPTIONS', headers: [], auth: false }],
    });
  });

  it('names the single party after its role and takes transport, credentials and auto from the top level', () => {
    const s = loadScenarioText(
      dedent(`
        name: Answer
        role: uas
        transport: TCP
        credentials: { username: "0000123456", password: x }
        auto: { trying: false }
        steps: [ { expect: INVITE } ]
      `),
      't.yaml',
    );
    expect(s.parties).toEqual<PartySpec[]>([
      {
        name: 'uas', role: 'uas', transport: 'tcp', credentials: { username: '0000123456', password: 'x' },
        auto: { trying: false, ack: true, bye: true, cancel: true }, pos: at(2, 1),
      },
    ]);
  });

  it('keeps the leading zero of phone numbers written unquoted', () => {
    const s = loadScenarioText('name: t\nvars: { tel: 0312345678, intl: +81312345678, n: 42 }\nsteps: [cancel]\n', 't.yaml');
    expect(s.vars).toEqual({ tel: '0312345678', intl: '+81312345678', n: '42' });
  });

  it('loads the single-party fixture into the exact model', () => {
    const file = good('uac-call.yaml');
    const p = (line: number, column: number) => at(line, column, file);
    expect(loadScenario(file)).toEqual<Scenario>({
      file,
      name: "Basic call to SIPp's uas",
      description: 'INVITE, 180, 200 with checks, BYE.',
      tags: ['basic', 'call'],
      parties: [
        {
          name: 'uac', role: 'uac', transport: 'tcp', credentials: { username: '0000123456', password: '${env.TRUNK_PASSWORD}' },
          auto: { trying: true, ack: true, bye: false, cancel: true }, pos: p(2, 1),
        },
      ],
      vars: { user: 'service', caller: '0312123434' },
      timeoutMs: 5000,
      pos: p(2, 1),
      steps: [
        {
          kind: 'send-request', pos: p(13, 5), method: 'INVITE', uri: 'sip:${user}@${target}',
          from: '"aiueo PBX" <sip:${caller}@${target_host}>', headers: [['Alert-Info', '<http://x/0312345678>']],
          body: { kind: 'sdp-offer' }, auth: true,
        },
        { kind: 'expect-response', pos: p(20, 5), status: [180, 183], optional: true, headers: [], capture: [] },
        {
          kind: 'expect-response', pos: p(22, 5), status: [200], optional: false, timeoutMs: 2000,
          headers: [
            { name: 'Contact', op: 'present', pos: p(25, 7) },
            { name: 'Expires', op: 'gte', value: '60', pos: p(26, 18) },
          ],
          sdp: { codecs: ['PCMU'], pos: p(27, 5) },
          capture: [{ variable: 'remote_tag', from: 'To', param: 'tag', pos: p(29, 7) }],
        },
        { kind: 'send-request', pos: p(30, 5), method: 'BYE', headers: [['X-Remote-Tag', '${remote_tag}']], auth: false },
        { kind: 'expect-response', pos: p(32, 5), status: [200], optional: false, headers: [], capture: [] },
      ],
    });
  });

  it('loads several parties in file order, with their own settings and positions', () => {
    const file = good('multi-party.yaml');
    const s = loadScenario(file);
    expect(s.parties).toEqual<PartySpec[]>([
      {
        name: 'pbx', role: 'pbx', transport: 'udp', listen: '127.0.0.1:0', user: 'alice', target: '${target}',
        credentials: { username: 'alice', password: '${env.ALICE_PASSWORD}' }, auto: { ...DEFAULT_AUTO }, pos: at(4, 3, file),
      },
      { name: 'phone', role: 'phone', auto: { trying: true, ack: true, bye: false, cancel: true }, pos: at(11, 3, file) },
    ]);
    expect(s.steps.map((x) => x.kind)).toEqual(['parallel', 'set', 'hangup', 'expect-request', 'send-response']);
    expect(s.steps[4]).toEqual({ kind: 'send-response', pos: at(33, 5, file), party: 'phone', status: 200, headers: [], to: 'BYE' });
  });

  it('loads registration, refresh, repeat and counted parallel from a file', () => {
    const s = loadScenario(good('register-refresh.yaml'));
    expect(s.steps.map((x) => x.kind)).toEqual(['register', 'refresh', 'repeat', 'parallel', 'unregister']);
    expect(s.steps[3].kind === 'parallel' && s.steps[3].branches.length).toBe(2);
  });

  it('reports a file it cannot read as a ScenarioError naming it', () => {
    const err = (() => {
      try {
        loadScenario('test/fixtures/scenarios/none.yaml');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).message).toBe('test/fixtures/scenarios/none.yaml: cannot read the file (ENOENT), expected a readable scenario file');
  });
});

describe('loader: variables must be defined before use', () => {
  const ok: Array<[string, string, string[]?]> = [
    ['a capture of an earlier step', '- { expect: 200, capture: { tag: { from: To, param: tag } } }\n- { send: BYE, headers: { X-Tag: "${tag}" } }'],
    ['the environment, built-ins and $${ escapes', '- { send: OPTIONS, uri: "sip:${env.ANYTHING}@${target_host}:${target_port};${call_id} $${literal}" }'],
    ['a set step before', '- set: { n: "1" }\n- { send: OPTIONS, uri: "sip:${n}@x" }'],
    ['a name the runner passes (--var, CSV column, profile key)', '- { send: OPTIONS, uri: "sip:${csv_user}@x" }', ['csv_user']],
    [
      'a capture inside a parallel branch, after the parallel step',
      '- parallel: [ [ { expect: 200, capture: { c: status } } ] ]\n- { send: OPTIONS, uri: "sip:${c}@x" }',
    ],
    ['a capture earlier in the same repeat body', '- repeat: { count: 2, steps: [ { expect: 200, capture: { c: status } }, { send: OPTIONS, uri: "${c}" } ] }'],
  ];
  it.each(ok)('accepts %s', (_name, yaml, known) => {
    expect(() => loadSteps(yaml, known)).not.toThrow();
  });
});

describe('discoverScenarios', () => {
  // Paths are resolved against (and shown relative to) the directory the run starts in.
  const cwd = mkdtempSync(join(tmpdir(), 'sipwright-discover-'));
  for (const f of ['suite/b/2.yml', 'suite/b/1.yaml', 'suite/a.yaml', 'suite/notes.txt', 'suite/.hidden/x.yaml']) {
    mkdirSync(join(cwd, f, '..'), { recursive: true });
    writeFileSync(join(cwd, f), 'name: x\n');
  }
  mkdirSync(join(cwd, 'empty'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('expands a folder to every *.yaml and *.yml below it, sorted, suite = each file\'s folder', () => {
    expect(discoverScenarios(['suite'], cwd)).toEqual([
      { file: 'suite/a.yaml', suite: 'suite' },
      { file: 'suite/b/1.yaml', suite: 'suite/b' },
      { file: 'suite/b/2.yml', suite: 'suite/b' },
    ]);
  });

  it('takes a file as itself, suite = its folder, and lists each file once', () => {
    expect(discoverScenarios(['suite/b/2.yml', join(cwd, 'suite/')], cwd)).toEqual([
      { file: 'suite/b/2.yml', suite: 'suite/b' },
      { file: 'suite/a.yaml', suite: 'suite' },
      { file: 'suite/b/1.yaml', suite: 'suite/b' },
    ]);
  });

  it('names every missing path and empty folder in one ScenarioError', () => {
    let err: unknown;
    try {
      discoverScenarios(['suite/bb', 'empty', 'suite', 'nowhere/x.yaml'], cwd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).message.split('\n')).toEqual([
      'suite/bb: no such file or folder (did you mean suite/b?), expected a scenario file or a folder of them',
      'empty: no scenario files (*.yaml, *.yml) in this folder, expected at least one',
      'nowhere/x.yaml: no such file or folder, expected a scenario file or a folder of them',
    ]);
  });
});

describe('parseDuration', () => {
  it.each<[string | number, number]>([
    ['500ms', 500], ['10s', 10_000], ['2m', 120_000], ['1h', 3_600_000], ['1.5s', 1500], [10, 10_000], [0.25, 250], ['10', 10_000], [0, 0],
  ])('%s is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each<string | number>(['5 sec', '', 'soon', '-1s', '1d', -1, Number.NaN])('rejects %s naming the accepted forms', (input) => {
    expect(() => parseDuration(input)).toThrow(UsageError);
    expect(() => parseDuration(input)).toThrow(/is not a duration, expected a duration like 500ms, 10s or 2m/);
  });
});
